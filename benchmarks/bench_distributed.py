"""Data parallel training step: 1 process against 2 processes, one thread each, same global batch.

Run ``python benchmarks/bench_distributed.py``: it launches the workers with ``mpiexec``
itself, alternating 1-process and 2-process runs (``--rounds``), and keeps the fastest step
of each. One step of the demo's ConvNet (conv-BN-ReLU twice, pooling, linear; 8x8 inputs)
is forward, cross-entropy, backward (with DDP's gradient all-reduce) and an SGD update,
with BatchNorm2d or SyncBatchNorm. Also measured: the time inside SyncBatchNorm's and
DDP's collectives (a timing wrapper around the communicator), and a "ceiling" run where 2
processes each run the 1-process step at once without communicating: how much two
processes slow each other down on this machine with no communication at all.
Writes the table to benchmarks/RESULTS.md (section "distributed").
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
VARIANTS = ("BatchNorm2d", "SyncBatchNorm")


class TimedComm:
    """An mpi4py communicator that adds the seconds spent in each collective to ``log`` as (kind, seconds):
    kind "sync" for SyncBatchNorm's (its Allgather and its (2, C) Allreduce), "ddp" for the rest."""

    def __init__(self, comm, log):
        self._comm, self.log = comm, log

    def __getattr__(self, name):
        method = getattr(self._comm, name)
        if name not in ("Allreduce", "Allgather", "Bcast"):
            return method

        def timed(*args, **kwargs):
            start = time.perf_counter()
            out = method(*args, **kwargs)
            arr = args[1] if name == "Allreduce" else args[0]
            kind = "sync" if name == "Allgather" or getattr(arr, "ndim", 1) == 2 else "ddp"
            self.log.append((kind, time.perf_counter() - start))
            return out

        return timed


def worker(args):
    import lucid
    import lucid.distributed as dist
    import lucid.nn as nn
    import lucid.nn.functional as F
    from lucid.demo import ConvNet

    alone = args.mode == "alone"
    dist.init_process_group("single" if alone else None)
    group = dist.process_group.default_group()
    log = []
    if group.comm is not None:
        group.comm = TimedComm(group.comm, log)
    world = 1 if alone else group.size
    rng = np.random.default_rng(0)
    local = args.batch // world
    x = lucid.Tensor(rng.standard_normal((local, 1, 8, 8)).astype(np.float32))
    y = lucid.Tensor(rng.integers(0, 10, local))
    out = {}
    for variant in VARIANTS:
        lucid.manual_seed(0)
        model = ConvNet("BatchNorm2d", c1=args.c1, c2=args.c2)
        if variant == "SyncBatchNorm":
            model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
        model = nn.parallel.DistributedDataParallel(model)
        opt = lucid.optim.SGD(model.parameters(), lr=0.01)
        steps, comm = [], {"sync": [], "ddp": []}
        for i in range(args.warmup + args.steps):
            if group.comm is not None:
                group.comm.Barrier()  # every rank starts the step together
            del log[:]
            start = time.perf_counter()
            opt.zero_grad()
            F.cross_entropy(model(x), y).backward()
            opt.step()
            if i >= args.warmup:
                steps.append(time.perf_counter() - start)
                for kind in comm:
                    comm[kind].append(sum(s for k, s in log if k == kind))
        i = int(np.argmin(steps))
        out[variant] = {
            "step": steps[i],
            "median": float(np.median(steps)),
            "sync": float(np.median(comm["sync"])),
            "ddp": float(np.median(comm["ddp"])),
        }
    if group.rank == 0:
        print("RESULT " + json.dumps(out), flush=True)


def launch(n, mode, args):
    exe = Path(sys.executable).parent / "mpiexec"
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", NUMBA_NUM_THREADS="1")
    cmd = [
        str(exe),
        "-n",
        str(n),
        sys.executable,
        __file__,
        "--worker",
        mode,
        "--batch",
        str(args.batch),
        "--steps",
        str(args.steps),
        "--warmup",
        str(args.warmup),
        "--c1",
        str(args.c1),
        "--c2",
        str(args.c2),
    ]
    run = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    if run.returncode:
        raise SystemExit(run.stdout + run.stderr)
    line = next(line for line in run.stdout.splitlines() if line.startswith("RESULT "))
    return json.loads(line[len("RESULT ") :])


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--worker", choices=("ddp", "alone"), dest="mode")
    p.add_argument("--batch", type=int, default=256, help="global batch (default 256)")
    p.add_argument("--steps", type=int, default=15)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--rounds", type=int, default=3, help="alternating 1-process / 2-process launches")
    p.add_argument("--c1", type=int, default=16)
    p.add_argument("--c2", type=int, default=32)
    args = p.parse_args()
    if args.mode:
        return worker(args)
    best = {}
    load = []
    for _ in range(args.rounds):
        for key, n, mode in (("1", 1, "ddp"), ("2", 2, "ddp"), ("2 alone", 2, "alone")):
            load.append(os.getloadavg()[0])
            res = launch(n, mode, args)
            for v in VARIANTS:
                if key not in best.get(v, {}) or res[v]["step"] < best[v][key]["step"]:
                    best.setdefault(v, {})[key] = res[v]
    rows = [
        "| variant | 1 process (ms) | 2 processes (ms) | speedup | efficiency | SyncBN comm | DDP comm "
        "| 2 alone (ms) | ceiling |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for v in VARIANTS:
        one, two, alone = best[v]["1"], best[v]["2"], best[v]["2 alone"]
        speedup = one["step"] / two["step"]
        ceiling = one["step"] / alone["step"]  # 1.0: two processes at once cost nothing; 0.5: they share one core
        rows.append(
            f"| {v} | {1e3 * one['step']:.1f} | {1e3 * two['step']:.1f} | {speedup:.2f}x | "
            f"{100 * speedup / 2:.0f}% | {100 * two['sync'] / two['median']:.0f}% | "
            f"{100 * two['ddp'] / two['median']:.0f}% | {1e3 * alone['step']:.1f} | {100 * ceiling:.0f}% |"
        )
    table = "\n".join(rows)
    note = (
        f"Global batch {args.batch} of 1x8x8 images, ConvNet(c1={args.c1}, c2={args.c2}); fastest of "
        f"{args.steps} steps x {args.rounds} alternating launches; one thread per process. "
        "Speedup: 1-process step over 2-process step; efficiency: speedup/2. Comm: median share of the "
        "2-process step spent inside the collectives (waiting for the other rank included). 2 alone: each of "
        "2 processes runs the whole 1-process step at once, no communication; ceiling: 1-process step over "
        f"that, the efficiency the machine itself allows. Load average during the runs: "
        f"{min(load):.1f} to {max(load):.1f}."
    )
    print(table)
    print()
    print(note)
    sys.path.insert(0, str(HERE))
    from results import write_section

    write_section("distributed", table + "\n\n" + note)


if __name__ == "__main__":
    main()
