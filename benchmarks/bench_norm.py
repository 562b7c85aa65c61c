"""Normalization layers, lucid against PyTorch: forward, forward+backward, eval forward (float32).

Both libraries run in one process on the same number of threads, interleaved, and each
figure is the minimum over the repeats. lucid is timed along the whole path a user takes:
the module, autograd and the compiled kernels (``y = m(x); y.backward(g)``, with fresh
gradients each time, as after ``zero_grad(set_to_none=True)``). The ratio is PyTorch's time
over lucid's: above 1, lucid is faster. Also printed: a cold ``import lucid`` and the first
call of a layer with numba's cache empty (it compiles) and warm (it loads), in fresh processes
(min and median of several), with where the warm first call's time goes.

In one process the two libraries also share malloc's heap: each reuses memory the other just
freed, so neither pays page faults for its fresh outputs in most runs. A training loop runs one
library alone; the table "each library alone" times the same forward+backward step that way,
each library in a fresh process of its own, with the page faults per step.

    python benchmarks/bench_norm.py [--threads 2] [--repeats 15] [--only LayerNorm GroupNorm] [--kernels]
                                    [--no-alone] [--no-startup | --startup-only | --floors | --small]

``--kernels`` times lucid's kernels alone (no module, no autograd) against the same PyTorch
modules: the floor the layers sit on.

``--small`` prints the first table only, for inputs 16 times smaller (1 MB to 2 MB): there the data
stays in the caches and the Python around each call weighs more.

``--floors`` times what memory alone allows: plain compiled loops that read and write arrays of
the input's size as often as a forward+backward must (each pass over memory of an exact
algorithm, with nothing computed), next to lucid's kernels and both libraries' layers. PyTorch's
time over the floor is the best ratio any implementation could reach on this machine.
"""

import argparse
import gc
import os
import subprocess
import sys
import tempfile
import textwrap
import time

import numpy as np
import torch

import lucid
from lucid import backends

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from results import write_section  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def cases(small=False):
    """(label, input shape, lucid module, torch module, kernel view (A, G, K, L), P, center).

    ``small``: inputs 16 times smaller (1 MB to 2 MB of float32), where the Python around each kernel
    weighs more."""
    L, T = lucid.nn, torch.nn
    n, hw, rows = (8, 28, 256) if small else (32, 56, 4096)  # batch, height = width, rows
    inst = 32 if small else 128  # InstanceNorm2d's height = width
    return [
        ("BatchNorm2d", (n, 64, hw, hw), L.BatchNorm2d(64), T.BatchNorm2d(64), (n, 64, 1, hw * hw), 64, True),
        ("BatchNorm1d", (rows, 1024), L.BatchNorm1d(1024), T.BatchNorm1d(1024), (rows, 1024, 1, 1), 1024, True),
        # lucid's InstanceNorm keeps running statistics by default; PyTorch is given the same settings
        (
            "InstanceNorm2d",
            (8, 64, inst, inst),
            L.InstanceNorm2d(64),
            T.InstanceNorm2d(64, affine=True, track_running_stats=True),
            (1, 512, 1, inst * inst),
            64,
            True,
        ),
        ("LayerNorm", (rows, 1024), L.LayerNorm(1024), T.LayerNorm(1024), (1, rows, 1024, 1), 1, True),
        ("GroupNorm", (n, 64, hw, hw), L.GroupNorm(32, 64), T.GroupNorm(32, 64), (1, n * 32, 2, hw * hw), 32, True),
        ("RMSNorm", (rows, 1024), L.RMSNorm(1024, eps=1e-6), T.RMSNorm(1024, eps=1e-6), (1, rows, 1024, 1), 1, False),
    ]


def best_of(fns, repeats):
    """Minimum seconds of each function, the functions interleaved, gc off while timing."""
    best = [float("inf")] * len(fns)
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            gc.collect()
            # let the other library's idle worker threads stop spinning, not long enough for either
            # pool to go to deep sleep
            time.sleep(0.003)
            gc.disable()
            try:
                t0 = time.perf_counter()
                fn()
                best[i] = min(best[i], time.perf_counter() - t0)
            finally:
                gc.enable()
    return best


