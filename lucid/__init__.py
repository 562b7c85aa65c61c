"""lucid: a deep learning library written from scratch in Python, with PyTorch's API, to be read."""

from . import _dtype, autograd, random
from . import ops as _ops
from ._dtype import bool_, double, float16, float32, float64, half, int32, int64, long
from ._tensor import Tensor
from .autograd.grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .creation import (
    arange,
    empty,
    empty_like,
    eye,
    full,
    full_like,
    linspace,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randint_like,
    randn,
    randn_like,
    tensor,
    zeros,
    zeros_like,
)
from .ops import (
    abs,
    add,
    argmax,
    argmin,
    argsort,
    baddbmm,
    bitwise_and,
    bitwise_not,
    bitwise_or,
    bitwise_xor,
    bmm,
    cat,
    chunk,
    clamp,
    clip,
    clone,
    concat,
    concatenate,
    cos,
    cumsum,
    div,
    einsum,
    eq,
    exp,
    expand,
    flatten,
    gather,
    ge,
    gt,
    index_add,
    le,
    log,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    lt,
    masked_fill,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    mul,
    multinomial,
    ne,
    neg,
    pad,
    permute,
    pow,
    relu,
    reshape,
    rsqrt,
    scatter_add,
    sigmoid,
    sin,
    sort,
    split,
    sqrt,
    squeeze,
    stack,
    std,
    sub,
    sum,
    tanh,
    topk,
    transpose,
    tril,
    triu,
    unsqueeze,
    var,
    view,
    where,
)
from .random import seed as manual_seed


def is_tensor(obj):
    return isinstance(obj, Tensor)


__version__ = "0.1.0"
from . import (  # noqa: E402
    backends,  # noqa: E402
    data,
    nn,
    optim,
)
from .backends import empty_cache, get_num_threads, set_num_threads  # noqa: E402
from .serialization import *  # noqa: E402,F401,F403  save, load
