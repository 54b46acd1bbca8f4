"""The LR range test end to end: sweep, read both bounds, repeat, hand off, train.

On scikit-learn's digits with a small MLP (SGD, momentum 0.9):

1. ``clr_torch.range_test`` sweeps the rate exponentially over 100 optimizer
   steps, recording the training loss and the accuracy on a few held-out
   batches; model, optimizer and RNG states are restored afterwards;
2. two more sweeps with other seeds are combined into median bounds;
3. the result hands off to a triangular schedule and to 1cycle, fitted to a
   12-epoch budget, and each trains a fresh model.

Run: ``python examples/range_test_hand_off.py`` (about 10 s on one CPU thread).
"""

import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import clr_core
from clr_core.rangetest import combine
from clr_torch import ScheduleLR, range_test

torch.set_num_threads(1)

x, y = load_digits(return_X_y=True)
x_train, x_val, y_train, y_val = train_test_split(x / 16.0, y, test_size=0.25, random_state=0)


def tensors(a, b):
    return TensorDataset(torch.tensor(a, dtype=torch.float32), torch.tensor(b))


train_loader = DataLoader(tensors(x_train, y_train), batch_size=64, shuffle=True)
val_loader = DataLoader(tensors(x_val, y_val), batch_size=128)
EPOCHS = 12


def make(seed):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    return model, torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)


def evaluate(model):
    with torch.no_grad():
        pred = model(torch.tensor(x_val, dtype=torch.float32)).argmax(-1)
    return (pred == torch.tensor(y_val)).float().mean().item()


def train(schedule, seed=0):
    model, optimizer = make(seed)
    scheduler = ScheduleLR(optimizer, schedule, momentum=schedule.momentum(0.85, 0.95))
    for _ in range(EPOCHS):
        for inputs, targets in train_loader:
            loss = F.cross_entropy(model(inputs), targets)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
    return evaluate(model)


# --8<-- [start:sweep]
model, optimizer = make(seed=0)
result = range_test(
    model,
    optimizer,
    train_loader,
    F.cross_entropy,
    start_lr=1e-4,
    end_lr=10.0,
    num_steps=100,
    metric="accuracy",  # read the bounds off accuracy, as the paper does
    val_loader=val_loader,  # ... measured on a few held-out batches
    progress=False,
)
print(result.summary())
# --8<-- [end:sweep]

# --8<-- [start:repeat]
repeats = [result]
for seed in (1, 2):
    torch.manual_seed(seed)  # another initialisation and batch order
    model, optimizer = make(seed)
    repeats.append(
        range_test(model, optimizer, train_loader, F.cross_entropy, start_lr=1e-4,
                   end_lr=10.0, metric="accuracy", val_loader=val_loader, progress=False)
    )  # fmt: skip
combined = combine(repeats)
print(combined.summary())
print("spread (largest / smallest):", combined.diagnostics["spread"])
# --8<-- [end:repeat]

# --8<-- [start:hand_off]
steps = len(train_loader)
triangular = combined.to_schedule("triangular", iterations_per_epoch=steps, epochs=EPOCHS)
one_cycle = combined.to_one_cycle(iterations_per_epoch=steps, epochs=EPOCHS)
print(triangular)
print(one_cycle)
# --8<-- [end:hand_off]

assert isinstance(triangular, clr_core.Triangular)
cycles = EPOCHS * steps // triangular.cycle_length
print(f"triangular: {cycles} whole cycles of {triangular.cycle_length} steps")
print(f"triangular test accuracy: {train(triangular):.4f}")
print(f"one_cycle test accuracy: {train(one_cycle):.4f}")