def torch_fns(m, xa, ga):
    x = torch.from_numpy(xa).requires_grad_(True)
    g = torch.from_numpy(ga)

    def forward():
        m.train()
        m(x)

    def forward_backward():
        m.train()
        x.grad = None
        m.zero_grad(set_to_none=True)
        m(x).backward(g)

    def eval_forward():
        m.eval()
        with torch.no_grad():
            m(x)

    def no_grad_forward():
        m.train()
        with torch.no_grad():
            m(x)

    return forward, forward_backward, eval_forward, no_grad_forward


def lucid_fns(m, xa, ga):
    x = lucid.Tensor(xa, requires_grad=True)

    def forward():
        m.train()
        m(x)

    def forward_backward():
        m.train()
        x.grad = None
        for p in m.parameters():
            p.grad = None
        m(x).backward(ga)

    def eval_forward():
        m.eval()
        with lucid.no_grad():
            m(x)

    def no_grad_forward():
        m.train()
        with lucid.no_grad():
            m(x)

    return forward, forward_backward, eval_forward, no_grad_forward


def kernel_fns(view, P, center, running, xa, ga):
    k = backends.kernels("norm")
    x, g = xa.reshape(view), ga.reshape(view)
    n = P * view[2]
    w, b = np.ones(n, np.float32), np.zeros(n, np.float32)
    mean, rstd = np.zeros(view[1]), np.ones(view[1])

    def forward():
        k.forward_train(x, w, b, P, 1e-5, center)

    def forward_backward():
        y, mu, var, rstd = k.forward_train(x, w, b, P, 1e-5, center)
        k.backward(g, x, mu, rstd, w, P, center, True, True, True)

    def eval_forward():  # layers without running statistics normalize with their own in eval mode too
        if running:
            k.forward_eval(x, mean, rstd, w, b, P)
        else:
            k.forward_train(x, w, b, P, 1e-5, center)

    return forward, forward_backward, eval_forward, forward


# One library's forward+backward step, alone in a fresh process: prints the seconds and the page
# faults of each step.
ALONE = """
    import gc, resource, sys, time
    import numpy as np
    sys.path.insert(0, %r)
    import bench_norm
    label, lib, threads, repeats = %r, %r, %d, %d
    bench_norm.torch.set_num_threads(threads)  # both are imported; only one runs
    bench_norm.lucid.set_num_threads(threads)
    case = next(c for c in bench_norm.cases() if c[0] == label)
    rng = np.random.default_rng(0)
    xa = rng.standard_normal(case[1], dtype=np.float32)
    ga = rng.standard_normal(case[1], dtype=np.float32)
    step = (bench_norm.torch_fns(case[3], xa, ga) if lib == "torch" else bench_norm.lucid_fns(case[2], xa, ga))[1]
    step()
    for _ in range(repeats):
        gc.collect()
        time.sleep(0.003)
        f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        t0 = time.perf_counter()
        step()
        t = time.perf_counter() - t0
        print(t, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0)
"""


def alone(labels, threads, repeats):
    """Forward+backward of each case, each library alone in a fresh process: min and median ms, page faults."""
    print(
        f"each library alone (a fresh process each, forward+backward, {repeats} steps after a first one): "
        "min / median ms, median page faults per step"
    )
    print("| layer | torch ms | torch faults | lucid ms | lucid faults | ratio of minima | ratio of medians |")
    print("|" + "---|" * 7)
    for label in labels:
        cells, mins, meds = [], [], []
        for lib in ("torch", "lucid"):
            rows = [line.split() for line in run_fresh(ALONE % (HERE, label, lib, threads, repeats)).splitlines()]
            t = np.array([float(r[0]) for r in rows]) * 1e3
            faults = np.median([int(r[1]) for r in rows])
            cells += [f"{t.min():.2f} / {np.median(t):.2f}", f"{faults:.0f}"]
            mins.append(t.min())
            meds.append(np.median(t))
        print(
            f"| {label} | " + " | ".join(cells) + f" | {mins[0] / mins[1]:.2f} | {meds[0] / meds[1]:.2f} |", flush=True
        )


def run_fresh(code, env=None):
    """Run ``code`` in a fresh Python and return what it prints (stripped)."""
    e = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    e.update(env or {})
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], env=e, cwd=ROOT, capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


