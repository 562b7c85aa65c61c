"""The normalization kernels compiled with numba: the contract of norm_numpy.py, fused and parallel.

Same three calls, same arguments, same results (to rounding) as the NumPy reference:
``forward_train``, ``forward_eval``, ``backward`` on a contiguous 4-D view ``(A, G, K, L)``
with one statistic per ``g``. What changes is how memory is walked. Two layouts:

* **by group** (most cases): a parallel loop over groups. Group ``g`` is ``A`` contiguous
  segments of ``K·L`` elements, small enough to stay in cache while it is worked on, so the
  statistics (two passes: the mean, then the squares around the mean) and the normalization
  read it from memory once.  Forward: x read once, y written once.  Backward: the two sums
  (Σg·w, Σg·w·x̂), dw and db come from one pass; dx from a second pass that finds g and x
  in cache.
* **by rows** (BatchNorm with short rows, e.g. ``(N, C)`` input, where a group is a strided
  column): a parallel loop over blocks of rows ``a``, with one accumulator per column.
  Each block's column statistics are taken in two passes while it is in cache, and blocks
  are merged exactly (Chan's formula: M2 = M2ₐ + M2ᵦ + δ²·nₐ·nᵦ/n, deviations only, never
  E[x²] − E[x]²).

Sums are float64. They go into ``LANES`` independent partial sums: the compiler can then use
SIMD instructions without reordering a single float addition (the kernels run without
fastmath, so NaN and inf behave as IEEE says). Work is cut into a number of chunks that
depends only on the shape, never on the thread count: results are the same with 1 thread or 64.

numba has no float16 on the CPU: float16 (and any mix of dtypes) is computed in float64 and
rounded once at the end, exactly like the reference.
"""
import numba
import numpy as np
from numba import njit, prange

from . import norm_numpy

LANES = 64            # partial sums per reduction
CHUNKS = 64           # most work items a parallel loop is cut into
BLOCK_BYTES = 1 << 17  # by rows: a block of rows is about this big, to stay in the 1-2 MiB L2 cache

_jit = dict(cache=True, fastmath=False)

threads = None  # lucid.set_num_threads(n) puts n here; None leaves numba's own setting


def _use_threads():
    # numba's thread count is per calling thread: set it on every call
    if threads is not None:
        numba.set_num_threads(threads)


# ---- reductions into lanes (called inside the parallel loops) -------------------------------

@njit(**_jit)
def _lane_total(acc):
    """The sum of the lanes, added pairwise; the lanes are left changed."""
    h = LANES // 2
    while h >= 1:
        for j in range(h):
            acc[j] += acc[j + h]
        h //= 2
    return acc[0]


@njit(**_jit)
def _add_sum(x, acc):
    """acc += x, element i into lane i mod LANES."""
    n = x.size
    end = n - n % LANES
    for i in range(0, end, LANES):
        for j in range(LANES):
            acc[j] += x[i + j]
    for j in range(n - end):
        acc[j] += x[end + j]


@njit(**_jit)
def _add_sq(x, m, acc):
    """acc += (x − m)²."""
    n = x.size
    end = n - n % LANES
    for i in range(0, end, LANES):
        for j in range(LANES):
            d = x[i + j] - m
            acc[j] += d * d
    for j in range(n - end):
        d = x[end + j] - m
        acc[j] += d * d


@njit(**_jit)
def _add_dot(g, x, m, acc1, acc2):
    """acc1 += g,  acc2 += g·(x − m)."""
    n = x.size
    end = n - n % LANES
    for i in range(0, end, LANES):
        for j in range(LANES):
            acc1[j] += g[i + j]
            acc2[j] += g[i + j] * (x[i + j] - m)
    for j in range(n - end):
        acc1[j] += g[end + j]
        acc2[j] += g[end + j] * (x[end + j] - m)


