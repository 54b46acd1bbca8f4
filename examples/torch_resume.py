"""Resume training from a checkpoint: the identical rates, momenta and weights.

A run is interrupted after 5 of 10 epochs and saved with ``torch.save``; a new
process would build fresh objects and load the checkpoint with
``torch.load(..., weights_only=True)`` (``ScheduleLR.state_dict()`` is plain
data: schedule configs and counters). The resumed run is compared with one
that was never interrupted: the same learning-rate sequence and bit-identical
final weights.

Run: ``python examples/torch_resume.py`` (a few seconds on one CPU thread).
"""

import os
import tempfile

import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import clr_core
from clr_torch import ScheduleLR

torch.set_num_threads(1)
x, y = load_digits(return_X_y=True)
data = TensorDataset(torch.tensor(x / 16.0, dtype=torch.float32), torch.tensor(y))
EPOCHS = 10


def loader(epoch):  # the batch order depends on the epoch only, so a resumed run sees the same
    return DataLoader(data, batch_size=64, shuffle=True,
                      generator=torch.Generator().manual_seed(epoch))  # fmt: skip


def build():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    schedule = clr_core.Triangular2(0.01, 0.3, step_size_up=2 * len(loader(0)))
    scheduler = ScheduleLR(optimizer, schedule, momentum=schedule.momentum(0.8, 0.9))
    return model, optimizer, scheduler


def run_epochs(model, optimizer, scheduler, epochs, lrs):
    for epoch in epochs:
        for inputs, targets in loader(epoch):
            loss = F.cross_entropy(model(inputs), targets)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            lrs.append(optimizer.param_groups[0]["lr"])


# The reference: never interrupted.
model, optimizer, scheduler = build()
reference_lrs = []
run_epochs(model, optimizer, scheduler, range(EPOCHS), reference_lrs)
reference = [p.detach().clone() for p in model.parameters()]

# The interrupted run: 5 epochs, then a checkpoint.
path = os.path.join(tempfile.mkdtemp(), "checkpoint.pt")
model, optimizer, scheduler = build()
lrs = []
run_epochs(model, optimizer, scheduler, range(5), lrs)
# --8<-- [start:save]
torch.save(
    {
        "epoch": 5,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),  # plain data: configs and counters
    },
    path,
)
# --8<-- [end:save]
del model, optimizer, scheduler

# --8<-- [start:load]
model, optimizer, scheduler = build()  # fresh objects, as in a new process
checkpoint = torch.load(path, weights_only=True)
model.load_state_dict(checkpoint["model"])
optimizer.load_state_dict(checkpoint["optimizer"])
scheduler.load_state_dict(checkpoint["scheduler"])  # the schedule comes from the checkpoint
run_epochs(model, optimizer, scheduler, range(checkpoint["epoch"], EPOCHS), lrs)
# --8<-- [end:load]

print(f"steps: {len(lrs)} resumed at step {checkpoint['scheduler']['last_epoch']}")
print(f"learning rates identical: {lrs == reference_lrs}")
same = all(torch.equal(a, b) for a, b in zip(model.parameters(), reference, strict=True))
print(f"final weights identical: {same}")