def fresh_times(code, runs, env=None):
    """``code`` run in ``runs`` fresh processes: the rows of seconds each prints, as columns."""
    return list(zip(*([float(v) for v in run_fresh(code, env).split()] for _ in range(runs))))


# Memory passes of one forward+backward step, as (reads, writes) of arrays of the input's size.
# A group that stays in cache while it is worked on is read from memory once per pass: forward
# x → y, backward g, x → dx. BatchNorm on (N, C) has strided column groups spread over all of
# memory: its statistics, then its column sums, need a sweep of their own before the output's.
PASSES = {"BatchNorm1d": ((1, 0), (1, 1), (2, 0), (2, 1))}
IN_CACHE = ((1, 1), (2, 1))


def floor_fns(n, threads):
    """One function per memory pass pattern over float32 arrays of n elements: read r, write w."""
    import numba
    from numba import njit, prange

    numba.set_num_threads(threads)

    @njit(parallel=True, fastmath=True)
    def read(a, b, reads):
        m = a.size // 64
        out = np.zeros(64, np.float32)
        for c in prange(64):
            s = np.float32(0.0)
            xa, xb = a[c * m : (c + 1) * m], b[c * m : (c + 1) * m]
            if reads == 1:
                for i in range(xa.size):
                    s += xa[i]
            else:
                for i in range(xa.size):
                    s += xa[i] * xb[i]
            out[c] = s
        return out

    @njit(parallel=True, fastmath=True)
    def read_write(a, b, y, reads):
        m = a.size // 64
        for c in prange(64):
            xa, xb, ys = a[c * m : (c + 1) * m], b[c * m : (c + 1) * m], y[c * m : (c + 1) * m]
            if reads == 1:
                for i in range(xa.size):
                    ys[i] = xa[i] * np.float32(2.0)
            else:
                for i in range(xa.size):
                    ys[i] = xa[i] * xb[i]

    a, b, y = (np.random.default_rng(1).standard_normal(n, dtype=np.float32) for _ in range(3))
    return {
        (r, w): (lambda r=r: read(a, b, r)) if w == 0 else (lambda r=r: read_write(a, b, y, r))
        for r in (1, 2)
        for w in (0, 1)
    }


def floors(labels, threads, repeats):
    """Per case: the memory floor of a forward+backward step against lucid's kernels and both layers."""
    print(
        f"memory floor of one forward+backward step ({threads} threads, min of {repeats}): compiled loops "
        "making the passes over memory an exact algorithm must make, computing nothing"
    )
    print(
        "| layer | passes (reads, writes) | floor ms | lucid kernels ms | lucid ms | torch ms "
        "| lucid kernels / floor | best possible ratio (torch / floor) |"
    )
    print("|" + "---|" * 8)
    rng = np.random.default_rng(0)
    for label, shape, lm, tm, view, P, center in cases():
        if label not in labels:
            continue
        xa = rng.standard_normal(shape, dtype=np.float32)
        ga = rng.standard_normal(shape, dtype=np.float32)
        running = label.startswith(("Batch", "Instance"))
        passes = PASSES.get(label, IN_CACHE)
        loops = floor_fns(xa.size, threads)
        fns = [
            lambda: [loops[p]() for p in passes],
            kernel_fns(view, P, center, running, xa, ga)[1],
            lucid_fns(lm, xa, ga)[1],
            torch_fns(tm, xa, ga)[1],
        ]
        for f in fns:
            f()
        floor, kern, ours, theirs = (t * 1e3 for t in best_of(fns, repeats))
        print(
            f"| {label} | {' + '.join(f'{r}r{w}w' for r, w in passes)} | {floor:.2f} | {kern:.2f} | {ours:.2f} "
            f"| {theirs:.2f} | {kern / floor:.2f} | {theirs / floor:.2f} |",
            flush=True,
        )


def ms(times):
    """'min M ms, median D ms' of a column of seconds."""
    return f"min {min(times) * 1e3:.0f} ms, median {np.median(times) * 1e3:.0f} ms"


