"""The softmax kernels in NumPy: the specification the compiled backend must match.

Arrays are viewed ``(A, D, B)`` with the softmax taken along D (the ``dim`` of the call). With
m = max x along D (so no exp overflows)::

    softmax      y = e^(x−m) / Σ e^(x−m)            dx = y·(g − Σ g·y)
    log_softmax  y = x − m − log Σ e^(x−m)          dx = g − eʸ·Σ g
"""

import numpy as np


def _max(x):
    """m along D; 0 (no shift) for an empty D, whose softmax is empty."""
    if x.shape[1] == 0:
        return np.zeros((x.shape[0], 1, x.shape[2]), x.dtype)
    return np.max(x, axis=1, keepdims=True)


def softmax_forward(x):
    e = np.exp(x - _max(x))
    return e / e.sum(axis=1, keepdims=True)


def softmax_backward(g, y):
    return y * (g - np.sum(g * y, axis=1, keepdims=True))


@np.errstate(divide="ignore")  # log Σ over an empty D is log 0: nothing uses it
def log_softmax_forward(x):
    shifted = x - _max(x)
    return shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))


def log_softmax_backward(g, y):
    return g - np.exp(y) * np.sum(g, axis=1, keepdims=True)


def cross_entropy_forward(x, target, w):
    """Cross-entropy of rows of logits x ``(N, C)`` against class indices ``target`` (N,), each row
    weighted by w (float64 (N,), 0 for an ignored row): loss = w·(lse − x_y), lse = log Σ eˣ.
    Returns the loss (x's dtype) and lse (float64), which the backward takes."""
    x64 = x.astype(np.float64)
    m = np.max(x64, axis=1)
    lse = m + np.log(np.sum(np.exp(x64 - m[:, None]), axis=1))
    picked = np.take_along_axis(x64, target[:, None], axis=1)[:, 0]
    return (w * (lse - picked)).astype(x.dtype), lse


def cross_entropy_backward(g, x, target, w, lse):
    """dx = g·w·(softmax(x) − onehot(target)), g (N,) the gradient of each row's loss."""
    dx = np.exp(x.astype(np.float64) - lse[:, None])
    dx[np.arange(x.shape[0]), target] -= 1
    return (dx * (g * w)[:, None]).astype(x.dtype)
