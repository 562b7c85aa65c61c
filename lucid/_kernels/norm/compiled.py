"""The normalization kernels compiled with numba: the contract of reference.py, fused and parallel.

Same three calls, same arguments, same results (to rounding) as the NumPy reference:
``forward_train``, ``forward_eval``, ``backward`` on a contiguous 4-D view ``(A, G, K, L)``
with one statistic per ``g``. What changes is how memory is walked:

* **by group** (BatchNorm on long rows, e.g. ``(N, C, H, W)``; the forward of LayerNorm and RMSNorm;
  the backwards the kernel by segment below does not take): a parallel loop over groups. Group ``g``
  is ``A`` contiguous segments of ``K·L`` elements, small enough to stay in cache while it is worked on, so the
  statistics and the normalization read it from memory once. The statistics take one pass, as
  sums of x − s and (x − s)² for s the group's first value; when s is far from μ (more than
  √GUARD·σ) the squares are taken again around μ (see ``_forward_groups``).
  Forward: x read once, y written once.  Backward: Σg·w, Σg·w·x̂,
  dw and db come from one pass; dx from a second pass that finds g and x in cache.
* **by rows** (BatchNorm on short rows, e.g. an ``(N, C)`` input, where a group is a strided
  column): a parallel loop over blocks of rows ``a`` with one accumulator per column. Each
  block's column statistics are taken in one pass, as sums of x − s and (x − s)² for s a value
  of the group (which bounds the cancellation: see ``_forward_rows``), and the blocks are merged
  exactly (Chan's formula: M2 = M2ₐ + M2ᵦ + δ²·nₐ·nᵦ/n, with means kept as offsets from s).
  Forward: x read twice, y written once.
* **fixed statistics** (eval forward): one pass over memory in order, segment after segment,
  each with its group's μ and rstd: x read once, y written once, both as one stream.
* **by segment** (A = 1: LayerNorm, GroupNorm, InstanceNorm, RMSNorm, where each group is one
  contiguous segment): as by group, but on segments of several affine entries (GroupNorm,
  InstanceNorm) the training forward takes the sums of the next group in the loop that writes y of
  this one, so reading memory and arithmetic in cache overlap (7% to 12% faster; on rows, LayerNorm
  and RMSNorm, the same loop measured 5% slower to 8% faster from run to run, so rows stay by
  group). The training backward sums rows of single elements (LayerNorm, RMSNorm) two at a time
  (dw and db are loaded and stored once for both), and on longer segments the sums of the next
  group share the loop that writes dx of this one. When neither w nor b wants a gradient (no affine,
  or frozen), dw and db are not summed at all.

Loops ask for the CPU's widest vectors (``_wide``: 512-bit with AVX-512, where LLVM would pick
256-bit); float32 data is widened to float64 as it is loaded.

All arithmetic is float64; y and dx are rounded to x's dtype once, at the end, as in the
reference. Sums are plain loops: the compiler may reassociate additions (so it splits a
sum into vector lanes) and fuse multiply-adds (fastmath 'reassoc' and 'contract' only: no
assumption that values are finite, so NaN and inf propagate as IEEE says); in float64
that changes results by a few units in the last place of a float64, far below float32's.
One trap of 'reassoc': when rstd = 1/√(σ² + ε) is computed in the same function, LLVM may
rewrite (x − μ)·(rstd·w) as (x − μ)·w/√(σ² + ε), a division per element (2x slower); check the
assembly (``inspect_asm``, no ``vdivpd`` in the loops) after changing how rstd reaches a loop.
Work is cut into a number of chunks that depends only on the shape, never on the thread
count: results are the same on 1 thread or 64.

numba has no float16 on the CPU: float16 (and any mix of dtypes) is computed from a float64
copy and rounded once at the end, exactly like the reference.
"""
import threading

import numba
import numpy as np
from numba import njit, prange, types
from numba.extending import intrinsic

from ... import backends
from ...backends import memory as buffers
from ...backends.startup import gc_paused
from . import reference as norm_numpy

CHUNKS = 64            # most work items a parallel loop is cut into
SHORT = 64             # a group of segments shorter than this is walked by rows
BLOCK_BYTES = 1 << 19  # by rows: a block of rows is about this big, to stay in the L2 cache
SCRATCH_KEPT = 1 << 24  # scratch arrays up to this many bytes stay with their thread between calls
GUARD = 64             # one-pass statistics are kept while (μ − s)² ≤ GUARD·σ²: at most log2(GUARD + 1) bits lost

_jit = dict(cache=True, fastmath={'reassoc', 'contract'})

_here = threading.local()  # per thread: its scratch arrays, and the thread count it last gave numba


def _use_threads():
    # numba's thread count belongs to the calling thread: set it on each thread, and again whenever
    # lucid's setting changes (not at every call: that cost microseconds each time). Code that calls
    # numba.set_num_threads itself on a thread changes the count lucid's kernels use there too.
    threads = backends.requested_threads()
    if threads is not None and getattr(_here, "threads", None) != threads:
        numba.set_num_threads(threads)
        _here.threads = threads


