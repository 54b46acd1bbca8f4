"""One rank of the 2-process gloo LearningRateFinder test (run by test_torch_lightning.py).

Environment as torchrun sets it: RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT;
argv[1] is the output folder. Lightning sees LOCAL_RANK and joins this process to the
group instead of launching its own.
"""

from __future__ import annotations

import os
import sys
import warnings

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

import clr_torch


class Net(pl.LightningModule):
    def __init__(self):
        super().__init__()
        self.net = torch.nn.Sequential(
            torch.nn.Linear(8, 16), torch.nn.Tanh(), torch.nn.Linear(16, 3)
        )
        self.step_losses = []

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = F.cross_entropy(self.net(x), y)
        self.log("train_loss", loss, sync_dist=True)
        self.step_losses.append(float(loss.detach()))
        return loss

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1, momentum=0.9)


class Record(pl.Callback):
    """The weights when the real training starts (after the finder restored them)."""

    def on_train_start(self, trainer, pl_module):
        self.at_start = [p.detach().clone() for p in pl_module.parameters()]


def main(out_dir: str) -> None:
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")
    rank = int(os.environ["RANK"])
    g = torch.Generator().manual_seed(7)
    x = torch.randn(640, 8, generator=g)
    y = (x[:, 0] > 0).long() + (x[:, 1] > 0).long()
    loader = DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True)  # sharded by Lightning
    pl.seed_everything(0, verbose=False)  # the same initial model on every rank
    model = Net()
    before = [p.detach().clone() for p in model.parameters()]
    finder = clr_torch.LearningRateFinder(min_lr=1e-3, max_lr=100.0, num_training_steps=40)
    record = Record()
    trainer = pl.Trainer(
        accelerator="cpu",
        devices=2,
        num_nodes=1,
        strategy=pl.strategies.DDPStrategy(process_group_backend="gloo"),
        max_epochs=2,
        logger=False,
        enable_checkpointing=False,
        enable_model_summary=False,
        enable_progress_bar=True,
        callbacks=[finder, record],
    )
    trainer.fit(model, loader)
    sched = finder.scheduler
    torch.save(
        {
            "json": finder.result.to_json(),
            "plan": [s.to_config() for s in sched.schedules],
            "momentum": [m.to_config() for m in sched.momentum_schedules],
            "installed": trainer.lr_scheduler_configs[0].scheduler is sched,
            "first_loss": model.step_losses[0],
            "points": len(finder.result.lrs),
            "restored": all(
                torch.equal(a, b) for a, b in zip(before, record.at_start, strict=True)
            ),
            "final": [p.detach().clone() for p in model.parameters()],
            "global_step": trainer.global_step,
        },
        os.path.join(out_dir, f"rank{rank}.pt"),
    )
    torch.distributed.barrier()  # both ranks done before gloo is torn down
    torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1])
