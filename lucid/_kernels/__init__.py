"""Kernels: hot loops on plain arrays, no Tensor, no autograd.

``norm()`` returns the module that holds the normalization kernels
(``forward_train``, ``forward_eval``, ``backward``; see norm_numpy.py for their
contract). For now it is the NumPy reference; the compiled kernels replace it
when they land.
"""
from . import norm_numpy


def norm():
    return norm_numpy
