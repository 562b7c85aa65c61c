"""``python -m lucid.demo lm``: a small character-level language model, four ways to normalize it.

The same decoder-only Transformer (token embedding + sinusoidal positions, causal
self-attention blocks, a linear read-out) is trained once per variant:

* ``pre-LayerNorm``:  x + sa(LN(x)), x + ff(LN(x)), a final LayerNorm (GPT-2's layout)
* ``pre-RMSNorm``:    the same with RMSNorm (LLaMA's choice)
* ``post-LayerNorm``: LN(x + sa(x)), LN(x + ff(x)) (the original Transformer's layout)
* ``none``:           x + sa(x), x + ff(x), no normalization at all

The text is on every machine with Python: the source files of a fixed list of
standard-library modules, read as ASCII bytes (anything else becomes ``?``), each
file split 90/10 into training and validation text (the first 1,024 characters of
each validation part are scored). Training uses AdamW, a linear
warm-up then cosine decay of the learning rate, and gradient clipping.

Output: progress bars, a results table (validation loss in bits per character,
training tokens per second), under ``--out`` the curves (``lm_curves.png``) and
one safetensors checkpoint per variant; the best checkpoint is reloaded into a
fresh model, which must give the same validation loss, and writes a few lines.
"""

import argparse
import functools
import importlib.util
import math
import time
from pathlib import Path

import numpy as np

import lucid
import lucid.nn as nn
import lucid.nn.functional as F

# modules whose source is the corpus; plain Python files in every CPython installation
MODULES = [
    "argparse",
    "bisect",
    "calendar",
    "colorsys",
    "csv",
    "dataclasses",
    "difflib",
    "fractions",
    "functools",
    "heapq",
    "inspect",
    "json.decoder",
    "json.encoder",
    "numbers",
    "pprint",
    "random",
    "shlex",
    "statistics",
    "string",
    "textwrap",
]
VOCAB = 128  # ASCII
VAL_CHARS = 1024  # validation characters per module

# variant -> (norm_first, the norm of each block and of the output: "layer", "rms" or None)
VARIANTS = {
    "pre-LayerNorm": (True, "layer"),
    "pre-RMSNorm": (True, "rms"),
    "post-LayerNorm": (False, "layer"),
    "none": (True, None),
}