@intrinsic
def _wide(typingctx):
    """Let the compiler use the CPU's widest vectors (512 bits with AVX-512) in the calling function.

    LLVM's default on AVX-512 CPUs is 256-bit vectors (wider ones may lower the clock in code
    that mixes them with scalar work); these loops are all vector work, where 512-bit ones
    halve the instructions. A hint only: on a CPU without AVX-512 nothing changes.
    """
    def codegen(context, builder, signature, args):
        # a string attribute that llvmlite's checked attribute set does not list; LLVM reads it.
        # Should a later llvmlite store attributes differently, the hint is dropped, nothing else.
        try:
            set.add(builder.function.attributes, '"prefer-vector-width"="512"')
        except (TypeError, AttributeError):
            pass
        return context.get_dummy_value()
    return types.none(), codegen


# ---- sums over one segment (inlined into the parallel loops) ------------------------------------
# Inner loops index slices from 0: numba then knows no index is negative, skips the
# wrap-around check and vectorizes the loop.

@njit(**_jit)
def _sum_sq(x, m):
    """Σ(x − m)²."""
    _wide()
    s = 0.0
    for i in range(x.size):
        d = x[i] - m
        s += d * d
    return s


@njit(**_jit)
def _sum_shifted(x, s):
    """Σ(x − s) and Σ(x − s)²."""
    _wide()
    s1 = 0.0
    s2 = 0.0
    for i in range(x.size):
        d = x[i] - s
        s1 += d
        s2 += d * d
    return s1, s2


@njit(**_jit)
def _sum_dot(g, x, m):
    """Σg and Σg·(x − m)."""
    _wide()
    s1 = 0.0
    s2 = 0.0
    for i in range(x.size):
        s1 += g[i]
        s2 += g[i] * (x[i] - m)
    return s1, s2


@njit(**_jit)
def _row_sums(g, x, w, m, r):
    """One row of K single elements (L = 1): Σg·w and Σg·w·x̂."""
    _wide()
    s1 = 0.0
    s2 = 0.0
    for i in range(x.size):
        gw = g[i] * w[i]
        s1 += gw
        s2 += gw * ((x[i] - m) * r)
    return s1, s2


@njit(**_jit)
def _row_sums_affine(g, x, w, m, r, dw, db):
    """As _row_sums, and dw += g·x̂, db += g."""
    _wide()
    s1 = 0.0
    s2 = 0.0
    for i in range(x.size):
        gv = g[i]
        gx = gv * ((x[i] - m) * r)
        s1 += gv * w[i]
        s2 += gx * w[i]
        dw[i] += gx
        db[i] += gv
    return s1, s2


@njit(**_jit)
def _add_chunks(parts, out, lo, hi):
    """out[i] += Σ_c parts[c, i] for lo ≤ i < hi, chunk after chunk in order: the same sum on any
    thread count."""
    _wide()
    acc = out[lo:hi]
    for c in range(parts.shape[0]):
        part = parts[c, lo:hi]
        for i in range(hi - lo):
            acc[i] += part[i]


