"""lucid: a deep learning library written from scratch in Python, with PyTorch's API, to be read."""
from . import _dtype
from ._dtype import bool_, float16, float32, float64, int32, int64, double, half, long
from ._tensor import Tensor
from .autograd.grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from . import ops as _ops
from .ops import (argsort, baddbmm, bmm, cos, cumsum, einsum, gather, index_add, masked_fill, multinomial,
                  scatter_add, sin, sort, topk, tril, triu)
from .ops import (abs, add, argmax, argmin, bitwise_and, bitwise_not, bitwise_or, bitwise_xor, cat, chunk, clamp,
                  clip, clone, concat, concatenate, div, eq, exp, expand, flatten, ge, gt, le, log, logical_and,
                  logical_not, logical_or, logical_xor, lt, matmul, max, maximum, mean, min, minimum, mul, ne, neg,
                  pad, permute, pow, relu, reshape, rsqrt, sigmoid, split, sqrt, squeeze, stack, std, sub, sum, tanh,
                  transpose, unsqueeze, var, view, where)
from .creation import (arange, empty, empty_like, eye, full, full_like, linspace, ones, ones_like, rand, rand_like,
                       randint, randint_like, randn, randn_like, tensor, zeros, zeros_like)
from . import random
from .random import seed as manual_seed
from . import autograd


def is_tensor(obj):
    return isinstance(obj, Tensor)


__version__ = "0.1.0"
from . import nn, optim, data  # noqa: E402
from .serialization import *  # noqa: E402,F401,F403  save, load
from . import backends  # noqa: E402
from .backends import empty_cache, get_num_threads, set_num_threads  # noqa: E402
