"""Where a layer call's time goes besides the kernel: one tiny BatchNorm1d eval forward, each layer of lucid
timed cold, as the side-by-side benchmark meets it after a large kernel.

Before each call 64 MB are streamed through the caches and the process sleeps 3 ms (numba's idle worker
thread goes to sleep, as between the benchmark's runs). Printed: min, first quartile and median in µs of

* ``dispatch``: the compiled eval loop called directly (numba's dispatch; the serial build below
  ``compiled.SERIAL`` elements, so no thread to wake);
* ``kernel API``: ``lucid.backends.kernels("norm").forward_eval`` (plain arrays, float64 statistics given);
* ``Function``: the autograd ``Function`` with the statistics given;
* ``functional``: ``F.batch_norm`` (input checks, running statistics as float64);
* ``module``: ``BatchNorm1d`` in eval mode;
* ``torch``: PyTorch's ``BatchNorm1d`` in eval mode, the whole call.

Each row includes the rows above it.

    python benchmarks/overhead.py [--threads 2] [--repeats 80]
"""

import argparse
import gc
import os
import random
import sys
import time

import numpy as np
import torch

import lucid
import lucid.nn.functional as F
from lucid import backends
from lucid._kernels.norm import compiled
from lucid._kernels.norm.by_group import forward_fixed
from lucid.nn.functional.normalization import _Normalize

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from results import write_section  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=80)
    args = p.parse_args()
    lucid.set_num_threads(args.threads)
    torch.set_num_threads(args.threads)
    k = backends.kernels("norm")
    N, C = 4, 1024
    xa = np.random.default_rng(0).standard_normal((N, C), dtype=np.float32)
    view = (N, C, 1, 1)
    x4 = xa.reshape(view)
    mean, rstd, w, b = np.zeros(C), np.ones(C), np.ones(C), np.zeros(C)
    y = np.empty(N * C, np.float32)
    bn, tbn = lucid.nn.BatchNorm1d(C).eval(), torch.nn.BatchNorm1d(C).eval()
    x, tx = lucid.Tensor(xa), torch.from_numpy(xa)

    def dispatch():
        forward_fixed.serial(xa.reshape(-1), y, w, b, mean, rstd, N, C, 1, 1, C, 1)

    def kernel_api():
        k.forward_eval(x4, mean, rstd, w, b, C)

    def function():
        with lucid.no_grad():
            _Normalize.apply(x, bn.weight, bn.bias, view=view, P=C, eps=1e-5, stats=(mean, rstd))

    def functional():
        with lucid.no_grad():
            F.batch_norm(x, bn.running_mean, bn.running_var, bn.weight, bn.bias, False, 0.1, 1e-5)

    def module():
        with lucid.no_grad():
            bn(x)

    def whole_torch():
        with torch.no_grad():
            tbn(tx)

    fns = {
        "dispatch": dispatch,
        "kernel API": kernel_api,
        "Function": function,
        "functional": functional,
        "module": module,
        "torch": whole_torch,
    }
    for f in fns.values():  # load the kernels
        f()
    flush = np.ones(64 << 20 >> 3)
    times = {name: [] for name in fns}
    for _ in range(args.repeats):
        names = list(fns)
        random.shuffle(names)
        for name in names:
            flush *= 1.0000001
            time.sleep(0.003)
            gc.disable()
            t0 = time.perf_counter()
            fns[name]()
            times[name].append(time.perf_counter() - t0)
            gc.enable()
    assert N * C < compiled.SERIAL
    lines = [
        f"tiny BatchNorm1d eval forward {(N, C)}, cold, {args.threads} threads, {args.repeats} runs, "
        "each row includes the rows above it",
        "",
        "| layer of the call | min µs | first quartile µs | median µs |",
        "|---|---|---|---|",
    ]
    for name, t in times.items():
        t = np.array(t) * 1e6
        lines.append(f"| {name} | {t.min():.0f} | {np.percentile(t, 25):.0f} | {np.median(t):.0f} |")
    print("\n".join(lines))
    write_section("overhead", "\n".join(lines))


if __name__ == "__main__":
    main()
