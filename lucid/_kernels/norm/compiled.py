"""The normalization kernels compiled with numba: the contract of ``reference.py``, fused and parallel.

Same three calls, same arguments, same results (to rounding) as the NumPy reference:
``forward_train``, ``forward_eval``, ``backward`` on a 4-D view ``(A, G, K, L)`` with one statistic
per ``g``. This file only picks the loop strategy for a shape and hands it plain arrays:

* ``by_rows``: BatchNorm on short rows (a group is many short strided segments, e.g. (N, C));
* ``by_segment``: A = 1, training (LayerNorm, RMSNorm, GroupNorm, InstanceNorm): neighbouring groups
  share a loop;
* ``by_group``: everything else, and every forward with fixed statistics (eval).

The math of every strategy is in ``formulas``; the loops over memory in ``segments``. Inputs below
``SERIAL`` elements run the serial build of the same strategy (waking threads costs more than it
saves there). Work is cut into a number of chunks that depends only on the shape (its size), never
on the thread count: results are the same on 1 thread or 64.

All arithmetic is float64; y and dx are rounded to x's dtype once, at the end. numba has no
float16 on the CPU: float16 (and any mix of dtypes) is computed from a float64 copy.
"""

import threading

import numpy as np

from ...backends import memory as buffers
from ..jit import CHUNKS, run, use_threads
from . import reference
from .by_group import backward_groups, forward_fixed, forward_groups
from .by_rows import backward_rows, forward_rows
from .by_segment import backward_segments, forward_segments
from .segments import NO_SCRATCH

SERIAL = 1 << 17  # fewer elements run serially, in one chunk: a second thread costs what it saves
# a chunk has at least this many elements: each chunk costs a share of the threads' scheduling and,
# in a backward, a row of partial sums of dw and db to clear and add (as long as the input's rows)
CHUNK_ELEMS = 1 << 15
ROW_MAX = 1 << 13  # a training row of single elements up to this long: the next row's sums under this one's y
SHORT = 64  # a group of segments shorter than this is walked by rows
BLOCK_BYTES = 1 << 19  # by rows: a block of rows is about this big, to stay in the L2 cache
SCRATCH_KEPT = 1 << 24  # scratch arrays up to this many bytes stay with their thread between calls

_here = threading.local()  # per thread: its scratch arrays


def _scratch_pair(rows, cols):
    """Two float64 (rows, cols) scratch arrays for per chunk partial sums (their values are garbage).

    Views of two arrays the calling thread keeps (grown to the largest size it has needed, up to
    ``SCRATCH_KEPT``): a call then allocates nothing. A kernel holds the GIL, so a thread runs one
    kernel at a time, and two threads never share a pair."""
    n = rows * cols
    if n * 8 > SCRATCH_KEPT:
        return buffers.empty((rows, cols), np.float64), buffers.empty((rows, cols), np.float64)
    pair = getattr(_here, "scratch", None)
    if pair is None or pair[0].size < n:
        pair = _here.scratch = (np.empty(n), np.empty(n))
    return pair[0][:n].reshape(rows, cols), pair[1][:n].reshape(rows, cols)


def release_scratch():
    """Let the scratch arrays the calling thread keeps go."""
    _here.__dict__.pop("scratch", None)


