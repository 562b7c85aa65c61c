"""Write one benchmark's tables into benchmarks/RESULTS.md, in a section of its own.

Each script calls ``write_section(name, markdown)``; the section is headed with the commit
and the machine it ran on, and replaces the previous section of that name (other scripts'
sections are kept). ``products_alone`` times matrix products on NumPy's BLAS: the floor that
bench_ops and bench_train report for the ops built on them.
"""

import os
import platform
import re
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
PATH = os.path.join(HERE, "RESULTS.md")
HEADER = (
    "# Benchmark results\n\nWritten by the scripts in `benchmarks/`; each section says the commit and the "
    "machine it ran on. Ratios are PyTorch's time over lucid's: above 1, lucid is faster.\n"
)


def _commit():
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE, capture_output=True, text=True)
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=HERE, capture_output=True, text=True
        ).stdout.splitlines()
        dirty = [line for line in status if not line.endswith("benchmarks/RESULTS.md")]  # the file being written
        return out.stdout.strip() + (" (with uncommitted changes)" if dirty else "")
    except OSError:
        return "unknown"


def machine():
    """One line on the machine: CPU model, its widest vectors, the cores this process may use, NumPy's BLAS."""
    model, flags = platform.processor() or platform.machine(), set()
    try:
        with open("/proc/cpuinfo") as f:
            first = f.read().split("\n\n")[0]  # the first processor's lines
        info = {k.strip(): v.strip() for k, v in (line.split(":", 1) for line in first.splitlines() if ":" in line)}
        model = info.get("model name", model)
        flags = set(info.get("flags", "").split())
    except OSError:
        pass
    vectors = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else None
    model = f"{model} ({vectors})" if vectors else model
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{model}, {cores} cores, Python {platform.python_version()}, NumPy's BLAS: {blas()}"


def blas():
    """NumPy's BLAS library, version and the CPU kernels it picked (OpenBLAS reads ``OPENBLAS_CORETYPE``)."""
    import numpy  # noqa: F401  (loads the BLAS library threadpoolctl inspects)

    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown"
    for lib in threadpool_info():
        if lib.get("user_api") == "blas":
            kernels = lib.get("architecture") or "?"
            return f"{lib.get('internal_api')} {lib.get('version')}, {kernels} kernels"
    return "unknown"


def write_section(name, markdown):
    """Put ``markdown`` under ``## name`` in RESULTS.md, with the commit and machine."""
    text = open(PATH).read() if os.path.exists(PATH) else HEADER
    body = f"## {name}\n\nCommit `{_commit()}`; {machine()}.\n\n{markdown.strip()}\n"
    begin, end = f"<!-- begin {name} -->", f"<!-- end {name} -->"
    block = f"{begin}\n{body}{end}\n"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end) + r"\n?", re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + block
    with open(PATH, "w") as f:
        f.write(text)


def products_alone(prods, repeats, rng):
    """Seconds of the float32 products ``(left shape, right shape)`` alone on NumPy's BLAS, the minimum
    of ``repeats`` of each, summed."""
    import time

    import numpy as np

    total = 0.0
    for a, b in prods:
        A, B = rng.standard_normal(a).astype(np.float32), rng.standard_normal(b).astype(np.float32)
        best = np.inf
        for _ in range(repeats):
            t0 = time.perf_counter()
            A @ B
            best = min(best, time.perf_counter() - t0)
        total += best
    return total
