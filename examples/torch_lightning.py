"""clr_torch schedulers and the range test in PyTorch Lightning.

1. ``configure_optimizers`` returns a ``ScheduleLR`` (an ordinary
   ``torch.optim.lr_scheduler.LRScheduler``) with ``"interval": "step"``, so
   Lightning steps it after every optimizer step. The 1cycle length comes from
   ``trainer.estimated_stepping_batches``. The script checks that the rates the
   optimizer saw are exactly the core schedule's values, step by step.
2. ``clr_torch.LearningRateFinder`` runs the range test at fit start with the
   module's own ``training_step`` and optimizer, restores everything, and installs
   the 1cycle plan it reads as the step scheduler: no rate to pick by hand. Beside it,
   ``clr_torch.CollapseGuardCallback`` watches the fit, as the recommended recipe does
   (it restores the last good epoch and halves the rates if training collapses).

Run: ``python examples/torch_lightning.py`` (about 20 s, most of it importing Lightning).
"""

import warnings

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import clr_core
from clr_torch import CollapseGuardCallback, LearningRateFinder, ScheduleLR

torch.set_num_threads(1)
warnings.filterwarnings("ignore", ".*does not have many workers.*")

x, y = load_digits(return_X_y=True)
x_train, x_test, y_train, y_test = train_test_split(x / 16.0, y, test_size=0.25, random_state=0)
train = TensorDataset(torch.tensor(x_train, dtype=torch.float32), torch.tensor(y_train))


# --8<-- [start:module]
class DigitsModel(pl.LightningModule):
    def __init__(self, max_lr=0.5):
        super().__init__()
        self.max_lr = max_lr
        self.net = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
        self.seen_lrs = []

    def training_step(self, batch, batch_idx):
        inputs, targets = batch
        return F.cross_entropy(self.net(inputs), targets)

    def on_train_batch_start(self, batch, batch_idx):
        self.seen_lrs.append(self.optimizers().param_groups[0]["lr"])

    def configure_optimizers(self):
        optimizer = torch.optim.SGD(self.parameters(), lr=self.max_lr, momentum=0.9)
        schedule = clr_core.OneCycle(self.max_lr, self.trainer.estimated_stepping_batches)
        self.schedule = schedule
        scheduler = ScheduleLR(optimizer, schedule, momentum=schedule.momentum(0.85, 0.95))
        lr_scheduler = {"scheduler": scheduler, "interval": "step"}  # step it every batch
        return {"optimizer": optimizer, "lr_scheduler": lr_scheduler}


# --8<-- [end:module]


pl.seed_everything(0, verbose=False)
model = DigitsModel()
trainer = pl.Trainer(
    max_epochs=8,
    accelerator="cpu",
    devices=1,
    logger=False,
    enable_checkpointing=False,
    enable_progress_bar=False,
    enable_model_summary=False,
)
trainer.fit(model, DataLoader(train, batch_size=64, shuffle=True))

expected = [model.schedule(t) for t in range(len(model.seen_lrs))]
print(f"steps: {len(model.seen_lrs)} of {model.schedule.total_steps}")
print(f"lrs match clr_core: {model.seen_lrs == expected}")
with torch.no_grad():
    pred = model.net(torch.tensor(x_test, dtype=torch.float32)).argmax(-1)
print(f"test accuracy: {(pred == torch.tensor(y_test)).float().mean().item():.4f}")


# --8<-- [start:finder]
class PlainDigitsModel(pl.LightningModule):
    """No schedule and no rate to tune: the finder supplies both."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))

    def training_step(self, batch, batch_idx):
        inputs, targets = batch
        outputs = self.net(inputs)
        loss = F.cross_entropy(outputs, targets)
        self.log("train_acc", (outputs.argmax(-1) == targets).float().mean())  # fine in the sweep
        return loss

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.01, momentum=0.9)


class RecordRates(pl.Callback):
    """The Trainer's callbacks see the real training only, never the sweep."""

    def __init__(self):
        self.lrs = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self.lrs.append(trainer.optimizers[0].param_groups[0]["lr"])


finder = LearningRateFinder(num_training_steps=200)  # Lightning's option names
guard = CollapseGuardCallback()  # the recipe trains the plan under the collapse guard
record = RecordRates()
pl.seed_everything(0, verbose=False)
plain = PlainDigitsModel()
trainer = pl.Trainer(
    max_epochs=8,
    accelerator="cpu",
    devices=1,
    logger=False,
    enable_checkpointing=False,
    enable_progress_bar=False,
    enable_model_summary=False,
    callbacks=[finder, guard, record],
)
trainer.fit(plain, DataLoader(train, batch_size=64, shuffle=True))
result, plan = finder.result, finder.scheduler.schedules[0]
# --8<-- [end:finder]

print(f"finder bounds: base_lr={result.base_lr:.3g} max_lr={result.max_lr:.3g}")
print(f"finder confidence: {result.confidence:.2f}")
print(f"guard fired at epochs: {guard.guard.fired}")
print(f"finder plan: {plan}")
print(f"finder rates follow the plan: {record.lrs == [plan(t) for t in range(len(record.lrs))]}")
with torch.no_grad():
    pred = plain.net(torch.tensor(x_test, dtype=torch.float32)).argmax(-1)
print(f"finder test accuracy: {(pred == torch.tensor(y_test)).float().mean().item():.4f}")
