"""``python -m lucid.demo``: one small ConvNet, five normalization layers, real handwritten digits.
``python -m lucid.demo lm``: the second demo, a character-level Transformer (``lucid/demo_lm.py``).

The same network (conv-norm-ReLU twice, max pooling, linear) is trained once per
variant of its normalization layer: none, BatchNorm2d, InstanceNorm2d, GroupNorm
and LayerNorm over (C, H, W). The data is scikit-learn's bundled digits set
(1,797 8x8 images, read offline), split 80/20 with a fixed seed. Every image gets
a random contrast and brightness change, a stronger one on the test split: a
network that has learnt to cope with each image's own scale does better.

Output: progress bars, a results table, and under ``--out`` the curves
(``curves.png``) and one safetensors checkpoint per variant. The best
checkpoint is then loaded into a fresh model, which must give the same test
accuracy.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

import lucid
import lucid.nn as nn
import lucid.nn.functional as F

# name -> the normalization layer for a conv output of shape (N, C, 8, 8)
NORMS = {
    "none": lambda c: nn.Identity(),
    "BatchNorm2d": lambda c: nn.BatchNorm2d(c),
    # Per-image statistics in eval too: tracked running averages would replace
    # each image's own mean and variance, which is the point of the layer here.
    "InstanceNorm2d": lambda c: nn.InstanceNorm2d(c, track_running_stats=False),
    "GroupNorm": lambda c: nn.GroupNorm(4, c),
    "LayerNorm": lambda c: nn.LayerNorm([c, 8, 8]),
}

# (low, high) of the per-image contrast factor (log-uniform) and the bound of the brightness shift
TRAIN_SHIFT = ((0.5, 2.0), 0.3)
TEST_SHIFT = ((1 / 3, 3.0), 0.6)


class ConvNet(nn.Module):
    """conv(1→c1)-norm-ReLU, conv(c1→c2)-norm-ReLU, 2x2 max pooling, linear(c2·4·4→10), on 8x8 images."""

    def __init__(self, norm="BatchNorm2d", c1=16, c2=32):
        super().__init__()
        self.conv1 = nn.Conv2d(1, c1, 3, padding=1)
        self.norm1 = NORMS[norm](c1)
        self.conv2 = nn.Conv2d(c1, c2, 3, padding=1)
        self.norm2 = NORMS[norm](c2)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(c2 * 4 * 4, 10)

    def forward(self, x):
        x = F.relu(self.norm1(self.conv1(x)))
        x = F.relu(self.norm2(self.conv2(x)))
        return self.fc(self.pool(x).flatten(1))


def shift(images, rng, contrast, brightness):
    """``a·x + b`` per image, ``a`` log-uniform on ``contrast``, ``b`` uniform on ±``brightness``."""
    n = len(images)
    a = np.exp(rng.uniform(np.log(contrast[0]), np.log(contrast[1]), size=(n, 1, 1)))
    b = rng.uniform(-brightness, brightness, size=(n, 1, 1))
    return (a * images + b).astype(np.float32)


def load_data(seed, limit=None):
    """The digits as ``(x_train, y_train, x_test, y_test)``: images (N, 1, 8, 8) float32 in about [0, 1]."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(digits.target))[:limit]
    images, labels = digits.images[order] / 16.0, digits.target[order].astype(np.int64)
    n_train = int(0.8 * len(order))
    x_train = shift(images[:n_train], rng, *TRAIN_SHIFT)[:, None]
    x_test = shift(images[n_train:], rng, *TEST_SHIFT)[:, None]
    return x_train, labels[:n_train], x_test, labels[n_train:]


def evaluate(model, x, y, batch_size=500):
    """Test accuracy (a fraction) and the logits, in eval mode without a graph."""
    model.eval()
    with lucid.no_grad():
        logits = np.concatenate(
            [model(lucid.Tensor(x[i : i + batch_size])).numpy() for i in range(0, len(x), batch_size)]
        )
    return float((logits.argmax(1) == y).mean()), logits


def train_variant(norm, data, epochs, seed, out_dir, batch_size=64, lr=3e-3):
    """Train one ConvNet; returns its history and saves its checkpoint as ``<out_dir>/<norm>.safetensors``."""
    from tqdm import tqdm

    x_train, y_train, x_test, y_test = data
    lucid.manual_seed(seed)  # the same initial conv and linear weights for every variant
    model = ConvNet(norm)
    opt = lucid.optim.Adam(model.parameters(), lr=lr)
    sched = lucid.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    loader = lucid.data.DataLoader(
        lucid.data.TensorDataset(lucid.Tensor(x_train), lucid.Tensor(y_train)),
        batch_size=batch_size,
        shuffle=True,
        seed=seed,
    )
    hist = {"loss": [], "acc": [], "secs": []}
    for epoch in range(1, epochs + 1):
        model.train()
        total, seen, start = 0.0, 0, time.perf_counter()
        bar = tqdm(loader, desc=f"{norm:>14} epoch {epoch}/{epochs}", leave=False, unit="batch")
        for xb, yb in bar:
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total, seen = total + loss.item() * len(yb), seen + len(yb)
            bar.set_postfix(loss=f"{loss.item():.3f}")
        sched.step()
        hist["secs"].append(time.perf_counter() - start)
        hist["loss"].append(total / seen)
        acc, hist["logits"] = evaluate(model, x_test, y_test)
        hist["acc"].append(acc)
    hist["path"] = Path(out_dir) / f"{norm}.safetensors"
    lucid.save(model.state_dict(), hist["path"])
    print(
        f"{norm:>14}: test accuracy {100 * hist['acc'][-1]:5.1f}%  "
        f"({np.mean(hist['secs']):.2f} s/epoch)  -> {hist['path']}",
        flush=True,
    )
    return hist


