"""One rank of the 2-process gloo range test (run as a script by test_torch_distributed.py).

Environment as torchrun sets it: RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT; argv[1] is
the output folder.
"""

from __future__ import annotations

import os
import sys

import torch
import torch.distributed as dist

import clr_torch


def main(out_dir: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo")
    rank = dist.get_rank()
    try:
        torch.manual_seed(0)  # the same initial model on every rank
        model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Tanh(), torch.nn.Linear(16, 3))
        ddp = torch.nn.parallel.DistributedDataParallel(model)
        g = torch.Generator().manual_seed(100 + rank)  # a different shard per rank
        x = torch.randn(320, 8, generator=g)
        y = (x[:, 0] > 0).long() + (x[:, 1] > 0).long()
        batches = [(x[i : i + 32], y[i : i + 32]) for i in range(0, 320, 32)]
        with torch.no_grad():
            out = model(batches[0][0])
            first_loss = float(torch.nn.functional.cross_entropy(out, batches[0][1]))
            first_acc = clr_torch.accuracy(out, batches[0][1])
        before = [p.detach().clone() for p in model.parameters()]
        opt = torch.optim.SGD(ddp.parameters(), lr=0.1, momentum=0.9)
        result = clr_torch.range_test(
            ddp,
            opt,
            batches,
            torch.nn.functional.cross_entropy,
            start_lr=1e-3,
            end_lr=100.0,
            num_steps=40,
            metric="accuracy",
            progress=True,
        )
        restored = all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
        torch.save(
            {
                "json": result.to_json(),
                "first_loss": first_loss,
                "first_acc": first_acc,
                "restored": restored,
            },
            os.path.join(out_dir, f"rank{rank}.pt"),
        )
        dist.barrier()  # both ranks done before gloo is torn down
    finally:
        dist.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1])
