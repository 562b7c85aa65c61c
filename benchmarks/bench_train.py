"""One training step (forward, backward, SGD with momentum) of whole networks, lucid against PyTorch.

Each framework runs in a process of its own (so neither shares caches, allocators or thread pools
with the other) at the same number of threads; the processes alternate, round after round, and
each figure is the minimum step time over all of a framework's steps. Peak memory is the
process's ru_maxrss after its steps.

    python benchmarks/bench_train.py [--threads 2] [--rounds 3] [--steps 5] [--nets convnet,mlp]
                                     [--openblas-coretype CORE]

Networks (float32, cross-entropy over 10 classes):

* ``convnet``: CIFAR-shaped input (64, 3, 32, 32); [conv3x3-BatchNorm2d-ReLU] ×2, 2x2 max pool,
  [conv3x3-BatchNorm2d-ReLU] ×2, 2x2 max pool, linear. Channels 32, 32, 64, 64.
* ``mlp``: input (256, 512); [Linear-LayerNorm-GELU] ×4 at width 512, linear.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
NETS = {"convnet": ((64, 3, 32, 32), 10), "mlp": ((256, 512), 10)}


def build(nn, name):
    if name == "convnet":

        def block(cin, cout):
            return [nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU()]

        return nn.Sequential(
            *block(3, 32),
            *block(32, 32),
            nn.MaxPool2d(2),
            *block(32, 64),
            *block(64, 64),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(64 * 8 * 8, 10),
        )
    layers = []
    for _ in range(4):
        layers += [nn.Linear(512, 512), nn.LayerNorm(512), nn.GELU()]
    return nn.Sequential(*layers, nn.Linear(512, 10))


def worker(framework, name, steps, threads):
    """Run ``steps`` timed steps after two warm-up steps; print the step times and peak memory as JSON."""
    shape, classes = NETS[name]
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(np.float32)
    t = rng.integers(0, classes, shape[0])
    if framework == "torch":
        import torch as lib

        lib.set_num_threads(threads)
        xs, ts = lib.from_numpy(x), lib.from_numpy(t)
    else:
        import lucid as lib

        lib.set_num_threads(threads)
        xs, ts = lib.tensor(x), lib.tensor(t)
    lib.manual_seed(0)
    model = build(lib.nn, name)
    opt = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    times = []
    for i in range(steps + 2):
        t0 = time.perf_counter()
        opt.zero_grad()
        loss = lib.nn.functional.cross_entropy(model(xs), ts)
        loss.backward()
        opt.step()
        t1 = time.perf_counter()
        if i >= 2:
            times.append(t1 - t0)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    floor = gemm_floor(name, shape[0]) if framework == "lucid" else None
    from results import blas

    print(json.dumps({"times": times, "rss_mb": rss_mb, "loss": float(loss.item()), "floor": floor, "blas": blas()}))


def gemm_floor(name, N, repeats=3):
    """Seconds of the step's matrix products alone, on NumPy's BLAS: for each 3x3 convolution
    W (F, 9C) @ cols (9C, N·H·W), dW = g @ colsᵀ, dcols = Wᵀ @ g (not for the first layer, whose
    input wants no gradient); for each linear layer y = x·Wᵀ, dW = gᵀ·x and dx = g·W (again not for
    the first)."""
    rng = np.random.default_rng(0)
    if name == "convnet":
        shapes = [(3, 32, 32, False), (32, 32, 32, True), (32, 64, 16, True), (64, 64, 16, True)]
        prods = []
        for C, F, H, dx in shapes:
            prods += [((F, 9 * C), (9 * C, N * H * H)), ((F, N * H * H), (N * H * H, 9 * C))]
            if dx:
                prods.append(((9 * C, F), (F, N * H * H)))
        prods += [((N, 4096), (4096, 10)), ((10, N), (N, 4096)), ((N, 10), (10, 4096))]
    else:
        prods = [((N, 512), (512, 512))] * 2  # the first layer: no dx
        for _ in range(3):
            prods += [((N, 512), (512, 512))] * 3
        prods += [((N, 512), (512, 10)), ((10, N), (N, 512)), ((N, 10), (10, 512))]
    from results import products_alone

    return products_alone(prods, repeats, rng)


def run(framework, name, steps, threads, coretype=None):
    env = dict(
        os.environ,
        OMP_NUM_THREADS=str(threads),
        OPENBLAS_NUM_THREADS=str(threads),
        MKL_NUM_THREADS=str(threads),
        NUMBA_NUM_THREADS=str(threads),
    )
    if coretype is not None:  # "" lets OpenBLAS pick its kernels for this CPU; PyTorch's MKL ignores it
        env["OPENBLAS_CORETYPE"] = coretype
    out = subprocess.run(
        [sys.executable, __file__, "--worker", framework, name, str(steps), str(threads)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--nets", default="convnet,mlp")
    p.add_argument(
        "--openblas-coretype",
        default=None,
        help="OPENBLAS_CORETYPE for both processes ('' = OpenBLAS picks for this CPU; default: the environment's)",
    )
    p.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        framework, name, steps, threads = args.worker
        return worker(framework, name, int(steps), int(threads))
    rows = [
        "| network | PyTorch step (ms) | lucid step (ms) | ratio | its matrix products alone (ms) "
        "| PyTorch peak RSS (MB) | lucid peak RSS (MB) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in args.nets.split(","):
        best = {"torch": np.inf, "lucid": np.inf}
        rss = {"torch": 0.0, "lucid": 0.0}
        floor = np.inf
        lucid_blas = "?"
        run("lucid", name, 1, args.threads, args.openblas_coretype)  # fills numba's disk cache: no compiling below
        for _ in range(args.rounds):
            for framework in ("torch", "lucid"):
                r = run(framework, name, args.steps, args.threads, args.openblas_coretype)
                best[framework] = min(best[framework], min(r["times"]))
                rss[framework] = max(rss[framework], r["rss_mb"])
                if r["floor"] is not None:
                    floor = min(floor, r["floor"])
                    lucid_blas = r["blas"]
        ratio = best["torch"] / best["lucid"]
        rows.append(
            f"| {name} | {best['torch'] * 1e3:.1f} | {best['lucid'] * 1e3:.1f} | {ratio:.2f} | "
            f"{floor * 1e3:.1f} | {rss['torch']:.0f} | {rss['lucid']:.0f} |"
        )
        print(rows[-1], flush=True)
    table = "\n".join(rows)
    note = (
        f"One training step (forward, backward, SGD momentum 0.9), float32, {args.threads} threads per "
        f"framework, each in its own process; {args.rounds} alternating rounds of {args.steps} steps, "
        "minimum step time, peak memory the largest of the rounds (after a first lucid process that "
        "filled numba's cache). Ratio: PyTorch's time over lucid's. 'Its matrix products alone': the "
        "same step's GEMMs (im2col layout for the convolutions) timed on NumPy's BLAS in lucid's process, "
        "the floor of an im2col design on this BLAS."
    )
    from results import write_section

    section = f"bench_train, {args.threads} threads"
    if args.openblas_coretype is not None:
        section += f", OPENBLAS_CORETYPE={args.openblas_coretype!r}"
        note += (
            f" Both processes ran with OPENBLAS_CORETYPE={args.openblas_coretype!r}: NumPy's BLAS in "
            f"lucid's process was {lucid_blas}."
        )
    write_section(section, note + "\n\n" + table)
    print(table)


if __name__ == "__main__":
    main()
