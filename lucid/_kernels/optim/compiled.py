"""The optimizer updates compiled with numba: one pass per parameter, the calls of reference.py.

Each element of p, g and the state is read once and written once. The arithmetic is that of the
reference, in the same order, in float64 whatever the dtype: float64 parameters get the reference's
results exactly, float32 ones the float64 results rounded once where the reference stores them (p and
each state array, the rounded value used from there on), so within an ulp or two of the reference's
float32 steps, each rounded on its own. Options are taken outside the loops or as selects, so every
loop vectorizes. Large parameters are cut in chunks across threads.
"""

import math

import numpy as np
from numba import njit, prange, types
from numba.extending import overload

from ..jit import CHUNKS, JIT, PARALLEL_MIN, formula, kernel, run, use_threads
from . import reference


def _stored(x, a):
    raise NotImplementedError("compiled code only")


@overload(_stored, inline="always")
def _stored_typed(x, a):
    """The float64 x as an element of the array a holds it (rounded to float32 for a float32 a)."""
    if a.dtype == types.float32:
        return lambda x, a: np.float32(x)
    return lambda x, a: x


@njit(**JIT)
def _sgd_span(p, g, buf, lr, momentum, damp, wd, sign, nesterov, first, lo, hi):
    """The SGD step on p[lo:hi]; ``sign`` is −1 to maximize, else 1 (both exact); ``buf`` is unused where
    ``momentum`` is 0."""
    p, g = p[lo:hi], g[lo:hi]
    decay = wd != 0
    if momentum == 0:
        for i in range(p.size):
            pi = np.float64(p[i])
            d = sign * np.float64(g[i])
            d = pi * wd + d if decay else d
            p[i] = pi - d * lr
        return
    buf = buf[lo:hi]
    for i in range(p.size):
        pi = np.float64(p[i])
        d = sign * np.float64(g[i])
        d = pi * wd + d if decay else d
        b = d if first else np.float64(buf[i]) * momentum + damp * d
        b = _stored(b, buf)
        buf[i] = b
        u = b * momentum + d if nesterov else b
        p[i] = pi - u * lr


@kernel(JIT)
def _sgd(p, g, buf, lr, momentum, damp, wd, sign, nesterov, first, chunks):
    n = p.size
    for c in prange(chunks):
        _sgd_span(p, g, buf, lr, momentum, damp, wd, sign, nesterov, first, c * n // chunks, (c + 1) * n // chunks)


@formula
def _moments(p, g, m, v, i, sign, l2, decay, coupled, c1, beta2, c2):
    """Element i: p scaled by ``decay``, the gradient (with ``l2``·p when ``coupled``), and the moments
    m ← m + (g − m)·(1 − β₁), v ← β₂·v + (1 − β₂)·g², stored; returns p, m, v as float64."""
    pi = np.float64(p[i]) * decay
    gi = sign * np.float64(g[i])
    gi = gi + l2 * pi if coupled else gi
    mi = np.float64(m[i])
    mi = _stored(mi + (gi - mi) * c1, m)
    m[i] = mi
    vi = _stored(np.float64(v[i]) * beta2 + (gi * gi) * c2, v)
    v[i] = vi
    return pi, mi, vi


@njit(**JIT)
def _adam_span(p, g, m, v, vmax, sign, l2, decay, c1, beta2, c2, bc2, eps, step_size, amsgrad, lo, hi):
    """The Adam step on p[lo:hi]; ``l2`` the weight decay added to the gradient, ``decay`` the factor p is
    scaled by first (1 where there is none: exact), ``c1`` = 1 − β₁, ``c2`` = 1 − β₂, ``bc2`` = √(1 − β₂ᵗ);
    ``vmax`` is unused without ``amsgrad``."""
    p, g, m, v = p[lo:hi], g[lo:hi], m[lo:hi], v[lo:hi]
    coupled = l2 != 0
    if amsgrad:
        vmax = vmax[lo:hi]
        for i in range(p.size):
            pi, mi, vi = _moments(p, g, m, v, i, sign, l2, decay, coupled, c1, beta2, c2)
            wi = np.float64(vmax[i])
            wi = vi if vi > wi or vi != vi else wi  # np.maximum: a NaN on either side wins
            vmax[i] = wi
            p[i] = pi - (mi / (math.sqrt(wi) / bc2 + eps)) * step_size
        return
    for i in range(p.size):
        pi, mi, vi = _moments(p, g, m, v, i, sign, l2, decay, coupled, c1, beta2, c2)
        p[i] = pi - (mi / (math.sqrt(vi) / bc2 + eps)) * step_size


@kernel(JIT)
def _adam(p, g, m, v, vmax, sign, l2, decay, c1, beta2, c2, bc2, eps, step_size, amsgrad, chunks):
    n = p.size
    for c in prange(chunks):
        lo, hi = c * n // chunks, (c + 1) * n // chunks
        _adam_span(p, g, m, v, vmax, sign, l2, decay, c1, beta2, c2, bc2, eps, step_size, amsgrad, lo, hi)


def _native(p, g, *state):
    """g as a C-contiguous array, where p and every state array are C-contiguous, writable and of p's
    dtype (float32 or float64) and g of that dtype too; None where the reference must run."""
    dt = p.dtype
    if dt.char not in "fd" or p.size == 0 or g.dtype != dt:
        return None
    for a in (p, *state):
        if a.dtype != dt or not a.flags.c_contiguous or not a.flags.writeable:
            return None
    return np.ascontiguousarray(g)


def _launch(twins, p, *args):
    use_threads()
    if p.size < PARALLEL_MIN:
        run(twins.serial, p.reshape(-1), *args, 1)
    else:
        run(twins.parallel, p.reshape(-1), *args, min(CHUNKS, p.size // (PARALLEL_MIN // 4)))


def sgd(p, g, buf, lr, momentum, dampening, weight_decay, nesterov, maximize, first_step):
    state = () if momentum == 0 else (buf,)
    gc = _native(p, g, *state)
    if gc is None:
        return reference.sgd(p, g, buf, lr, momentum, dampening, weight_decay, nesterov, maximize, first_step)
    b = (buf if momentum != 0 else p).reshape(-1)  # p stands in for the buffer that is not read
    args = (float(lr), float(momentum), float(1 - dampening), float(weight_decay), -1.0 if maximize else 1.0)
    _launch(_sgd, p, gc.reshape(-1), b, *args, bool(nesterov), bool(first_step))


sgd.__doc__ = reference.sgd.__doc__


def adam(p, g, m, v, vmax, step, lr, beta1, beta2, eps, weight_decay, decoupled, amsgrad, maximize):
    state = (m, v, vmax) if amsgrad else (m, v)
    gc = _native(p, g, *state)
    if gc is None:
        return reference.adam(p, g, m, v, vmax, step, lr, beta1, beta2, eps, weight_decay, decoupled, amsgrad, maximize)
    decay = 1 - lr * weight_decay if decoupled and weight_decay != 0 else 1.0
    l2 = 0.0 if decoupled else float(weight_decay)
    bc2 = (1 - beta2**step) ** 0.5
    step_size = lr / (1 - beta1**step)
    flat = [a.reshape(-1) for a in (gc, m, v, vmax if amsgrad else m)]
    args = (-1.0 if maximize else 1.0, l2, float(decay), float(1 - beta1), float(beta2), float(1 - beta2))
    _launch(_adam, p, *flat, *args, float(bc2), float(eps), float(step_size), bool(amsgrad))


adam.__doc__ = reference.adam.__doc__
