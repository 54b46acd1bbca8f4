"""The importers against the tools themselves: Lightning's ``Tuner.lr_find`` and
torch-lr-finder, run here on a tiny model, with every loss the model gave recorded.

Both are installed in the torch tox env; a missing one fails the run (no skip).
"""

from __future__ import annotations

import pytest
import pytorch_lightning as pl
import torch
from pytorch_lightning.tuner import Tuner
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from torch_lr_finder import LRFinder

from clr_core.rangetest.importers import from_lightning, from_torch_lr_finder


def _loader() -> DataLoader:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(512, 8, generator=g)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).long()
    return DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True, generator=g)


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2))


class _Recording(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.values: list[float] = []

    def forward(self, out, y):
        loss = nn.functional.cross_entropy(out, y)
        self.values.append(loss.item())
        return loss


class _Module(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.net, self.criterion, self.lr = _net(), _Recording(), 1e-4

    def training_step(self, batch, batch_idx):
        x, y = batch
        return self.criterion(self.net(x), y)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.lr, momentum=0.9)

    def train_dataloader(self):
        return _loader()


def test_lightning_lr_find_losses_are_recovered_exactly(tmp_path):
    module = _Module()
    trainer = pl.Trainer(
        max_epochs=20, logger=False, enable_checkpointing=False, enable_progress_bar=False,
        enable_model_summary=False, default_root_dir=str(tmp_path),
    )  # fmt: skip
    found = Tuner(trainer).lr_find(module, min_lr=1e-4, max_lr=10.0, num_training=50)
    sweep = from_lightning(found)  # the object lr_find returned
    measured = module.criterion.values
    assert len(sweep.losses) == len(found.results["loss"]) >= 20
    assert sweep.losses == pytest.approx(measured[: len(sweep.losses)], rel=1e-9)
    stored = found.results["loss"]
    assert stored[0] < 0.6 * measured[0]  # Lightning's curve starts at about half the loss


def test_torch_lr_finder_history_is_recovered_exactly():
    net, criterion = _net(), _Recording()
    finder = LRFinder(net, torch.optim.SGD(net.parameters(), lr=1e-4, momentum=0.9), criterion)
    finder.range_test(_loader(), end_lr=10.0, num_iter=50)
    sweep = from_torch_lr_finder(finder)
    assert len(sweep.losses) == len(criterion.values) >= 20
    assert sweep.losses == pytest.approx(criterion.values, rel=1e-9)
