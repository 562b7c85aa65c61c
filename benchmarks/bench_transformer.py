"""One TransformerEncoderLayer, forward + backward: lucid against PyTorch on the CPU.

The layer (d_model 256, 4 heads, feed-forward 1024, sequence 128, batch 16, float32,
batch_first, dropout 0) is built in PyTorch, and its state dict loaded into lucid, so
both compute the same function. Both run with the same thread count, interleaved in
one process, and each figure is the minimum over the repeats. The section written to
RESULTS.md gives the times and the ratio PyTorch/lucid (above 1: lucid is faster).

    python benchmarks/bench_transformer.py [--threads 1] [--repeats 10] [--norm-first]

``--threads`` sets PyTorch's threads, lucid's compiled kernels and NumPy's BLAS (which
reads OPENBLAS_NUM_THREADS once, when NumPy loads: hence the order of the imports).
"""

import argparse
import gc
import os
import sys
import time


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=1, help="threads for both libraries (default: 1)")
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--norm-first", action="store_true", help="pre-norm layer (default: post-norm, PyTorch's)")
    return p.parse_args()


ARGS = parse_args()
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)

import numpy as np  # noqa: E402
import torch  # noqa: E402

import lucid  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from results import write_section  # noqa: E402

D_MODEL, HEADS, FF, SEQ, BATCH = 256, 4, 1024, 128, 16


def layers(norm_first):
    """The same layer twice: PyTorch's, and lucid's with PyTorch's weights."""
    kw = dict(dim_feedforward=FF, dropout=0.0, batch_first=True, norm_first=norm_first)
    theirs = torch.nn.TransformerEncoderLayer(D_MODEL, HEADS, **kw)
    ours = lucid.nn.TransformerEncoderLayer(D_MODEL, HEADS, **kw)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    return ours, theirs


def timed(lib, layer, x, mask, g):
    """Seconds of the forward and of the backward (into the input and every parameter)."""
    make = lucid.tensor if lib is lucid else torch.tensor
    xt = make(x, requires_grad=True)
    gc.collect()
    gc.disable()
    try:
        t0 = time.perf_counter()
        y = layer(xt, src_mask=make(mask), is_causal=True)
        t1 = time.perf_counter()
        y.backward(make(g))
        t2 = time.perf_counter()
    finally:
        gc.enable()
    layer.zero_grad()
    return t1 - t0, t2 - t1, y


def main(args=ARGS):
    torch.set_num_threads(args.threads)
    lucid.set_num_threads(args.threads)
    torch.manual_seed(0)
    ours, theirs = layers(args.norm_first)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((BATCH, SEQ, D_MODEL)).astype(np.float32)
    g = rng.standard_normal((BATCH, SEQ, D_MODEL)).astype(np.float32)
    mask = np.triu(np.full((SEQ, SEQ), -np.inf, np.float32), 1)

    runs = {"lucid": [], "torch": []}
    _, _, ly = timed(lucid, ours, x, mask, g)  # warm up, and check both compute the same layer
    _, _, ty = timed(torch, theirs, x, mask, g)
    err = float(np.max(np.abs(ly.data - ty.detach().numpy())))
    for _ in range(args.repeats):
        runs["lucid"].append(timed(lucid, ours, x, mask, g)[:2])
        runs["torch"].append(timed(torch, theirs, x, mask, g)[:2])

    def ms(name, k):
        return 1e3 * min(r[k] for r in runs[name]) if k < 2 else 1e3 * min(sum(r) for r in runs[name])

    layout = "pre-norm" if args.norm_first else "post-norm"
    rows = [
        f"TransformerEncoderLayer ({layout}, d_model {D_MODEL}, {HEADS} heads, feed-forward {FF}, causal "
        f"mask), input ({BATCH}, {SEQ}, {D_MODEL}) float32, forward + backward; min of {args.repeats}, "
        f"interleaved; {args.threads} thread{'s' * (args.threads > 1)} each (torch {torch.__version__}). "
        f"Largest output difference lucid - PyTorch: {err:.1e}.",
        "",
        "| | forward (ms) | backward (ms) | total (ms) |",
        "|---|---:|---:|---:|",
    ]
    for name in runs:
        rows.append(f"| {name} | {ms(name, 0):.1f} | {ms(name, 1):.1f} | {ms(name, 2):.1f} |")
    rows += ["", f"Ratio PyTorch / lucid (total): {ms('torch', 2) / ms('lucid', 2):.2f}"]
    table = "\n".join(rows)
    print(table)
    write_section(f"TransformerEncoderLayer ({layout}, {args.threads} thread{'s' * (args.threads > 1)})", table)


if __name__ == "__main__":
    main()