def results_table(histories):
    """A Markdown table: variant, final test accuracy, mean training seconds per epoch."""
    rows = ["| variant | test accuracy | s/epoch |", "|---|---:|---:|"]
    for norm, h in histories.items():
        rows.append(f"| {norm} | {100 * h['acc'][-1]:.1f}% | {np.mean(h['secs']):.2f} |")
    return "\n".join(rows)


def plot(histories, path):
    """Training loss and test accuracy per epoch, one line per variant, saved as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    for norm, h in histories.items():
        epochs = range(1, len(h["loss"]) + 1)
        ax_loss.plot(epochs, h["loss"], marker=".", label=norm)
        ax_acc.plot(epochs, [100 * a for a in h["acc"]], marker=".", label=norm)
    ax_loss.set(xlabel="epoch", ylabel="training loss", yscale="log", title="Training loss")
    ax_acc.set(xlabel="epoch", ylabel="test accuracy (%)", title="Test accuracy (shifted test images)")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def check_reload(norm, hist, data):
    """Load the checkpoint into a fresh ConvNet; True when it reproduces the trained model's test accuracy
    and its test logits, bit for bit."""
    fresh = ConvNet(norm)
    fresh.load_state_dict(lucid.load(hist["path"]))
    acc, logits = evaluate(fresh, data[2], data[3])
    same = acc == hist["acc"][-1] and np.array_equal(logits, hist["logits"])
    print(
        f"reloaded {hist['path']} into a fresh ConvNet: test accuracy {100 * acc:.1f}% "
        f"({'same as' if same else 'DIFFERENT from'} the trained model's {100 * hist['acc'][-1]:.1f}%"
        f"{', identical logits' if same else ''})"
    )
    return same


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        prog="python -m lucid.demo",
        description="Train the same small ConvNet on scikit-learn's digits (8x8 images, shifted in contrast and "
        "brightness, more so on the test split) once per normalization layer, and compare.",
        epilog="NumPy's matrix products take their thread count from OPENBLAS_NUM_THREADS (or OMP_NUM_THREADS) "
        "when Python starts; `make demo` sets it to 1, which is fastest for this model's small matrices.",
    )
    p.add_argument("--epochs", type=int, default=12, help="training epochs per variant (default: 12)")
    p.add_argument(
        "--variants",
        default=",".join(NORMS),
        help=f"comma-separated variants to train, from {', '.join(NORMS)} (default: all)",
    )
    p.add_argument(
        "--out",
        default="demo-output",
        help="folder for curves.png and the checkpoints <variant>.safetensors (default: demo-output)",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of the split, the image shifts, the initial weights and the shuffling (default: 0)",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help="threads for lucid's compiled kernels (default: lucid's own, NUMBA_NUM_THREADS if set)",
    )
    p.add_argument(
        "--distributed",
        action="store_true",
        help="train BatchNorm2d and SyncBatchNorm data parallel; launch with "
        "`mpiexec -n 2 python -m lucid.demo --distributed` (see lucid/demo_dist.py)",
    )
    p.add_argument("--limit", type=int, default=None, help=argparse.SUPPRESS)  # first N samples only (tests)
    args = p.parse_args(argv)
    names = {n.lower(): n for n in NORMS}
    wanted = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [v for v in wanted if v.lower() not in names]
    if unknown or not wanted:
        p.error(f"--variants: expected names from {', '.join(NORMS)} (got {args.variants!r})")
    args.variants = list(dict.fromkeys(names[v.lower()] for v in wanted))
    if args.epochs < 1:
        p.error(f"--epochs: expected at least 1 (got {args.epochs})")
    if args.threads is not None and args.threads < 1:
        p.error(f"--threads: expected at least 1 (got {args.threads})")
    return args


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["lm"]:  # the second demo: a character-level Transformer, lucid/demo_lm.py
        from . import demo_lm

        return demo_lm.main(argv[1:])
    args = parse_args(argv)
    if args.threads is not None:
        if hasattr(lucid, "set_num_threads"):
            lucid.set_num_threads(args.threads)
        else:
            print("--threads ignored: this lucid has no set_num_threads (no compiled kernels)", file=sys.stderr)
    if args.distributed:
        from .demo_dist import main_distributed

        return main_distributed(args)
    start = time.perf_counter()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    data = load_data(args.seed, args.limit)
    print(
        f"digits: {len(data[1])} training and {len(data[3])} test images, "
        f"{args.epochs} epoch{'s' * (args.epochs != 1)} per variant, seed {args.seed}",
        flush=True,
    )
    histories = {norm: train_variant(norm, data, args.epochs, args.seed, out) for norm in args.variants}
    print()
    print(results_table(histories))
    plot(histories, out / "curves.png")
    print(f"\nloss and accuracy curves: {out / 'curves.png'}")
    best = max(histories, key=lambda n: histories[n]["acc"][-1])
    same = check_reload(best, histories[best], data)
    print(f"total time: {time.perf_counter() - start:.0f} s")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
