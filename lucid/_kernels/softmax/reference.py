"""The softmax kernels in NumPy: the specification the compiled backend must match.

Arrays are viewed ``(A, D, B)`` with the softmax taken along D (the ``dim`` of the call). With
m = max x along D (so no exp overflows)::

    softmax      y = e^(x−m) / Σ e^(x−m)            dx = y·(g − Σ g·y)
    log_softmax  y = x − m − log Σ e^(x−m)          dx = g − eʸ·Σ g
"""
import numpy as np


def softmax_forward(x):
    e = np.exp(x - np.max(x, axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def softmax_backward(g, y):
    return y * (g - np.sum(g * y, axis=1, keepdims=True))


def log_softmax_forward(x):
    shifted = x - np.max(x, axis=1, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))


def log_softmax_backward(g, y):
    return g - np.exp(y) * np.sum(g, axis=1, keepdims=True)
