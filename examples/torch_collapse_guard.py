"""A collapse guard in a custom loop: a plan set too high, with and without the guard.

A digits MLP is trained with a 1cycle whose peak (1.0) is several times what a range test
recommends on this task, so some runs collapse. ``clr_torch.CollapseGuard`` is fed each
epoch's mean training loss; when two epochs in a row lose half the progress made since the
first, it restores the copy of the model and optimizer taken after the last good epoch and
halves every later rate. Each seed runs twice from the same start, with and without the
guard; a run on which the guard never fires is the unguarded run exactly.

Run: ``python examples/torch_collapse_guard.py`` (about ten seconds on one CPU thread).
"""

import math

import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torch import nn

import clr_core
from clr_torch import CollapseGuard, ScheduleLR

torch.set_num_threads(1)
x, y = load_digits(return_X_y=True)
x, y = torch.tensor(x / 16.0, dtype=torch.float32), torch.tensor(y)
x_train, y_train, x_test, y_test = x[:1400], y[:1400], x[1400:], y[1400:]
EPOCHS, BATCH, PEAK = 12, 32, 1.0
STEPS = math.ceil(len(x_train) / BATCH)


def train(seed, guarded):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    plan = clr_core.OneCycle(PEAK, EPOCHS * STEPS)
    scheduler = ScheduleLR(optimizer, plan, momentum=plan.momentum(0.85, 0.95))
    order = torch.Generator().manual_seed(seed)
    # --8<-- [start:loop]
    guard = CollapseGuard(optimizer, model) if guarded else None
    for _epoch in range(EPOCHS):
        total = 0.0
        for batch in torch.randperm(len(x_train), generator=order).split(BATCH):
            loss = F.cross_entropy(model(x_train[batch]), y_train[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()  # at the scheduler's rate times guard.scale
            scheduler.step()
            total += loss.item()
        if guard is not None and guard.step(total / STEPS) == "diverged":
            break  # a non-finite loss with no restore left
    # --8<-- [end:loop]
    with torch.no_grad():
        accuracy = (model(x_test).argmax(1) == y_test).float().mean().item()
    return accuracy, model, guard


plain, kept, same = [], [], True
for seed in range(3):
    a, model_a, _ = train(seed, guarded=False)
    b, model_b, guard = train(seed, guarded=True)
    plain.append(a)
    kept.append(b)
    print(f"seed {seed}: unguarded {a:.3f}, guarded {b:.3f}, restored at epochs {guard.fired}, "
          f"rates x {guard.scale}")  # fmt: skip
    if not guard.fired:
        pairs = zip(model_a.parameters(), model_b.parameters(), strict=True)
        same &= all(torch.equal(p, q) for p, q in pairs)
print(f"unguarded mean accuracy: {sum(plain) / len(plain):.3f}")
print(f"guarded mean accuracy: {sum(kept) / len(kept):.3f}")
print(f"runs on which it did not fire are the unguarded runs: {same}")