def load_corpus(limit=None):
    """(training bytes, validation bytes) as uint8 arrays: each module's source split 90/10 at a fixed point."""
    train, val = [], []
    for name in MODULES:
        text = Path(importlib.util.find_spec(name).origin).read_text(encoding="utf-8")
        data = np.frombuffer(text.encode("ascii", errors="replace"), dtype=np.uint8)
        cut = int(0.9 * len(data))
        train.append(data[:cut])
        val.append(data[cut : cut + VAL_CHARS])
    train, val = np.concatenate(train), np.concatenate(val)
    if limit is not None:
        train, val = train[:limit], val[: max(limit // 9, 1024)]
    return train, val


class CharTransformer(nn.Module):
    """Embedding + positions -> ``layers`` causal Transformer blocks -> (final norm) -> logits over bytes."""

    def __init__(self, variant="pre-LayerNorm", d_model=64, nhead=4, layers=2, context=64):
        super().__init__()
        norm_first, norm = VARIANTS[variant]
        self.embed = nn.Embedding(VOCAB, d_model)
        self.register_buffer("positions", nn.sinusoidal_positional_encoding(context, d_model), persistent=False)
        gelu = functools.partial(F.gelu, approximate="tanh")
        block = nn.TransformerEncoderLayer(
            d_model,
            nhead,
            4 * d_model,
            dropout=0.0,
            activation=gelu,
            batch_first=True,
            norm_first=norm_first,
            norm=norm,
        )
        final = {"layer": nn.LayerNorm(d_model), "rms": nn.RMSNorm(d_model, eps=1e-5)}.get(norm)
        self.blocks = nn.TransformerEncoder(block, layers, norm=final if norm_first else None)
        self.head = nn.Linear(d_model, VOCAB)
        self.register_buffer("mask", nn.generate_square_subsequent_mask(context), persistent=False)

    def forward(self, idx):
        T = idx.shape[1]
        x = self.embed(idx) + self.positions[:T]
        return self.head(self.blocks(x, mask=self.mask[:T, :T], is_causal=True))


def batches(data, batch, context, rng):
    """Random windows: inputs ``(batch, context)`` and the next byte of each position as targets."""
    start = rng.integers(0, len(data) - context - 1, size=batch)
    window = np.stack([data[s : s + context + 1] for s in start]).astype(np.int64)
    return lucid.tensor(window[:, :-1]), lucid.tensor(window[:, 1:])


def evaluate(model, val, context, batch=32):
    """Validation loss in bits per character over consecutive windows of the whole validation text."""
    n = (len(val) - 1) // context
    x = val[: n * context].reshape(n, context).astype(np.int64)
    y = val[1 : n * context + 1].reshape(n, context).astype(np.int64)
    model.eval()
    total = 0.0
    with lucid.no_grad():
        for i in range(0, n, batch):
            logits = model(lucid.tensor(x[i : i + batch]))
            total += F.cross_entropy(
                logits.reshape(-1, VOCAB), lucid.tensor(y[i : i + batch].reshape(-1)), reduction="sum"
            ).item()
    model.train()
    return total / (n * context) / math.log(2)


def train_variant(variant, data, args, out_dir):
    """Train one model; returns its history and saves ``<out_dir>/<variant>.safetensors``."""
    from tqdm import tqdm

    train, val = data
    lucid.manual_seed(args.seed)  # the same initial weights (where shapes agree) and batches for every variant
    rng = np.random.default_rng(args.seed)
    model = CharTransformer(variant, args.d_model, args.heads, args.layers, args.context)
    opt = lucid.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    warmup = max(args.steps // 10, 1)
    sched = lucid.optim.lr_scheduler.SequentialLR(
        opt,
        [
            lucid.optim.lr_scheduler.LinearLR(opt, start_factor=0.1, total_iters=warmup),
            lucid.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(args.steps - warmup, 1), eta_min=args.lr / 10),
        ],
        milestones=[warmup],
    )
    hist = {"step": [], "train": [], "val": [], "secs": 0.0}
    every = max(args.steps // args.evals, 1)
    bar = tqdm(range(1, args.steps + 1), desc=f"{variant:>14}", leave=False, unit="step")
    running = None
    for step in bar:
        x, y = batches(train, args.batch, args.context, rng)
        start = time.perf_counter()
        loss = F.cross_entropy(model(x).reshape(-1, VOCAB), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        hist["secs"] += time.perf_counter() - start
        bits = loss.item() / math.log(2)
        running = bits if running is None else 0.9 * running + 0.1 * bits
        bar.set_postfix(bpc=f"{running:.2f}")
        if step % every == 0 or step == args.steps:
            hist["step"].append(step)
            hist["train"].append(running)
            hist["val"].append(evaluate(model, val, args.context))
    hist["tokens_per_s"] = args.steps * args.batch * args.context / hist["secs"]
    hist["path"] = Path(out_dir) / f"{variant}.safetensors"
    lucid.save(model.state_dict(), hist["path"])
    print(
        f"{variant:>14}: validation {hist['val'][-1]:.3f} bits/char, {hist['tokens_per_s']:,.0f} tokens/s "
        f"-> {hist['path']}",
        flush=True,
    )
    return hist


def results_table(histories):
    """A Markdown table: variant, final validation bits per character, training tokens per second."""
    rows = ["| variant | validation bits/char | tokens/s |", "|---|---:|---:|"]
    for name, h in histories.items():
        rows.append(f"| {name} | {h['val'][-1]:.3f} | {h['tokens_per_s']:,.0f} |")
    return "\n".join(rows)


def plot(histories, path):
    """Training (smoothed) and validation bits per character against the step, one colour per variant."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for i, (name, h) in enumerate(histories.items()):
        ax.plot(h["step"], h["val"], marker=".", color=f"C{i}", label=f"{name} (validation)")
        ax.plot(h["step"], h["train"], ls="--", color=f"C{i}", alpha=0.6)
    ax.set(xlabel="step", ylabel="bits per character", title="Character LM on Python's own source (dashed: training)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def check_reload(variant, hist, val, args):
    """Load the checkpoint into a fresh model; True when it gives the same validation loss, bit for bit."""
    fresh = CharTransformer(variant, args.d_model, args.heads, args.layers, args.context)
    fresh.load_state_dict(lucid.load(hist["path"]))
    bpc = evaluate(fresh, val, args.context)
    same = bpc == hist["val"][-1]
    print(
        f"reloaded {hist['path']} into a fresh model: validation {bpc:.6f} bits/char "
        f"({'same as' if same else 'DIFFERENT from'} the trained model's {hist['val'][-1]:.6f})"
    )
    return same, fresh


def generate(model, prompt, n, context, temperature=0.8, seed=0):
    """``prompt`` continued by ``n`` sampled bytes (softmax of logits/temperature, via ``lucid.multinomial``)."""
    lucid.manual_seed(seed)
    idx = list(prompt.encode("ascii"))
    model.eval()
    with lucid.no_grad():
        for _ in range(n):
            logits = model(lucid.tensor(np.array([idx[-context:]], dtype=np.int64)))[0, -1]
            probs = F.softmax(logits.double() / temperature, dim=-1)
            idx.append(int(lucid.multinomial(probs, 1)[0]))
    return bytes(idx).decode("ascii", errors="replace")


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        prog="python -m lucid.demo lm",
        description="Train a small character-level Transformer on Python standard-library sources once per "
        "normalization variant (pre-norm LayerNorm, pre-norm RMSNorm, post-norm LayerNorm, none).",
    )
    p.add_argument("--steps", type=int, default=1000, help="training steps per variant (default: 1000)")
    p.add_argument("--batch", type=int, default=16, help="sequences per step (default: 16)")
    p.add_argument("--context", type=int, default=64, help="characters per sequence (default: 64)")
    p.add_argument("--d-model", type=int, default=64, help="width of the model (default: 64)")
    p.add_argument("--heads", type=int, default=4, help="attention heads (default: 4)")
    p.add_argument("--layers", type=int, default=2, help="Transformer blocks (default: 2)")
    p.add_argument("--lr", type=float, default=1e-2, help="peak learning rate (default: 1e-2)")
    p.add_argument("--evals", type=int, default=5, help="validation points per variant (default: 5)")
    p.add_argument(
        "--variants",
        default=",".join(VARIANTS),
        help=f"comma-separated variants, from {', '.join(VARIANTS)} (default: all)",
    )
    p.add_argument(
        "--out", default="demo-output", help="folder for lm_curves.png and the checkpoints (default: demo-output)"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the weights and the batches (default: 0)")
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="threads for lucid's compiled kernels (default: 1; this model's arrays are small)",
    )
    p.add_argument("--limit", type=int, default=None, help=argparse.SUPPRESS)  # first N training bytes (tests)
    args = p.parse_args(argv)
    names = {n.lower(): n for n in VARIANTS}
    wanted = [v.strip() for v in args.variants.split(",") if v.strip()]
    if not wanted or any(v.lower() not in names for v in wanted):
        p.error(f"--variants: expected names from {', '.join(VARIANTS)} (got {args.variants!r})")
    args.variants = list(dict.fromkeys(names[v.lower()] for v in wanted))
    for flag in ("steps", "batch", "context", "d_model", "heads", "layers", "evals", "threads"):
        if getattr(args, flag) < 1:
            p.error(f"--{flag.replace('_', '-')}: expected at least 1 (got {getattr(args, flag)})")
    if args.d_model % args.heads:
        p.error(f"--d-model ({args.d_model}) must be a multiple of --heads ({args.heads})")
    return args


def main(argv=None):
    args = parse_args(argv)
    lucid.set_num_threads(args.threads)
    start = time.perf_counter()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    data = load_corpus(args.limit)
    print(
        f"corpus: {len(MODULES)} standard-library modules, {len(data[0]):,} training and {len(data[1]):,} "
        f"validation characters; {args.steps} steps of {args.batch}x{args.context} per variant",
        flush=True,
    )
    histories = {v: train_variant(v, data, args, out) for v in args.variants}
    print()
    print(results_table(histories))
    plot(histories, out / "lm_curves.png")
    print(f"\ncurves: {out / 'lm_curves.png'}")
    best = min(histories, key=lambda v: histories[v]["val"][-1])
    same, fresh = check_reload(best, histories[best], data[1], args)
    print(f"\nsampled from the reloaded {best} model (temperature 0.8):\n")
    print(generate(fresh, "def ", 240, args.context))
    print(f"\ntotal time: {time.perf_counter() - start:.0f} s")
    return 0 if same else 1