def _count(x):
    """The most chunks a kernel cuts the work on ``x`` into: 1 below ``SERIAL`` elements, else one per
    ``CHUNK_ELEMS`` elements, from 2 to ``CHUNKS``."""
    return 1 if x.size < SERIAL else max(2, min(CHUNKS, x.size // CHUNK_ELEMS))


def _run(kernel, x, *args):
    """``kernel(x, *args, chunks)`` through ``jit.run``: the serial twin in one chunk for a small ``x``."""
    chunks = _count(x)
    return run(kernel.serial if chunks == 1 else kernel.parallel, x, *args, chunks)


def _chunks(x, n):
    """How many chunks ``_run`` cuts ``n`` work items of ``x`` into."""
    return min(n, _count(x))


def _by_rows(A, G, K, L):
    """Rows are walked whole when a group is many short strided segments (BatchNorm on (N, C))."""
    return A > 1 and K * L < SHORT


def _affine(vec, P, K, fill):
    """The affine vector as float64 of length P·K (``fill`` where it is None: b = −0.0 adds nothing, even to
    a −0.0)."""
    if vec is None:
        return np.full(P * K, fill)
    return np.ascontiguousarray(vec, dtype=np.float64).reshape(P * K)


def _native(*arrays):
    """The arrays, contiguous and flat, as float32 or float64 of one dtype; None where the reference must run."""
    first = arrays[0]
    dt = first.dtype
    if dt.char in "fd" and first.size and all(a.dtype == dt and a.flags.c_contiguous for a in arrays):
        return [a.reshape(-1) for a in arrays]  # the common case: nothing to convert
    if first.size == 0 or any(a.dtype.kind != "f" for a in arrays):
        return None
    if dt.char not in "fd" or any(a.dtype != dt for a in arrays):
        dt = np.float64
    return [np.ascontiguousarray(a, dtype=dt).reshape(-1) for a in arrays]


def _forward(xc, w, b, mean, var, rs, shape, P, eps, center, train):
    A, G, K, L = shape
    y = buffers.empty(xc.shape, xc.dtype)
    if _by_rows(A, G, K, L):
        rows = max(1, BLOCK_BYTES // (G * K * L * xc.itemsize))
        cmean = cm2 = NO_SCRATCH
        if train:
            cmean, cm2 = _scratch_pair(_chunks(xc, (A + rows - 1) // rows), G * K * L)
        _run(forward_rows, xc, y, w, b, mean, var, rs, cmean, cm2, A, G, K, L, P, eps, center, train, rows)
    elif train and A == 1 and (L > 1 or K * L <= ROW_MAX):
        _run(forward_segments, xc, y, w, b, mean, var, rs, G, K, L, P, eps, center)
    elif train:
        _run(forward_groups, xc, y, w, b, mean, var, rs, A, G, K, L, P, eps, center)
    else:
        _run(forward_fixed, xc, y, w, b, mean, rs, A, G, K, L, P)
    return y


def forward_train(x, weight, bias, P, eps, center=True):
    """Normalize with the statistics of ``x`` itself. Returns ``y, mean, var, rstd`` (var biased; the
    statistics float64, shape (G,))."""
    use_threads()
    arrs = _native(x)
    if arrs is None:
        return reference.forward_train(x, weight, bias, P, eps, center)
    G, K = x.shape[1], x.shape[2]
    mean, var, rs = np.zeros(G), np.empty(G), np.empty(G)
    y = _forward(
        arrs[0],
        _affine(weight, P, K, 1.0),
        _affine(bias, P, K, -0.0),
        mean,
        var,
        rs,
        x.shape,
        P,
        float(eps),
        bool(center),
        True,
    )
    return y.reshape(x.shape).astype(x.dtype, copy=False), mean, var, rs


def forward_eval(x, mean, rstd, weight, bias, P):
    """Normalize with given statistics (float64, shape (G,)): one pass."""
    use_threads()
    arrs = _native(x)
    if arrs is None:
        return reference.forward_eval(x, mean, rstd, weight, bias, P)
    K = x.shape[2]
    y = _forward(
        arrs[0],
        _affine(weight, P, K, 1.0),
        _affine(bias, P, K, -0.0),
        _stats(mean),
        np.empty(0),
        _stats(rstd),
        x.shape,
        P,
        0.0,
        True,
        False,
    )
    return y.reshape(x.shape).astype(x.dtype, copy=False)


def _stats(v):
    return np.ascontiguousarray(v, dtype=np.float64)


rstd = reference.rstd  # of fixed statistics: a few values, no loop to compile


def backward(g, x, mean, rstd, weight, P, center=True, train=True, need_dx=True, need_affine=True):
    """Gradients ``dx`` (x's dtype), ``dw`` and ``db`` (float64, length P·K) of ``y = w·x̂ + b``."""
    use_threads()
    arrs = _native(g, x)
    if arrs is None or not (need_dx or need_affine):
        return reference.backward(g, x, mean, rstd, weight, P, center, train, need_dx, need_affine)
    gc, xc = arrs
    A, G, K, L = x.shape
    center, train, need_dx, need_affine = bool(center), bool(train), bool(need_dx), bool(need_affine)
    dx = buffers.empty(xc.shape, xc.dtype) if need_dx else np.empty(0, xc.dtype)
    dw, db = np.zeros(P * K), np.zeros(P * K)
    mean, rs, w = _stats(mean), _stats(rstd), _affine(weight, P, K, 1.0)
    if _by_rows(A, G, K, L):
        p1 = p2 = NO_SCRATCH  # per chunk column sums
        if train or need_affine:
            p1, p2 = _scratch_pair(_chunks(xc, A), G * K * L)
        _run(backward_rows, gc, xc, mean, rs, w, dx, dw, db, p1, p2, A, G, K, L, P, center, train, need_dx, need_affine)
    else:
        dwp = dbp = NO_SCRATCH  # per chunk dw, db
        if need_affine:
            dwp, dbp = _scratch_pair(_chunks(xc, G), P * K)
        if train and need_dx and A == 1:
            _run(backward_segments, gc, xc, mean, rs, w, dx, dw, db, dwp, dbp, G, K, L, P, center, need_affine)
        else:
            _run(
                backward_groups,
                gc,
                xc,
                mean,
                rs,
                w,
                dx,
                dw,
                db,
                dwp,
                dbp,
                A,
                G,
                K,
                L,
                P,
                center,
                train,
                need_dx,
                need_affine,
            )
    dx = dx.reshape(x.shape).astype(x.dtype, copy=False) if need_dx else None
    return dx, (dw if need_affine else None), (db if need_affine else None)
