"""A custom PyTorch training loop under a cyclical learning rate.

Trains a small MLP on scikit-learn's bundled digits with SGD and momentum under
``clr_core.Triangular`` (the momentum cycled inversely), driven by
``clr_torch.ScheduleLR``. The scheduler steps once per optimizer step; the run
lasts a whole number of cycles, so it ends at ``base_lr`` as the paper advises.

Run: ``python examples/torch_custom_loop.py`` (a few seconds on one CPU thread).
"""

import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import clr_core
from clr_torch import ScheduleLR

torch.set_num_threads(1)
torch.manual_seed(0)

x, y = load_digits(return_X_y=True)
x_train, x_test, y_train, y_test = train_test_split(x / 16.0, y, test_size=0.25, random_state=0)
train = TensorDataset(torch.tensor(x_train, dtype=torch.float32), torch.tensor(y_train))
loader = DataLoader(train, batch_size=64, shuffle=True)
model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))

# --8<-- [start:loop]
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
steps_per_epoch = len(loader)
schedule = clr_core.Triangular(base_lr=0.01, max_lr=0.3, step_size_up=2 * steps_per_epoch)
scheduler = ScheduleLR(optimizer, schedule, momentum=schedule.momentum(0.8, 0.9))

for _epoch in range(12):  # 3 whole cycles of 4 epochs: ends at base_lr
    for inputs, targets in loader:
        loss = F.cross_entropy(model(inputs), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()  # once per optimizer step, after it
# --8<-- [end:loop]

step = scheduler.last_epoch
print(f"optimizer steps: {step}")
print(f"lr equals schedule(step): {scheduler.get_last_lr()[0] == schedule(step)}")
print(f"final lr: {scheduler.get_last_lr()[0]:.4g} (base_lr {schedule.base_lr})")
with torch.no_grad():
    pred = model(torch.tensor(x_test, dtype=torch.float32)).argmax(-1)
acc = (pred == torch.tensor(y_test)).float().mean().item()
print(f"test accuracy: {acc:.4f}")


# --8<-- [start:dropin]
def lr_sequence(scheduler_class, steps=1000):
    """The (lr, momentum) sequence a CyclicLR class sets over `steps` optimizer steps."""
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1, momentum=0.9)
    sched = scheduler_class(opt, base_lr=0.01, max_lr=0.3, step_size_up=44, mode="triangular2")
    seq = []
    for _ in range(steps):
        opt.step()
        sched.step()
        seq.append((opt.param_groups[0]["lr"], opt.param_groups[0]["momentum"]))
    return seq


from clr_torch import CyclicLR  # the drop-in: same name, same arguments

ours, theirs = lr_sequence(CyclicLR), lr_sequence(torch.optim.lr_scheduler.CyclicLR)
# --8<-- [end:dropin]
pairs = [(a, b) for x, y in zip(ours, theirs, strict=True) for a, b in zip(x, y, strict=True)]
worst = max(abs(a - b) / b for a, b in pairs)
print(f"drop-in CyclicLR equals torch's within 1e-12: {worst <= 1e-12}")
