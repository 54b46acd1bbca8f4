"""Mixed precision (autocast + GradScaler) and gradient accumulation with clr_torch.

Two rules keep the schedule on the optimizer's clock:

* with gradient accumulation the scheduler steps once per *optimizer* step,
  so ``iterations_per_epoch`` is ``batches // accumulation_steps``;
* a step that the ``GradScaler`` skips (inf/NaN gradients) did not update the
  weights; here the scheduler does not advance either, so no part of the cycle
  is lost. ``clr_torch.range_test`` applies the same rule to the sweep.

On a GPU this uses float16; on a CPU bfloat16 autocast with the same scaler
code path, so the script runs anywhere.

Run: ``python examples/torch_amp_accumulation.py`` (a few seconds on one CPU thread).
"""

import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from clr_torch import ScheduleLR, range_test

torch.set_num_threads(1)
torch.manual_seed(0)
device = "cuda" if torch.cuda.is_available() else "cpu"
dtype = torch.float16 if device == "cuda" else torch.bfloat16

x, y = load_digits(return_X_y=True)
x_train, x_test, y_train, y_test = train_test_split(x / 16.0, y, test_size=0.25, random_state=0)
train = TensorDataset(torch.tensor(x_train, dtype=torch.float32), torch.tensor(y_train))
loader = DataLoader(train, batch_size=16, shuffle=True)  # 4 x 16 = an effective batch of 64
ACCUMULATE = 4
EPOCHS = 12

model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10)).to(device)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
scaler = torch.amp.GradScaler(device)

# --8<-- [start:range_test]
result = range_test(
    model,
    optimizer,
    loader,
    F.cross_entropy,
    start_lr=1e-4,
    end_lr=10.0,
    accumulation_steps=ACCUMULATE,  # one point per real optimizer step
    scaler=scaler,  # a skipped step records no point
    autocast_dtype=dtype,
    progress=False,
)
print(result.summary())
print("batch size recorded:", result.provenance["batch_size"])
# --8<-- [end:range_test]

# --8<-- [start:train]
steps_per_epoch = len(loader) // ACCUMULATE
schedule = result.to_schedule("triangular", iterations_per_epoch=steps_per_epoch, epochs=EPOCHS)
scheduler = ScheduleLR(optimizer, schedule, momentum=schedule.momentum(0.85, 0.95))
optimizer_steps = skipped = 0
for _epoch in range(EPOCHS):
    optimizer.zero_grad()  # drop a partial group left over from the last epoch
    for i, (inputs, targets) in enumerate(loader):
        inputs, targets = inputs.to(device), targets.to(device)
        with torch.autocast(device, dtype=dtype):
            loss = F.cross_entropy(model(inputs), targets) / ACCUMULATE
        scaler.scale(loss).backward()
        if (i + 1) % ACCUMULATE:
            continue  # keep accumulating
        scale = scaler.get_scale()
        scaler.step(optimizer)
        scaler.update()
        optimizer.zero_grad()
        if scaler.get_scale() < scale:  # the scaler skipped this step
            skipped += 1
            continue
        optimizer_steps += 1
        scheduler.step()  # once per optimizer step that happened
# --8<-- [end:train]

print(f"optimizer steps: {optimizer_steps}, skipped: {skipped}, "
      f"scheduler steps: {scheduler.last_epoch}")  # fmt: skip
print(f"scheduler steps == optimizer steps: {scheduler.last_epoch == optimizer_steps}")
with torch.no_grad():
    pred = model(torch.tensor(x_test, dtype=torch.float32, device=device)).argmax(-1).cpu()
print(f"test accuracy: {(pred == torch.tensor(y_test)).float().mean().item():.4f}")