# The first forward+backward of a layer in a fresh process, as a user meets it (lucid imports numba
# inside it): prints its seconds. The ``%s`` line runs first (variants hide SciPy there, or let numba
# probe for SciPy's BLAS itself).
FIRST_CALL = """
    import sys, time
    %s
    import lucid
    lucid.set_num_threads(%d)
    m, x = lucid.nn.BatchNorm2d(8), lucid.randn(4, 8, 16, 16, requires_grad=True)
    assert "numba" not in sys.modules
    t0 = time.perf_counter()
    m(x).backward(lucid.ones(4, 8, 16, 16))
    print(time.perf_counter() - t0)
"""

# The same first call cut into the steps that happen inside it, one after the other: numba's
# CPU target starts before the first kernel loads (with lucid's answer to its BLAS probe, as in
# lucid.backends.kernels("norm")), then each kernel loads and runs.
# Here the steps run outside lucid, with Python's garbage collector on, to show what each costs
# and how much of it is collection; lucid itself pauses the collector through these steps.
FIRST_CALL_STEPS = """
    import gc, time
    import lucid
    lucid.set_num_threads(%d)
    m, x = lucid.nn.BatchNorm2d(8), lucid.randn(4, 8, 16, 16, requires_grad=True)
    collecting = [0.0, 0.0]  # seconds in Python's garbage collector; when the running collection began

    def clock(phase, info):
        if phase == "start":
            collecting[1] = time.perf_counter()
        else:
            collecting[0] += time.perf_counter() - collecting[1]

    gc.callbacks.append(clock)
    marks = []  # (seconds, seconds in the collector so far) between the steps

    def mark():
        marks.append((time.perf_counter(), collecting[0]))

    mark()
    import numba
    mark()
    from numba.core.registry import cpu_target
    lucid.backends.startup.answer_blas_probe()  # as lucid.backends.kernels() does
    cpu_target.target_context.refresh()  # what numba does before it loads the first cached kernel
    mark()
    y = m(x)
    mark()
    y.backward(lucid.ones(4, 8, 16, 16))
    mark()
    steps = list(zip(marks, marks[1:]))
    print(*(b[0] - a[0] for a, b in steps), *(b[1] - a[1] for a, b in steps))
"""


