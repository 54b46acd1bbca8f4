"""DistributedDataParallel: a range test and a cyclical schedule on 2 CPU processes (gloo).

Each process trains on its shard of scikit-learn's digits. ``clr_torch.range_test``
averages the loss and the metric over the ranks at every step and shares the
stop decision, so every rank reads the same bounds. Each rank then builds the
same schedule; ``ScheduleLR`` is a closed-form function of the step count, so
the ranks' rates agree at every step without any communication.

Run: ``python examples/torch_ddp.py`` (about 15 s: two processes on CPU).
"""

import os
import socket

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.data.distributed import DistributedSampler

from clr_torch import ScheduleLR, range_test

WORLD = 2
EPOCHS = 12


def worker(rank, port):
    torch.set_num_threads(1)
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    dist.init_process_group("gloo", rank=rank, world_size=WORLD)
    x, y = load_digits(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(x / 16.0, y, test_size=0.25, random_state=0)
    train = TensorDataset(torch.tensor(x_train, dtype=torch.float32), torch.tensor(y_train))
    sampler = DistributedSampler(train, num_replicas=WORLD, rank=rank, shuffle=True, seed=0)
    loader = DataLoader(train, batch_size=32, sampler=sampler)  # 2 x 32 per optimizer step

    torch.manual_seed(0)  # the same initial weights on every rank
    model = DistributedDataParallel(nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10)))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

    # --8<-- [start:ddp]
    result = range_test(model, optimizer, loader, F.cross_entropy, start_lr=1e-4,
                        end_lr=10.0, metric="accuracy", progress=False)  # fmt: skip
    schedule = result.to_schedule("triangular", iterations_per_epoch=len(loader), epochs=EPOCHS)
    scheduler = ScheduleLR(optimizer, schedule, momentum=schedule.momentum(0.85, 0.95))
    for epoch in range(EPOCHS):
        sampler.set_epoch(epoch)
        for inputs, targets in loader:
            loss = F.cross_entropy(model(inputs), targets)
            optimizer.zero_grad()
            loss.backward()  # DDP averages the gradients over the ranks
            optimizer.step()
            scheduler.step()
    # --8<-- [end:ddp]

    seen = [None] * WORLD
    dist.all_gather_object(seen, (result.base_lr, result.max_lr, scheduler.get_last_lr()))
    weights = torch.cat([p.detach().reshape(-1) for p in model.parameters()])
    gathered = [torch.zeros_like(weights) for _ in range(WORLD)]
    dist.all_gather(gathered, weights)
    if rank == 0:
        print(f"batch size recorded: {result.provenance['batch_size']}")
        print(f"bounds: base_lr={result.base_lr:.3g} max_lr={result.max_lr:.3g}")
        print(f"ranks agree on bounds and rates: {all(s == seen[0] for s in seen)}")
        print(f"ranks hold identical weights: {all(torch.equal(g, gathered[0]) for g in gathered)}")
        with torch.no_grad():
            pred = model.module(torch.tensor(x_test, dtype=torch.float32)).argmax(-1)
        print(f"test accuracy: {(pred == torch.tensor(y_test)).float().mean().item():.4f}")
    # DDP's reducer holds the process group: release it while both ranks still hold theirs,
    # so gloo is not torn down later, by the interpreter's exit (a rank aborted there in CI)
    del scheduler, optimizer, model
    dist.barrier()  # both ranks done before gloo is torn down (else one may abort at exit)
    dist.destroy_process_group()


if __name__ == "__main__":
    with socket.socket() as s:  # a free port for the rendezvous
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.spawn(worker, args=(port,), nprocs=WORLD, join=True)
