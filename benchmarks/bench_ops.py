"""Forward + backward of single ops, lucid against PyTorch, interleaved in one process.

Each op runs forward, then backward from a fixed gradient, on float32 inputs; lucid and PyTorch
take turns, and each figure is the minimum over the repeats. Ratio: PyTorch's time over lucid's.

    python benchmarks/bench_ops.py [--threads 2] [--repeats 10] [--only gelu,relu]
"""

import argparse
import gc
import os
import time

# One process holds both libraries, and PyTorch's OpenMP runtime (a libgomp under the system's name)
# then serves numba's threads too. Its wait policy is read once, as it loads: lucid asks for passive
# waiting (its threads sleep after each loop instead of spinning against BLAS's in a convolution), set
# here before PyTorch loads the runtime. PyTorch's own times move within the noise with it.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from results import products_alone  # noqa: E402

import lucid  # noqa: E402


def _ops():
    """name -> (input shapes, function of (lib, functional module, *tensors))."""

    def conv(k):
        return lambda lib, F, x, w: F.conv2d(x, w, padding=k // 2)

    return {
        "gelu (256, 2048)": ([(256, 2048)], lambda lib, F, x: F.gelu(x)),
        "gelu tanh (256, 2048)": ([(256, 2048)], lambda lib, F, x: F.gelu(x, approximate="tanh")),
        "relu (64, 32, 32, 32)": ([(64, 32, 32, 32)], lambda lib, F, x: F.relu(x)),
        "leaky_relu (64, 32, 32, 32)": ([(64, 32, 32, 32)], lambda lib, F, x: F.leaky_relu(x, 0.1)),
        "silu (256, 2048)": ([(256, 2048)], lambda lib, F, x: F.silu(x)),
        "sigmoid (256, 2048)": ([(256, 2048)], lambda lib, F, x: lib.sigmoid(x)),
        "tanh (256, 2048)": ([(256, 2048)], lambda lib, F, x: lib.tanh(x)),
        "max_pool2d 2x2 (64, 32, 32, 32)": ([(64, 32, 32, 32)], lambda lib, F, x: F.max_pool2d(x, 2)),
        "avg_pool2d 2x2 (64, 32, 32, 32)": ([(64, 32, 32, 32)], lambda lib, F, x: F.avg_pool2d(x, 2)),
        "max_pool2d 3x3 s1 p1 (64, 32, 32, 32)": ([(64, 32, 32, 32)], lambda lib, F, x: F.max_pool2d(x, 3, 1, 1)),
        "softmax (64, 8, 128, 128)": ([(64, 8, 128, 128)], lambda lib, F, x: F.softmax(x, dim=-1)),
        "log_softmax (64, 8, 128, 128)": ([(64, 8, 128, 128)], lambda lib, F, x: F.log_softmax(x, dim=-1)),
        "cross_entropy (1024, 1000)": ([(1024, 1000)], None),
        "conv2d 3x3 (64, 32, 32, 32) -> 32": ([(64, 32, 32, 32), (32, 32, 3, 3)], conv(3)),
        "conv2d 3x3 (64, 64, 16, 16) -> 64": ([(64, 64, 16, 16), (64, 64, 3, 3)], conv(3)),
        "conv2d 1x1 (64, 64, 16, 16) -> 128": ([(64, 64, 16, 16), (128, 64, 1, 1)], conv(1)),
        "linear (256, 512) -> 512": ([(256, 512), (512, 512)], lambda lib, F, x, w: F.linear(x, w)),
        "elementwise (x*2+1)*x (256, 2048)": ([(256, 2048)], lambda lib, F, x: (x * 2 + 1) * x),
    }


def _products(shapes):
    """The matrix products lucid's formulation of a convolution or linear op runs in forward + backward
    (im2col for a convolution: columns (C·k², N·H·W)), as (left, right) shapes; None for other ops."""
    if len(shapes) != 2:
        return None
    if len(shapes[1]) == 4:  # conv2d, stride 1, "same" padding
        (N, C, H, W), (F, _, k, _) = shapes
        K, P = C * k * k, N * H * W
        return [((F, K), (K, P)), ((F, P), (P, K)), ((K, F), (F, P))]
    (N, In), (Out, _) = shapes  # linear
    return [((N, In), (In, Out)), ((N, Out), (Out, In)), ((Out, N), (N, In))]


def _step(lib, fn, tensors, grad):
    for t in tensors:
        t.grad = None
    y = fn(*tensors)
    y.backward(grad)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--only", default="")
    p.add_argument("--no-write", action="store_true", help="print the table only")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    lucid.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    rows = [
        "| op (float32) | PyTorch fwd+bwd (ms) | lucid fwd+bwd (ms) | ratio | its matrix products alone (ms) |",
        "|---|---|---|---|---|",
    ]
    for name, (shapes, fn) in _ops().items():
        if args.only and not any(k in name for k in args.only.split(",")):
            continue
        arrays = [rng.standard_normal(s).astype(np.float32) for s in shapes]
        libs = {}
        for lib in (torch, lucid):
            F = lib.nn.functional
            ts = [lib.tensor(a, requires_grad=True) for a in arrays]
            if fn is None:  # cross-entropy: class-index targets, mean over the batch
                target = lib.tensor(rng.integers(0, shapes[0][1], shapes[0][0]))
                call = (lambda F, target: lambda x: F.cross_entropy(x, target))(F, target)
            else:
                call = (lambda lib, F: lambda *t: fn(lib, F, *t))(lib, F)
            y = call(*ts)
            grad = lib.tensor(rng.standard_normal(y.shape).astype(np.float32)) if y.ndim else None
            libs[lib] = (call, ts, grad)
        best = {torch: np.inf, lucid: np.inf}
        for _ in range(args.repeats):
            for lib in (torch, lucid):
                call, ts, grad = libs[lib]
                gc.collect()
                gc.disable()
                t0 = time.perf_counter()
                _step(lib, call, ts, grad)
                best[lib] = min(best[lib], time.perf_counter() - t0)
                gc.enable()
        prods = _products(shapes)
        floor = f"{products_alone(prods, args.repeats, rng) * 1e3:.2f}" if prods else ""
        t, lu = best[torch] * 1e3, best[lucid] * 1e3
        rows.append(f"| {name} | {t:.2f} | {lu:.2f} | {t / lu:.2f} | {floor} |")
        print(rows[-1], flush=True)
    table = "\n".join(rows)
    if not args.no_write and not args.only:
        from results import write_section

        write_section(
            f"bench_ops, {args.threads} threads",
            f"Forward + backward of one op, float32, {args.threads} threads, lucid and "
            f"PyTorch interleaved in one process (OpenMP threads waiting passively: the process shares one "
            f"OpenMP runtime), minimum of {args.repeats}. 'Its matrix products alone': "
            "the GEMMs of lucid's formulation (im2col for the convolutions) timed on NumPy's BLAS, the floor "
            f"of that formulation on this BLAS.\n\n{table}",
        )


if __name__ == "__main__":
    main()