def startup(threads, runs=7, diagnostic_runs=5):
    """Cold ``import lucid`` and the first call of a layer with numba's cache empty, then warm, each
    in fresh processes (``runs`` of them: min and median); then where the warm first call's time
    goes, and what it is without SciPy (``diagnostic_runs`` processes each)."""
    (imp,) = fresh_times(
        """
        import sys, time
        t0 = time.perf_counter()
        import lucid
        assert "numba" not in sys.modules, "import lucid imported numba"
        print(time.perf_counter() - t0)
    """,
        runs,
    )
    with tempfile.TemporaryDirectory() as cache:
        env = {"NUMBA_CACHE_DIR": cache}
        first = FIRST_CALL % ("", threads)
        cold = fresh_times(first, 1, env)
        warm = fresh_times(first, runs, env)
        steps = fresh_times(FIRST_CALL_STEPS % threads, diagnostic_runs, env)
        no_scipy = fresh_times(
            FIRST_CALL % ('sys.modules["scipy"] = None  # as if SciPy were not installed', threads),
            diagnostic_runs,
            env,
        )
        own_probe = fresh_times(
            FIRST_CALL
            % ("import lucid.backends.startup; lucid.backends.startup.answer_blas_probe = lambda: None", threads),
            diagnostic_runs,
            env,
        )
        (scipy_import,) = fresh_times(
            """
            import importlib.util, time
            import numba
            t0 = time.perf_counter()
            if importlib.util.find_spec("scipy") is not None:
                import scipy.linalg.cython_blas
            print(time.perf_counter() - t0)
        """,
            diagnostic_runs,
        )
    compiled = " (sources compiled: bytecode writing is off)" if sys.dont_write_bytecode else ""
    print(f"import lucid (fresh process, numba not imported), {runs} runs: {ms(imp)}{compiled}")
    print(
        f"first BatchNorm2d forward+backward (numba imported inside), cache empty (compiles): {cold[0][0] * 1e3:.0f} ms"
    )
    for what, n, (t_call,) in (
        ("cache warm (loads)", runs, warm),
        ("cache warm, SciPy not installed (lucid's own dependencies)", diagnostic_runs, no_scipy),
        ("cache warm, numba probing for SciPy's BLAS itself (imports it)", diagnostic_runs, own_probe),
    ):
        print(f"first BatchNorm2d forward+backward (numba imported inside), {what}, {n} fresh processes: {ms(t_call)}")
    print("  the warm first call, step by step (median of each step; of which Python's garbage collector):")
    labels = (
        "import numba",
        "numba's CPU target start (its BLAS probe answered by lucid)",
        "forward: load the kernel from the cache, start the threads, run",
        "backward: load the kernel from the cache, run",
    )
    for label, times, collecting in zip(labels, steps[:4], steps[4:]):
        print(f"    {label}: {np.median(times) * 1e3:.0f} ms (gc {np.median(collecting) * 1e3:.0f} ms)")
    print(
        f"  import scipy.linalg.cython_blas after numba, which numba's own probe would do: "
        f"median {np.median(scipy_import) * 1e3:.0f} ms"
    )


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=15)
    p.add_argument("--only", nargs="*", help="layer names to run (default: all)")
    p.add_argument("--kernels", action="store_true", help="time lucid's kernels alone, without module or autograd")
    p.add_argument("--small", action="store_true", help="inputs 16 times smaller (the table only)")
    p.add_argument("--floors", action="store_true", help="only the memory floors, against kernels and layers")
    p.add_argument("--no-alone", action="store_true", help="skip the timings of each library alone")
    p.add_argument("--no-startup", action="store_true", help="skip the import and first-call timings")
    p.add_argument("--startup-only", action="store_true", help="only the import and first-call timings")
    args = p.parse_args()
    if args.startup_only:
        startup(args.threads)
        return
    torch.set_num_threads(args.threads)
    lucid.set_num_threads(args.threads)
    if args.floors:
        floors([c[0] for c in cases() if not args.only or c[0] in args.only], args.threads, args.repeats)
        return
    rng = np.random.default_rng(0)

    title = (
        f"lucid {lucid.__version__} ({backends.kernels('norm').__name__}), torch {torch.__version__}, "
        f"{args.threads} threads, float32, min of {args.repeats}"
        + (", lucid kernels alone" if args.kernels else "")
        + (", inputs 16 times smaller" if args.small else "")
    )
    lines = [
        title,
        "",
        "| layer | shape | forward ms torch / lucid | ratio | fwd+bwd ms torch / lucid | ratio "
        "| eval fwd ms torch / lucid | ratio | no_grad fwd ms torch / lucid | ratio |",
        "|" + "---|" * 10,
    ]
    print("\n".join(lines), flush=True)
    for label, shape, lm, tm, view, P, center in cases(args.small):
        if args.only and label not in args.only:
            continue
        xa = rng.standard_normal(shape, dtype=np.float32)
        ga = rng.standard_normal(shape, dtype=np.float32)
        running = label.startswith(("Batch", "Instance"))
        ours = kernel_fns(view, P, center, running, xa, ga) if args.kernels else lucid_fns(lm, xa, ga)
        theirs = torch_fns(tm, xa, ga)
        for f in ours + theirs:  # compile, load, warm the caches
            f()
        t = best_of([f for pair in zip(theirs, ours) for f in pair], args.repeats)
        cells = []
        for i in range(4):
            tt, tl = t[2 * i] * 1e3, t[2 * i + 1] * 1e3
            cells += [f"{tt:.2f} / {tl:.2f}", f"{tt / tl:.2f}"]
        lines.append(f"| {label} | {shape} | " + " | ".join(cells) + " |")
        print(lines[-1], flush=True)
    lines += [
        "",
        "eval fwd: module in eval mode under no_grad (LayerNorm, GroupNorm and RMSNorm keep no running "
        "statistics: theirs is the training forward without the graph); no_grad fwd: module in training "
        "mode under no_grad, as a Transformer runs LayerNorm at inference.",
    ]
    print(lines[-1])
    if not args.only:
        write_section(
            "bench_norm" + (" --kernels" if args.kernels else "") + (" --small" if args.small else ""), "\n".join(lines)
        )
    if not args.no_alone and not args.kernels and not args.small:
        print()
        alone([c[0] for c in cases() if not args.only or c[0] in args.only], args.threads, args.repeats)
    if not args.no_startup and not args.small:
        print()
        startup(args.threads)


if __name__ == "__main__":
    main()