@njit(parallel=True, **_jit)
def _add_chunks_parallel(parts1, out1, parts2, out2):
    """_add_chunks for both pairs, cut across threads by blocks of i."""
    n = out1.size
    nb = min(CHUNKS, (n + 255) // 256)
    for blk in prange(nb):
        lo = blk * n // nb
        hi = (blk + 1) * n // nb
        _add_chunks(parts1, out1, lo, hi)
        _add_chunks(parts2, out2, lo, hi)


@njit(**_jit)
def _add_partials(parts1, out1, parts2, out2):
    """out += Σ_c parts[c] for both pairs; in parallel when there is enough to add."""
    if parts1.size >= 1 << 16:
        _add_chunks_parallel(parts1, out1, parts2, out2)
    else:
        _add_chunks(parts1, out1, 0, out1.size)
        _add_chunks(parts2, out2, 0, out2.size)


@njit(**_jit)
def _check_scratch(a, rows, cols):
    """The loops index scratch unchecked: a wrong shape from a caller is an error, not a stray write."""
    if a.shape[0] < rows or a.shape[1] < cols:
        raise ValueError("norm kernel: scratch array too small")


# ---- by group -----------------------------------------------------------------------------------

@njit(**_jit)
def _moments(x, o, step, A, S, sh, s1, s2, center):
    """μ and σ² of the group made of the A segments x[o + a·step : o + a·step + S], from s1 = Σ(x − s) and
    s2 = Σ(x − s)² (s = ``sh``; 0 when not centered: σ² is then the mean square)."""
    M = A * S
    e = s1 / M if center else 0.0
    m = sh + e
    v = (s2 - e * s1) / M
    if v < 0.0:  # rounding; a NaN passes
        v = 0.0
    if e * e > GUARD * v:
        # s is far from μ in units of σ: Σd² held mostly (s − μ)², and the difference lost bits.
        # Take the squares around μ in a second pass (the group is still in cache).
        v = 0.0
        for a in range(A):
            v += _sum_sq(x[o + a * step:o + a * step + S], m)
        v /= M
    return m, v


@njit(**_jit)
def _keep(mean, var, rstd, grp, m, v, eps):
    """Store μ, σ² and rstd = 1/√(σ² + ε) of group ``grp``; return μ and rstd as stored."""
    mean[grp] = m
    var[grp] = v
    rstd[grp] = 1.0 / np.sqrt(v + eps)
    return mean[grp], rstd[grp]


@njit(parallel=True, **_jit)
def _forward_groups(x, y, w, b, mean, var, rstd, A, G, K, L, P, eps, center):
    """μ, σ², rstd of each group, then y = (x − μ)·rstd·w + b, one group after the other.

    The statistics come from one pass over the group: with d = x − s, s its first value, Σd² is
    M·σ² + M·(μ − s)², so taking M·σ² = Σd² − e·Σd (e = μ − s) loses log2(1 + e²/σ²) bits of float64.
    While e² ≤ GUARD·σ² that is at most 6 bits; beyond it the squares are taken again around μ."""
    S = K * L
    nch = min(G, CHUNKS)
    for c in prange(nch):
        _wide()
        for grp in range(c * G // nch, (c + 1) * G // nch):
            sh = x[grp * S] if center else 0.0  # s (0 when not centered: σ² is then the mean square)
            s1 = 0.0
            s2 = 0.0
            for a in range(A):
                o = (a * G + grp) * S
                t1, t2 = _sum_shifted(x[o:o + S], sh)
                s1 += t1
                s2 += t2
            m, v = _moments(x, grp * S, G * S, A, S, sh, s1, s2, center)
            m, r = _keep(mean, var, rstd, grp, m, v, eps)
            p = (grp % P) * K
            wg = w[p:p + K]
            bg = b[p:p + K]
            # _normalize written out: called here, it measured 2-4% slower on LayerNorm's forward
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
def _backward_groups(g, x, mean, rstd, w, dx, dw, db, dwp, dbp, A, G, K, L, P, center, train, need_dx,
                     need_affine):
    """dx (into ``dx``), and dw, db added into ``dw``, ``db``, one group after the other. ``dwp``, ``dbp``:
    scratch for per chunk partial dw, db, (min(G, CHUNKS), P·K) when ``need_affine``."""
    S = K * L
    M = A * S
    nch = min(G, CHUNKS)
    reduce = train or need_affine
    if need_affine:
        _check_scratch(dwp, nch, P * K)
        _check_scratch(dbp, nch, P * K)
    # per chunk partial dw, db: the groups sharing an affine entry may sit in different chunks
    # (zeroed by their own chunk, in its cache, and added up in parallel)
    for c in prange(nch):
        _wide()
        if need_affine:
            dwp[c] = 0.0
            dbp[c] = 0.0
        for grp in range(c * G // nch, (c + 1) * G // nch):
            m = mean[grp]
            r = rstd[grp]
            p = (grp % P) * K
            wg = w[p:p + K]
            # pass 1: Σg·w and Σg·w·x̂ over the group, and per k: Σg (db) and Σg·x̂ (dw)
            sgw = 0.0
            sgwx = 0.0
            if reduce and L == 1:
                for a in range(A):
                    o = (a * G + grp) * S
                    if need_affine:
                        t1, t2 = _row_sums_affine(g[o:o + K], x[o:o + K], wg, m, r, dwp[c, p:p + K], dbp[c, p:p + K])
                    else:
                        t1, t2 = _row_sums(g[o:o + K], x[o:o + K], wg, m, r)
                    sgw += t1
                    sgwx += t2
            elif reduce:
                for k in range(K):
                    s1 = 0.0
                    s2 = 0.0
                    for a in range(A):
                        o = (a * G + grp) * S + k * L
                        t1, t2 = _sum_dot(g[o:o + L], x[o:o + L], m)
                        s1 += t1
                        s2 += t2
                    s2 *= r
                    sgw += s1 * wg[k]
                    sgwx += s2 * wg[k]
                    if need_affine:
                        dwp[c, p + k] += s2
                        dbp[c, p + k] += s1
            if not need_dx:
                continue
            # pass 2: dx = rstd·(g·w − Σg·w/M − x̂·Σg·w·x̂/M) = α·g − β·(x − μ) − γ
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
    if need_affine:
        _add_partials(dwp, dw, dbp, db)


# ---- fixed statistics: the eval forward -------------------------------------------------------

@njit(**_jit)
def _normalize(xs, ys, m, r, wg, bg, K, L):
    """One segment of K·L elements: y = (x − μ)·(rstd·w) + b, with entry k of wg, bg for x[k·L:(k+1)·L]."""
    _wide()
    if L == 1:
        for k in range(K):
            ys[k] = (xs[k] - m) * (r * wg[k]) + bg[k]
    else:
        for k in range(K):
            s = r * wg[k]
            t = bg[k]
            xk = xs[k * L:(k + 1) * L]
            yk = ys[k * L:(k + 1) * L]
            for i in range(L):
                yk[i] = (xk[i] - m) * s + t


@njit(parallel=True, **_jit)
def _forward_fixed(x, y, w, b, mean, rstd, A, G, K, L, P):
    """y = (x − μ)·rstd·w + b with given μ, rstd: one pass in memory order (segment a·G + g is the
    K·L elements of group g in row a)."""
    S = K * L
    n = A * G
    nch = min(n, CHUNKS)
    for c in prange(nch):
        _wide()
        for seg in range(c * n // nch, (c + 1) * n // nch):
            grp = seg % G
            o = seg * S
            p = (grp % P) * K
            _normalize(x[o:o + S], y[o:o + S], mean[grp], rstd[grp], w[p:p + K], b[p:p + K], K, L)


# ---- by segment: A = 1 ----------------------------------------------------------------------
# LayerNorm, GroupNorm, InstanceNorm and RMSNorm see A = 1: group g is the contiguous segment
# x[g·S:(g+1)·S]. On segments of several affine entries (L > 1), the training forward takes the sums
# of group g + 1 in the loop that writes y of group g: one segment streams in from memory while the
# other streams out, where one after the other each would wait for memory alone.
# In the backward, rows of single elements (L = 1: LayerNorm, RMSNorm) are taken two at a time:
# the sums of both in one loop, which loads and stores dw and db once for the two, then dx of each
# from the cache (one at a time when dw, db are not wanted: then there is nothing to share). Longer
# segments (GroupNorm, InstanceNorm) have one affine entry per L elements: there the sums of group
# g + 1 run in the loop that writes dx of group g, so that one stream comes from memory while the
# other is worked in cache.

@njit(**_jit)
def _normalize_then_sums(xs, ys, m, r, wg, bg, K, L, xn, sn):
    """_normalize of this segment and, in the same loops, Σ(xn − sn) and Σ(xn − sn)² of the next."""
    _wide()
    t1 = 0.0
    t2 = 0.0
    for k in range(K):
        s = r * wg[k]
        t = bg[k]
        xk = xs[k * L:(k + 1) * L]
        yk = ys[k * L:(k + 1) * L]
        nk = xn[k * L:(k + 1) * L]
        for i in range(L):
            yk[i] = (xk[i] - m) * s + t
            d = nk[i] - sn
            t1 += d
            t2 += d * d
    return t1, t2


@njit(parallel=True, **_jit)
def _forward_segments(x, y, w, b, mean, var, rstd, G, K, L, P, eps, center):
    """Training forward for A = 1 and L > 1: μ, σ², rstd of each group, and y = (x − μ)·rstd·w + b, with the
    sums of group g + 1 taken in the loop that writes y of group g (statistics as in ``_forward_groups``)."""
    S = K * L
    nch = min(G, CHUNKS)
    for c in prange(nch):
        _wide()
        g0 = c * G // nch
        g1 = (c + 1) * G // nch
        sh = x[g0 * S] if center else 0.0
        s1, s2 = _sum_shifted(x[g0 * S:(g0 + 1) * S], sh)
        for grp in range(g0, g1):
            o = grp * S
            xs = x[o:o + S]
            m, v = _moments(x, o, S, 1, S, sh, s1, s2, center)
            m, r = _keep(mean, var, rstd, grp, m, v, eps)
            p = (grp % P) * K
            ys = y[o:o + S]
            wg = w[p:p + K]
            bg = b[p:p + K]
            if grp + 1 == g1:
                _normalize(xs, ys, m, r, wg, bg, K, L)
                continue
            xn = x[o + S:o + 2 * S]
            sh = xn[0] if center else 0.0
            s1, s2 = _normalize_then_sums(xs, ys, m, r, wg, bg, K, L, xn, sh)


@njit(**_jit)
def _dx_row(gs, xs, ds, m, r, w, beta, gamma):
    """One affine entry per element: dx = (r·w)·g − β·(x − μ) − γ."""
    _wide()
    for i in range(xs.size):
        ds[i] = (r * w[i]) * gs[i] - beta * (xs[i] - m) - gamma


@njit(**_jit)
def _row_pair_sums(g0, x0, m0, r0, g1, x1, m1, r1, w, dw, db):
    """_row_sums_affine of two rows that share w: Σg·w and Σg·w·x̂ of each, dw += g₀·x̂₀ + g₁·x̂₁,
    db += g₀ + g₁."""
    _wide()
    a0 = 0.0
    a1 = 0.0
    b0 = 0.0
    b1 = 0.0
    for i in range(w.size):
        wi = w[i]
        h0 = g0[i] * ((x0[i] - m0) * r0)
        h1 = g1[i] * ((x1[i] - m1) * r1)
        a0 += g0[i] * wi
        a1 += g1[i] * wi
        b0 += h0 * wi
        b1 += h1 * wi
        dw[i] += h0 + h1
        db[i] += np.float64(g0[i]) + g1[i]
    return a0, a1, b0, b1


@njit(**_jit)
def _dx_segment(gs, xs, ds, m, alpha, beta, gamma):
    """One affine entry for the segment: dx = α·g − β·(x − μ) − γ."""
    _wide()
    for i in range(xs.size):
        ds[i] = alpha * gs[i] - beta * (xs[i] - m) - gamma


@njit(**_jit)
def _dx_segment_then_dot(gs, xs, ds, m, alpha, beta, gamma, gn, xn, mn):
    """_dx_segment, and in the same loop Σgn and Σgn·(xn − mn) of the next group's segment."""
    _wide()
    t1 = 0.0
    t2 = 0.0
    for i in range(xs.size):
        ds[i] = alpha * gs[i] - beta * (xs[i] - m) - gamma
        t1 += gn[i]
        t2 += gn[i] * (xn[i] - mn)
    return t1, t2


@njit(parallel=True, **_jit)
def _backward_segments(g, x, mean, rstd, w, dx, dw, db, dwp, dbp, G, K, L, P, center, need_affine):
    """Training backward for A = 1: dx, and, when ``need_affine``, dw, db added into ``dw``, ``db``
    (``dwp``, ``dbp``: scratch, (min(G, CHUNKS), P·K)). Rows (L = 1) two at a time when they share w
    (P = 1) and dw, db are wanted; segments with the sums of group g + 1 (Σg·w, Σg·w·x̂, and dw, db) in
    the loop that writes dx of group g."""
    S = K * L
    nch = min(G, CHUNKS)
    if need_affine:
        _check_scratch(dwp, nch, P * K)
        _check_scratch(dbp, nch, P * K)
    for c in prange(nch):
        _wide()
        g0 = c * G // nch
        g1 = (c + 1) * G // nch
        if need_affine:
            dwc = dwp[c]
            dbc = dbp[c]
            dwc[:] = 0.0
            dbc[:] = 0.0
        else:
            dwc = dbc = np.empty(0)  # not used
        if L == 1:
            # dx = rstd·(g·w − Σg·w/M − x̂·Σg·w·x̂/M) = (rstd·w)·g − β·(x − μ) − γ
            grp = g0
            while grp < g1:
                o = grp * K
                m = mean[grp]
                r = rstd[grp]
                p = (grp % P) * K
                if not need_affine:
                    # without dw, db each row's sums are a loop of their own
                    sgw, sgwx = _row_sums(g[o:o + K], x[o:o + K], w[p:p + K], m, r)
                    step = 1
                elif P == 1 and grp + 1 < g1:
                    m1 = mean[grp + 1]
                    r1 = rstd[grp + 1]
                    sgw, sgw1, sgwx, sgwx1 = _row_pair_sums(g[o:o + K], x[o:o + K], m, r, g[o + K:o + 2 * K],
                                                            x[o + K:o + 2 * K], m1, r1, w, dwc, dbc)
                    _dx_row(g[o + K:o + 2 * K], x[o + K:o + 2 * K], dx[o + K:o + 2 * K], m1, r1, w,
                            r1 * r1 * sgwx1 / K, r1 * sgw1 / K if center else 0.0)
                    step = 2
                else:
                    sgw, sgwx = _row_sums_affine(g[o:o + K], x[o:o + K], w[p:p + K], m, r, dwc[p:p + K],
                                                 dbc[p:p + K])
                    step = 1
                _dx_row(g[o:o + K], x[o:o + K], dx[o:o + K], m, r, w[p:p + K], r * r * sgwx / K,
                        r * sgw / K if center else 0.0)
                grp += step
            continue
        # the first group's sums
        o = g0 * S
        m = mean[g0]
        r = rstd[g0]
        p = (g0 % P) * K
        sgw = 0.0
        sgwx = 0.0
        for k in range(K):
            t1, t2 = _sum_dot(g[o + k * L:o + (k + 1) * L], x[o + k * L:o + (k + 1) * L], m)
            t2 *= r
            sgw += t1 * w[p + k]
            sgwx += t2 * w[p + k]
            if need_affine:
                dwc[p + k] += t2
                dbc[p + k] += t1
        for grp in range(g0, g1):
            o = grp * S
            m = mean[grp]
            r = rstd[grp]
            p = (grp % P) * K
            # dx = rstd·(g·w − Σg·w/M − x̂·Σg·w·x̂/M) = α·g − β·(x − μ) − γ
            beta = r * r * sgwx / S
            gamma = r * sgw / S if center else 0.0
            gs = g[o:o + S]
            xs = x[o:o + S]
            ds = dx[o:o + S]
            if grp + 1 == g1:
                for k in range(K):
                    _dx_segment(gs[k * L:(k + 1) * L], xs[k * L:(k + 1) * L], ds[k * L:(k + 1) * L], m,
                                r * w[p + k], beta, gamma)
                continue
            on = o + S
            mn = mean[grp + 1]
            rn = rstd[grp + 1]
            pn = ((grp + 1) % P) * K
            gn = g[on:on + S]
            xn = x[on:on + S]
            sgw = 0.0
            sgwx = 0.0
            for k in range(K):
                t1, t2 = _dx_segment_then_dot(gs[k * L:(k + 1) * L], xs[k * L:(k + 1) * L],
                                              ds[k * L:(k + 1) * L], m, r * w[p + k], beta, gamma,
                                              gn[k * L:(k + 1) * L], xn[k * L:(k + 1) * L], mn)
                t2 *= rn
                sgw += t1 * w[pn + k]
                sgwx += t2 * w[pn + k]
                if need_affine:
                    dwc[pn + k] += t2
                    dbc[pn + k] += t1
    if need_affine:
        _add_partials(dwp, dw, dbp, db)


# ---- by rows ------------------------------------------------------------------------------------

@njit(parallel=True, **_jit)
def _forward_rows(x, y, w, b, mean, var, rstd, cmean, cm2, A, G, K, L, P, eps, center, train, rows):
    """y = (x − μ)·rstd·w + b row after row, with per-column μ, rstd·w, b; ``train`` takes μ, σ² first
    (``cmean``, ``cm2``: scratch, (min(CHUNKS, ⌈A / rows⌉), G·K·L))."""
    S = K * L
    R = G * S
    if train:
        # All sums are of d = x − s, s being the first value of the column's group (0 when not
        # centered): per block of ``rows`` rows in one pass, Σd and Σd²; then means are kept as
        # offsets from s, so that merging them rounds relative to the spread, not to the mean.
        # As s is one of the group's M values, M·(s − μ)² ≤ M·M2, so Σd² = M2 + M·(s − μ)² ≤ (M + 1)·M2:
        # taking M2 from Σd² loses at most log2(M + 1) of float64's 53 bits.
        sh = np.empty(R)
        for j in range(R):
            sh[j] = x[(j // S) * S] if center else 0.0
        # per chunk of rows and per column: count, mean offset and M2 (in cmean, cm2, zeroed by
        # their own chunk, in its cache)
        nch = min(CHUNKS, (A + rows - 1) // rows)
        _check_scratch(cmean, nch, R)
        _check_scratch(cm2, nch, R)
        cn = np.zeros(nch)
        for c in prange(nch):
            _wide()
            s1 = np.empty(R)
            s2 = np.empty(R)
            mc = cmean[c]
            qc = cm2[c]
            mc[:] = 0.0
            qc[:] = 0.0
            n = 0
            hi = (c + 1) * A // nch
            for a0 in range(c * A // nch, hi, rows):
                a1 = min(a0 + rows, hi)
                nb = a1 - a0
                s1[:] = 0.0
                s2[:] = 0.0
                # (four rows per sweep over s1, s2: a quarter of their loads and stores)
                for a in range(a0, a1 - 3, 4):
                    x0, x1, x2, x3 = x[a * R:], x[(a + 1) * R:], x[(a + 2) * R:], x[(a + 3) * R:]
                    for j in range(R):
                        d0, d1, d2, d3 = x0[j] - sh[j], x1[j] - sh[j], x2[j] - sh[j], x3[j] - sh[j]
                        s1[j] += (d0 + d1) + (d2 + d3)
                        s2[j] += (d0 * d0 + d1 * d1) + (d2 * d2 + d3 * d3)
                for a in range(a1 - nb % 4, a1):
                    xs = x[a * R:(a + 1) * R]
                    for j in range(R):
                        d = xs[j] - sh[j]
                        s1[j] += d
                        s2[j] += d * d
                # merge the block into the chunk (Chan); the block's M2 is taken around its rounded
                # mean offset e, the one the merge uses: Σ(d − e)² = Σd² − e·(2·Σd − n·e)
                f = nb / (n + nb)
                h = n * f
                for j in range(R):
                    e = s1[j] / nb if center else 0.0
                    q = s2[j] - e * (2.0 * s1[j] - nb * e)
                    if q < 0.0:  # rounding; a NaN passes
                        q = 0.0
                    d = e - mc[j]
                    mc[j] += d * f
                    qc[j] += q + d * d * h
                n += nb
            cn[c] = n
        # merge the chunks, column by column, then the S columns of each group (offsets from the
        # group's s): μ − s = Σ n·(column offset) / M,  M·σ² = Σ M2 + Σ n·(column offset − (μ − s))²
        M = A * S
        col = np.zeros(R)
        for c in range(nch):
            for j in range(R):
                col[j] += cn[c] * cmean[c, j]
        mu = np.empty(R)  # μ − s of each column's group
        for grp in range(G):
            m = 0.0
            for j in range(grp * S, (grp + 1) * S):
                m += col[j]
            mean[grp] = sh[grp * S] + m / M
            for j in range(grp * S, (grp + 1) * S):
                mu[j] = m / M
        col[:] = 0.0
        for c in range(nch):
            for j in range(R):
                d = cmean[c, j] - mu[j]
                col[j] += cm2[c, j] + cn[c] * d * d
        for grp in range(G):
            q = 0.0
            for j in range(grp * S, (grp + 1) * S):
                q += col[j]
            var[grp] = q / M
            rstd[grp] = 1.0 / np.sqrt(q / M + eps)
    cm = np.empty(R)
    cs = np.empty(R)
    cb = np.empty(R)
    for grp in range(G):
        p = (grp % P) * K
        for k in range(K):
            for j in range((grp * K + k) * L, (grp * K + k + 1) * L):
                cm[j] = mean[grp]
                cs[j] = rstd[grp] * w[p + k]
                cb[j] = b[p + k]
    nch = min(A, CHUNKS)
    for c in prange(nch):
        _wide()
        for a in range(c * A // nch, (c + 1) * A // nch):
            xs = x[a * R:(a + 1) * R]
            ys = y[a * R:(a + 1) * R]
            for j in range(R):
                ys[j] = (xs[j] - cm[j]) * cs[j] + cb[j]


@njit(parallel=True, **_jit)
def _backward_rows(g, x, mean, rstd, w, dx, dw, db, p1, p2, A, G, K, L, P, center, train, need_dx, need_affine):
    """dx (into ``dx``), and dw, db added into ``dw``, ``db``, row after row (``p1``, ``p2``: scratch,
    (min(A, CHUNKS), G·K·L), for per chunk column sums)."""
    S = K * L
    R = G * S
    M = A * S
    cm = np.empty(R)
    for grp in range(G):
        for j in range(grp * S, (grp + 1) * S):
            cm[j] = mean[grp]
    s1 = np.zeros((G, K))  # Σg per (g, k)
    s2 = np.zeros((G, K))  # Σg·x̂ per (g, k)
    if train or need_affine:
        nch = min(A, CHUNKS)
        _check_scratch(p1, nch, R)
        _check_scratch(p2, nch, R)
        for c in prange(nch):
            _wide()
            t1 = p1[c]
            t2 = p2[c]
            t1[:] = 0.0
            t2[:] = 0.0
            a0 = c * A // nch
            a1 = (c + 1) * A // nch
            # (four rows per sweep over t1, t2, as in the forward)
            for a in range(a0, a1 - 3, 4):
                g0, g1, g2, g3 = g[a * R:], g[(a + 1) * R:], g[(a + 2) * R:], g[(a + 3) * R:]
                x0, x1, x2, x3 = x[a * R:], x[(a + 1) * R:], x[(a + 2) * R:], x[(a + 3) * R:]
                for j in range(R):
                    m = cm[j]
                    t1[j] += (np.float64(g0[j]) + g1[j]) + (np.float64(g2[j]) + g3[j])
                    t2[j] += (g0[j] * (x0[j] - m) + g1[j] * (x1[j] - m)) + (g2[j] * (x2[j] - m) + g3[j] * (x3[j] - m))
            for a in range(a1 - (a1 - a0) % 4, a1):
                gs = g[a * R:(a + 1) * R]
                xs = x[a * R:(a + 1) * R]
                for j in range(R):
                    t1[j] += gs[j]
                    t2[j] += gs[j] * (xs[j] - cm[j])
        # merge the chunks column by column, then the L columns of each (g, k)
        col1 = np.zeros(R)
        col2 = np.zeros(R)
        _add_partials(p1, col1, p2, col2)
        for grp in range(G):
            for k in range(K):
                for j in range((grp * K + k) * L, (grp * K + k + 1) * L):
                    s1[grp, k] += col1[j]
                    s2[grp, k] += col2[j]
                s2[grp, k] *= rstd[grp]
        if need_affine:
            for grp in range(G):
                p = (grp % P) * K
                for k in range(K):
                    dw[p + k] += s2[grp, k]
                    db[p + k] += s1[grp, k]
    if not need_dx:
        return
    # dx = α·g − β·(x − μ) − γ with one α, β, γ per column
    alpha = np.empty(R)
    beta = np.zeros(R)
    gamma = np.zeros(R)
    for grp in range(G):
        r = rstd[grp]
        p = (grp % P) * K
        sgw = 0.0
        sgwx = 0.0
        for k in range(K):
            sgw += s1[grp, k] * w[p + k]
            sgwx += s2[grp, k] * w[p + k]
        for k in range(K):
            for j in range((grp * K + k) * L, (grp * K + k + 1) * L):
                alpha[j] = r * w[p + k]
                if train:
                    beta[j] = r * r * sgwx / M
                    if center:
                        gamma[j] = r * sgw / M
    nch = min(A, CHUNKS)
    for c in prange(nch):
        _wide()
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


# ---- the contract -------------------------------------------------------------------------------

_loaded = set()  # (kernel, dtype) pairs already run in this process
_NO_SCRATCH = np.empty((0, 0))  # for a kernel that needs no scratch on this call


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


def _run(kernel, x, *args):
    """``kernel(x, *args)``. Its first run for x's dtype loads it from numba's cache (or compiles it),
    with Python's cycle collector paused: loading allocates so many objects that full collections
    would take about half of that time."""
    key = (kernel, x.dtype.char)
    if key in _loaded:
        return kernel(x, *args)
    with gc_paused():
        out = kernel(x, *args)
    _loaded.add(key)
    return out


def _by_rows(A, G, K, L):
    """Rows are walked whole when a group is many short strided segments (BatchNorm on (N, C))."""
    return A > 1 and K * L < SHORT


def _affine(vec, P, K, fill):
    """The affine vector as float64 of length P·K (``fill`` where it is None)."""
    if vec is None:
        return np.full(P * K, fill)
    return np.ascontiguousarray(vec, dtype=np.float64).reshape(P * K)


def _native(*arrays):
    """The arrays, contiguous and flat, as float32 or float64 of one dtype; None where the reference must run."""
    dt = arrays[0].dtype
    if arrays[0].size == 0 or any(a.dtype.kind != "f" for a in arrays):
        return None
    if dt.char in "fd" and all(a.dtype == dt and a.flags.c_contiguous for a in arrays):
        return [a.reshape(-1) for a in arrays]
    if dt.char not in "fd" or any(a.dtype != dt for a in arrays):
        dt = np.float64
    return [np.ascontiguousarray(a, dtype=dt).reshape(-1) for a in arrays]


def _stats(v):
    return np.ascontiguousarray(v, dtype=np.float64)


def _forward(xc, w, b, mean, var, rstd, shape, P, eps, center, train):
    A, G, K, L = shape
    y = buffers.empty(xc.shape, xc.dtype)
    if _by_rows(A, G, K, L):
        rows = max(1, BLOCK_BYTES // (G * K * L * xc.itemsize))
        cmean = cm2 = _NO_SCRATCH
        if train:
            cmean, cm2 = _scratch_pair(min(CHUNKS, (A + rows - 1) // rows), G * K * L)
        _run(_forward_rows, xc, y, w, b, mean, var, rstd, cmean, cm2, A, G, K, L, P, float(eps), bool(center),
             train, rows)
    elif train and A == 1 and L > 1:
        _run(_forward_segments, xc, y, w, b, mean, var, rstd, G, K, L, P, float(eps), bool(center))
    elif train:
        _run(_forward_groups, xc, y, w, b, mean, var, rstd, A, G, K, L, P, float(eps), bool(center))
    else:
        _run(_forward_fixed, xc, y, w, b, mean, rstd, A, G, K, L, P)
    return y


def forward_train(x, weight, bias, P, eps, center=True):
    """Normalize with the statistics of ``x`` itself. Returns ``y, mean, var`` (biased, float64, shape (G,))."""
    _use_threads()
    arrs = _native(x)
    if arrs is None:
        return norm_numpy.forward_train(x, weight, bias, P, eps, center)
    G, K = x.shape[1], x.shape[2]
    mean, var, rstd = np.zeros(G), np.empty(G), np.empty(G)
    y = _forward(arrs[0], _affine(weight, P, K, 1.0), _affine(bias, P, K, 0.0), mean, var, rstd,
                 x.shape, P, eps, center, True)
    return y.reshape(x.shape).astype(x.dtype, copy=False), mean, var


def forward_eval(x, mean, rstd, weight, bias, P):
    """Normalize with given statistics (float64, shape (G,)): one pass."""
    _use_threads()
    arrs = _native(x)
    if arrs is None:
        return norm_numpy.forward_eval(x, mean, rstd, weight, bias, P)
    K = x.shape[2]
    y = _forward(arrs[0], _affine(weight, P, K, 1.0), _affine(bias, P, K, 0.0), _stats(mean), np.empty(0),
                 _stats(rstd), x.shape, P, 0.0, True, False)
    return y.reshape(x.shape).astype(x.dtype, copy=False)


def backward(g, x, mean, rstd, weight, P, center=True, train=True, need_dx=True, need_affine=True):
    """Gradients ``dx`` (x's dtype), ``dw`` and ``db`` (float64, length P·K) of ``y = w·x̂ + b``."""
    _use_threads()
    arrs = _native(g, x)
    if arrs is None or not (need_dx or need_affine):
        return norm_numpy.backward(g, x, mean, rstd, weight, P, center, train, need_dx, need_affine)
    gc, xc = arrs
    A, G, K, L = x.shape
    dx = buffers.empty(xc.shape, xc.dtype) if need_dx else np.empty(0, xc.dtype)
    dw, db = np.zeros(P * K), np.zeros(P * K)
    mean, rstd, w = _stats(mean), _stats(rstd), _affine(weight, P, K, 1.0)
    if _by_rows(A, G, K, L):
        # scratch for per chunk column sums
        p1 = p2 = _NO_SCRATCH
        if train or need_affine:
            p1, p2 = _scratch_pair(min(A, CHUNKS), G * K * L)
        _run(_backward_rows, gc, xc, mean, rstd, w, dx, dw, db, p1, p2, A, G, K, L, P, bool(center),
             bool(train), bool(need_dx), bool(need_affine))
    else:
        # scratch for per chunk dw, db
        dwp = dbp = _NO_SCRATCH
        if need_affine:
            dwp, dbp = _scratch_pair(min(G, CHUNKS), P * K)
        if train and need_dx and A == 1:
            _run(_backward_segments, gc, xc, mean, rstd, w, dx, dw, db, dwp, dbp, G, K, L, P, bool(center),
                 bool(need_affine))
        else:
            _run(_backward_groups, gc, xc, mean, rstd, w, dx, dw, db, dwp, dbp, A, G, K, L, P, bool(center),
                 bool(train), bool(need_dx), bool(need_affine))
    dx = dx.reshape(x.shape).astype(x.dtype, copy=False) if need_dx else None
    return dx, (dw if need_affine else None), (db if need_affine else None)