@njit(**_jit)
def _add_wdot(g, x, w, m, r, acc1, acc2):
    """acc1 += g·w,  acc2 += g·w·(x − m)·r."""
    n = x.size
    end = n - n % LANES
    for i in range(0, end, LANES):
        for j in range(LANES):
            gw = g[i + j] * w[i + j]
            acc1[j] += gw
            acc2[j] += gw * ((x[i + j] - m) * r)
    for j in range(n - end):
        gw = g[end + j] * w[end + j]
        acc1[j] += gw
        acc2[j] += gw * ((x[end + j] - m) * r)


# ---- by group ------------------------------------------------------------------------------
# Inner loops index slices from 0: numba then knows the index is not negative, skips the
# wrap-around check and vectorizes the loop.

@njit(parallel=True, **_jit)
def _forward_groups(x, y, w, b, mean, var, rstd, A, G, K, L, P, eps, center, train):
    """y = (x − μ)·rstd·w + b per group; with ``train``, μ and σ² are taken first (into mean, var, rstd)."""
    S = K * L
    M = A * S
    nch = min(G, CHUNKS)
    for c in prange(nch):
        acc = np.empty(LANES)
        for grp in range(c * G // nch, (c + 1) * G // nch):
            if train:
                m = 0.0
                if center:
                    acc[:] = 0.0
                    for a in range(A):
                        o = (a * G + grp) * S
                        _add_sum(x[o:o + S], acc)
                    m = _lane_total(acc) / M
                acc[:] = 0.0
                for a in range(A):
                    o = (a * G + grp) * S
                    _add_sq(x[o:o + S], m, acc)
                v = _lane_total(acc) / M
                mean[grp] = m
                var[grp] = v
                rstd[grp] = 1.0 / np.sqrt(v + eps)
            m = mean[grp]
            r = rstd[grp]
            p = (grp % P) * K
            wg = w[p:p + K]
            bg = b[p:p + K]
            for a in range(A):
                o = (a * G + grp) * S
                if L == 1:
                    xs = x[o:o + K]
                    ys = y[o:o + K]
                    for k in range(K):
                        ys[k] = (xs[k] - m) * (r * wg[k]) + bg[k]
                else:
                    for k in range(K):
                        s = r * wg[k]
                        t = bg[k]
                        xs = x[o + k * L:o + (k + 1) * L]
                        ys = y[o + k * L:o + (k + 1) * L]
                        for i in range(L):
                            ys[i] = (xs[i] - m) * s + t


@njit(parallel=True, **_jit)
def _backward_groups(g, x, mean, rstd, w, dx, dwp, dbp, A, G, K, L, P, center, train, need_dx, need_affine):
    """dx, and per-chunk partial dw, db (rows of dwp, dbp), by group."""
    S = K * L
    M = A * S
    nch = min(G, CHUNKS)
    reduce = train or need_affine
    for c in prange(nch):
        acc1 = np.empty(LANES)
        acc2 = np.empty(LANES)
        for grp in range(c * G // nch, (c + 1) * G // nch):
            m = mean[grp]
            r = rstd[grp]
            p = (grp % P) * K
            wg = w[p:p + K]
            # pass 1: s1 = Σg, s2 = Σg·x̂ per k; Σg·w and Σg·w·x̂ over the group
            sgw = 0.0
            sgwx = 0.0
            if reduce and L == 1:
                # one element per (a, k): the per-k sums are the elements themselves
                acc1[:] = 0.0
                acc2[:] = 0.0
                for a in range(A):
                    o = (a * G + grp) * S
                    gs = g[o:o + K]
                    xs = x[o:o + K]
                    _add_wdot(gs, xs, wg, m, r, acc1, acc2)
                    if need_affine:
                        dwg = dwp[c, p:p + K]
                        dbg = dbp[c, p:p + K]
                        for k in range(K):
                            dwg[k] += gs[k] * ((xs[k] - m) * r)
                            dbg[k] += gs[k]
                sgw = _lane_total(acc1)
                sgwx = _lane_total(acc2)
            elif reduce:
                for k in range(K):
                    acc1[:] = 0.0
                    acc2[:] = 0.0
                    for a in range(A):
                        o = (a * G + grp) * S + k * L
                        _add_dot(g[o:o + L], x[o:o + L], m, acc1, acc2)
                    s1 = _lane_total(acc1)
                    s2 = _lane_total(acc2) * r
                    sgw += s1 * wg[k]
                    sgwx += s2 * wg[k]
                    if need_affine:
                        dwp[c, p + k] += s2
                        dbp[c, p + k] += s1
            if not need_dx:
                continue
            # pass 2: dx = rstd·(g·w − Σg·w/M − x̂·Σg·w·x̂/M), i.e. α·g − β·(x − μ) − γ
            beta = r * r * sgwx / M if train else 0.0
            gamma = r * sgw / M if (train and center) else 0.0
            for a in range(A):
                o = (a * G + grp) * S
                if L == 1:
                    gs = g[o:o + K]
                    xs = x[o:o + K]
                    ds = dx[o:o + K]
                    for k in range(K):
                        ds[k] = (r * wg[k]) * gs[k] - beta * (xs[k] - m) - gamma
                else:
                    for k in range(K):
                        alpha = r * wg[k]
                        gs = g[o + k * L:o + (k + 1) * L]
                        xs = x[o + k * L:o + (k + 1) * L]
                        ds = dx[o + k * L:o + (k + 1) * L]
                        for i in range(L):
                            ds[i] = alpha * gs[i] - beta * (xs[i] - m) - gamma


# ---- by rows -------------------------------------------------------------------------------

@njit(parallel=True, **_jit)
def _stats_rows(x, A, R, rows, center, cmean, cm2, cn):
    """Per chunk of rows, per column j < R: the mean and M2 = Σ(x − mean)² (rows of cmean, cm2, cn)."""
    nch = cmean.shape[0]
    for c in prange(nch):
        bm = np.empty(R)
        bq = np.empty(R)
        mc = cmean[c]
        qc = cm2[c]
        n = 0
        hi = (c + 1) * A // nch
        for a0 in range(c * A // nch, hi, rows):
            a1 = min(a0 + rows, hi)
            nb = a1 - a0
            # the block's own column means, then the squares around them (the block is in cache)
            bm[:] = 0.0
            if center:
                for a in range(a0, a1):
                    xs = x[a * R:(a + 1) * R]
                    for j in range(R):
                        bm[j] += xs[j]
                for j in range(R):
                    bm[j] /= nb
            bq[:] = 0.0
            for a in range(a0, a1):
                xs = x[a * R:(a + 1) * R]
                for j in range(R):
                    d = xs[j] - bm[j]
                    bq[j] += d * d
            # merge the block into the chunk: Chan's formula
            f = nb / (n + nb)
            h = n * f
            for j in range(R):
                d = bm[j] - mc[j]
                mc[j] += d * f
                qc[j] += bq[j] + d * d * h
            n += nb
        cn[c] = n


@njit(parallel=True, **_jit)
def _normalize_rows(x, y, cm, cs, cb, A, R):
    """y = (x − cm)·cs + cb with one value of cm, cs, cb per column."""
    nch = min(A, CHUNKS)
    for c in prange(nch):
        for a in range(c * A // nch, (c + 1) * A // nch):
            xs = x[a * R:(a + 1) * R]
            ys = y[a * R:(a + 1) * R]
            for j in range(R):
                ys[j] = (xs[j] - cm[j]) * cs[j] + cb[j]


@njit(parallel=True, **_jit)
def _reduce_rows(g, x, cm, A, R, p1, p2):
    """Per chunk of rows, per column: Σg and Σg·(x − cm) (rows of p1, p2)."""
    nch = p1.shape[0]
    for c in prange(nch):
        s1 = p1[c]
        s2 = p2[c]
        for a in range(c * A // nch, (c + 1) * A // nch):
            gs = g[a * R:(a + 1) * R]
            xs = x[a * R:(a + 1) * R]
            for j in range(R):
                s1[j] += gs[j]
                s2[j] += gs[j] * (xs[j] - cm[j])


@njit(parallel=True, **_jit)
def _dx_rows(g, x, cm, alpha, beta, gamma, A, R, dx, train):
    """dx = α·g − β·(x − cm) − γ per column (training), or α·g (eval)."""
    nch = min(A, CHUNKS)
    for c in prange(nch):
        for a in range(c * A // nch, (c + 1) * A // nch):
            gs = g[a * R:(a + 1) * R]
            xs = x[a * R:(a + 1) * R]
            ds = dx[a * R:(a + 1) * R]
            if train:
                for j in range(R):
                    ds[j] = alpha[j] * gs[j] - beta[j] * (xs[j] - cm[j]) - gamma[j]
            else:
                for j in range(R):
                    ds[j] = alpha[j] * gs[j]


# ---- the contract --------------------------------------------------------------------------

def _by_rows(A, G, K, L):
    """Rows are walked whole when a group is many short strided segments (BatchNorm on (N, C))."""
    return A > 1 and K * L < LANES


def _columns(v, A, G, K, L):
    """A per-(g, k) array of shape (G, K) spread to one value per column of a row: length G·K·L."""
    return np.repeat(np.ascontiguousarray(v, dtype=np.float64).reshape(G * K), L)


def _affine(vec, P, K, fill):
    """The affine vector as float64 of length P·K (``fill`` where it is None)."""
    if vec is None:
        return np.full(P * K, fill)
    return np.ascontiguousarray(vec, dtype=np.float64).reshape(P * K)


def _native(*arrays):
    """The arrays as contiguous float32 or float64 of one dtype, or None where the reference must run."""
    dt = arrays[0].dtype
    if any(a.dtype != dt for a in arrays) or dt not in (np.float32, np.float64):
        if not all(np.issubdtype(a.dtype, np.floating) for a in arrays):
            return None
        dt = np.float64
    return [np.ascontiguousarray(a, dtype=dt) for a in arrays]


def forward_train(x, weight, bias, P, eps, center=True):
    """Normalize with the statistics of ``x`` itself. Returns ``y, mean, var`` (biased, float64, shape (G,))."""
    _use_threads()
    A, G, K, L = x.shape
    xs = _native(x) if x.size else None
    if xs is None:
        return norm_numpy.forward_train(x, weight, bias, P, eps, center)
    xc = xs[0]
    w, b = _affine(weight, P, K, 1.0), _affine(bias, P, K, 0.0)
    y = np.empty_like(xc)
    mean, var = np.zeros(G), np.empty(G)
    if _by_rows(A, G, K, L):
        R = G * K * L
        rows = max(1, BLOCK_BYTES // (R * xc.itemsize))
        nch = min(CHUNKS, -(-A // rows))
        cmean, cm2, cn = np.zeros((nch, R)), np.zeros((nch, R)), np.zeros(nch)
        _stats_rows(xc.reshape(-1), A, R, rows, center, cmean, cm2, cn)
        # merge the chunks and the columns of each group: Σ M2 + Σ n·(mean − μ)²
        M = A * K * L
        cmean, cm2 = cmean.reshape(nch, G, K * L), cm2.reshape(nch, G, K * L)
        wts = cn[:, None, None]
        if center:
            mean = (wts * cmean).sum(axis=(0, 2)) / M
        dev = cmean - mean[None, :, None]
        var = (cm2 + wts * dev * dev).sum(axis=(0, 2)) / M
        rstd = 1.0 / np.sqrt(var + eps)
        _normalize_rows(xc.reshape(-1), y.reshape(-1), np.repeat(mean, K * L),
                        _columns(rstd[:, None] * _tile(w, G, P, K), A, G, K, L),
                        _columns(_tile(b, G, P, K), A, G, K, L), A, R)
    else:
        rstd = np.empty(G)
        _forward_groups(xc.reshape(-1), y.reshape(-1), w, b, mean, var, rstd,
                        A, G, K, L, P, float(eps), bool(center), True)
    return _as(y, x.dtype), mean, var


def forward_eval(x, mean, rstd, weight, bias, P):
    """Normalize with given statistics (float64, shape (G,)): one pass."""
    _use_threads()
    A, G, K, L = x.shape
    xs = _native(x) if x.size else None
    if xs is None:
        return norm_numpy.forward_eval(x, mean, rstd, weight, bias, P)
    xc = xs[0]
    w, b = _affine(weight, P, K, 1.0), _affine(bias, P, K, 0.0)
    mean = np.ascontiguousarray(mean, dtype=np.float64)
    rstd = np.ascontiguousarray(rstd, dtype=np.float64)
    y = np.empty_like(xc)
    if _by_rows(A, G, K, L):
        _normalize_rows(xc.reshape(-1), y.reshape(-1), np.repeat(mean, K * L),
                        _columns(rstd[:, None] * _tile(w, G, P, K), A, G, K, L),
                        _columns(_tile(b, G, P, K), A, G, K, L), A, G * K * L)
    else:
        _forward_groups(xc.reshape(-1), y.reshape(-1), w, b, mean, np.empty(0), rstd,
                        A, G, K, L, P, 0.0, True, False)
    return _as(y, x.dtype)


def backward(g, x, mean, rstd, weight, P, center=True, train=True, need_dx=True, need_affine=True):
    """Gradients ``dx`` (x's dtype), ``dw`` and ``db`` (float64, length P·K) of ``y = w·x̂ + b``."""
    _use_threads()
    A, G, K, L = x.shape
    arrs = _native(g, x) if x.size else None
    if arrs is None or not (need_dx or need_affine):
        return norm_numpy.backward(g, x, mean, rstd, weight, P, center, train, need_dx, need_affine)
    gc, xc = arrs
    w = _affine(weight, P, K, 1.0)
    mean = np.ascontiguousarray(mean, dtype=np.float64)
    rstd = np.ascontiguousarray(rstd, dtype=np.float64)
    dx = np.empty_like(xc) if need_dx else np.empty(0, xc.dtype)
    M = A * K * L
    if _by_rows(A, G, K, L):
        R = G * K * L
        cm = np.repeat(mean, K * L)
        s1 = s2 = np.zeros((G, K))
        if train or need_affine:
            nch = min(A, CHUNKS)
            p1, p2 = np.zeros((nch, R)), np.zeros((nch, R))
            _reduce_rows(gc.reshape(-1), xc.reshape(-1), cm, A, R, p1, p2)
            s1 = p1.sum(axis=0).reshape(G, K, L).sum(axis=2)              # Σg per (g, k)
            s2 = p2.sum(axis=0).reshape(G, K, L).sum(axis=2) * rstd[:, None]  # Σg·x̂ per (g, k)
        if need_dx:
            wt = _tile(w, G, P, K)
            r = rstd[:, None]
            alpha = _columns(r * wt, A, G, K, L)
            if train:
                sgw, sgwx = (s1 * wt).sum(axis=1), (s2 * wt).sum(axis=1)
                beta = _columns(np.repeat((rstd * rstd * sgwx / M)[:, None], K, 1), A, G, K, L)
                gamma = _columns(np.repeat((rstd * sgw / M if center else 0 * rstd)[:, None], K, 1), A, G, K, L)
            else:
                beta = gamma = alpha
            _dx_rows(gc.reshape(-1), xc.reshape(-1), cm, alpha, beta, gamma, A, R, dx.reshape(-1), bool(train))
        dw = s2.reshape(G // P, P * K).sum(axis=0)
        db = s1.reshape(G // P, P * K).sum(axis=0)
    else:
        nch = min(G, CHUNKS)
        shape = (nch, P * K) if need_affine else (1, 1)
        dwp, dbp = np.zeros(shape), np.zeros(shape)
        _backward_groups(gc.reshape(-1), xc.reshape(-1), mean, rstd, w, dx.reshape(-1), dwp, dbp,
                         A, G, K, L, P, bool(center), bool(train), bool(need_dx), bool(need_affine))
        dw, db = dwp.sum(axis=0), dbp.sum(axis=0)
    return (_as(dx, x.dtype) if need_dx else None), (dw if need_affine else None), (db if need_affine else None)


def _tile(vec, G, P, K):
    """A length-P·K vector as the (G, K) values its groups use."""
    return np.tile(vec.reshape(P, K), (G // P, 1))


def _as(a, dtype):
    return a if a.dtype == dtype else a.astype(dtype)
