"""Per-op overhead of autograd: a 1,000-op elementwise chain on small tensors, forward + backward.

With tensors this small the arithmetic is nearly free, so the time per op is what
the framework spends around it: wrapping arrays in tensors, recording the graph,
sorting it and walking it back. lucid and PyTorch run the same chain in one
process, interleaved, and each figure is the minimum over the repeats.

    python benchmarks/bench_autograd.py [--ops 1000] [--size 16] [--repeats 20]
"""

import argparse
import gc
import time

import numpy as np
import torch

import lucid


def chain(x, w, b, n_ops):
    """``n_ops`` elementwise ops: (·w, +b, tanh, −0.1) repeated; every op is recorded."""
    y = x
    for i in range(n_ops):
        k = i % 4
        if k == 0:
            y = y * w
        elif k == 1:
            y = y + b
        elif k == 2:
            y = y.tanh()
        else:
            y = y - 0.1
    return y.sum()


def timed(lib, arrays, n_ops):
    """Seconds for the forward chain and for its backward, on fresh leaves."""
    make = (
        (lambda a: lucid.tensor(a, requires_grad=True))
        if lib is lucid
        else (lambda a: torch.tensor(a, requires_grad=True))
    )
    x, w, b = (make(a) for a in arrays)
    gc.collect()
    gc.disable()  # as timeit does: a collection would bill one library for the other's garbage
    try:
        t0 = time.perf_counter()
        loss = chain(x, w, b, n_ops)
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
    finally:
        gc.enable()
    return t1 - t0, t2 - t1


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ops", type=int, default=1000)
    p.add_argument("--size", type=int, default=16, help="elements per tensor")
    p.add_argument("--repeats", type=int, default=20)
    args = p.parse_args()
    torch.set_num_threads(1)  # tiny tensors: threads only add overhead, and lucid uses one core

    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(args.size).astype(np.float32) * s for s in (1.0, 0.5, 0.1)]
    results = {"lucid": [], "torch": []}
    for lib in (lucid, torch):  # warm up
        timed(lib, arrays, args.ops)
    for _ in range(args.repeats):  # interleaved, so both see the same machine load
        results["lucid"].append(timed(lucid, arrays, args.ops))
        results["torch"].append(timed(torch, arrays, args.ops))

    print(
        f"{args.ops}-op elementwise chain on float32 tensors of {args.size} elements, forward + backward, "
        f"min of {args.repeats} (torch {torch.__version__}, 1 thread)"
    )
    print(f"{'':8}{'forward':>12}{'backward':>12}{'total':>12}   (µs per op)")
    per_op = {}
    for name, runs in results.items():
        fwd = min(r[0] for r in runs) / args.ops * 1e6
        bwd = min(r[1] for r in runs) / args.ops * 1e6
        per_op[name] = tot = min(r[0] + r[1] for r in runs) / args.ops * 1e6
        print(f"{name:8}{fwd:12.2f}{bwd:12.2f}{tot:12.2f}")
    print(f"ratio lucid / torch (total per-op overhead): {per_op['lucid'] / per_op['torch']:.2f}x")


if __name__ == "__main__":
    main()
