"""Launch a worker script as two torchrun-style gloo ranks on this machine.

One launcher for every two-process test: it picks a free port, starts both ranks, and
waits for both. A rank that fails stops the other at once (it would otherwise wait in a
collective until gloo's 30-minute timeout), and the failure shows both ranks' stderr.
The port is found by binding to port 0 and closing, so another process can take it
before rank 0 listens on it; as PyTorch's own distributed tests do, a launch that fails
for that reason alone is retried on a fresh port.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

#: Text in a rank's stderr that means the port was taken, not that the code failed.
PORT_TROUBLE = ("Address already in use", "EADDRINUSE", "address already in use")
ATTEMPTS = 3


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(
    worker: Path, out_dir: Path, port: int, logs: list[Path]
) -> list[subprocess.Popen[bytes]]:
    """Start both ranks, each writing its stderr to ``logs[rank]``. Files, not pipes: a pipe
    nobody reads while the ranks run would block a chatty rank once its buffer fills."""
    procs = []
    for rank in range(2):
        env = dict(
            os.environ, RANK=str(rank), LOCAL_RANK=str(rank), NODE_RANK="0", WORLD_SIZE="2",
            MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), OMP_NUM_THREADS="1",
            PYTHONPATH=os.pathsep.join(p for p in sys.path if p),
        )  # fmt: skip
        with logs[rank].open("wb") as err:  # the child keeps its own copy of the descriptor
            procs.append(
                subprocess.Popen(
                    [sys.executable, str(worker), str(out_dir)],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=err,
                )
            )
    return procs


def _wait(procs: list[subprocess.Popen[bytes]], timeout: float) -> None:
    """Wait for both ranks; when one fails (or time runs out), kill the other."""
    deadline = time.monotonic() + timeout
    while True:
        codes = [p.poll() for p in procs]  # poll every rank: any() would stop at the first
        if all(c is not None for c in codes):
            return
        if any(c not in (None, 0) for c in codes) or time.monotonic() > deadline:
            for p in procs:
                if p.poll() is None:
                    p.kill()
                p.wait()
            return
        time.sleep(0.1)


def run_two_ranks(worker: Path, out_dir: Path, timeout: float = 300.0) -> list[str]:
    """Run ``worker out_dir`` as ranks 0 and 1; return their stderr, or fail with both."""
    for attempt in range(1, ATTEMPTS + 1):
        paths = [out_dir / f"rank{rank}-try{attempt}.err" for rank in range(2)]
        procs = _start(worker, out_dir, free_port(), paths)
        _wait(procs, timeout)
        codes = [p.returncode for p in procs]
        logs = [path.read_text(errors="replace") for path in paths]
        if codes == [0, 0]:
            return logs
        port_taken = any(m in log for log in logs for m in PORT_TROUBLE)
        if not port_taken or attempt == ATTEMPTS:
            report = "\n".join(
                f"--- rank {r} (exit {c}) stderr, last 3000 characters:\n{log[-3000:]}"
                for r, (c, log) in enumerate(zip(codes, logs, strict=True))
            )
            raise AssertionError(
                f"the two ranks did not both succeed (attempt {attempt}):\n{report}"
            )
    raise AssertionError("unreachable")
