"""lucid against PyTorch: the two checks most differential tests are made of."""

import numpy as np
import torch

import lucid

TOL = dict(rtol=1e-10, atol=1e-10)


def close(a, b, **tol):
    """``a`` (lucid Tensor or array) equals ``b`` (torch tensor or array) in shape, and in value to 1e-10."""
    a = a.data if isinstance(a, lucid.Tensor) else np.asarray(a)
    b = b.detach().numpy() if isinstance(b, torch.Tensor) else np.asarray(b)
    assert a.shape == b.shape, (a.shape, b.shape)
    np.testing.assert_allclose(a, b, **(tol or TOL))


def differential(lucid_fn, torch_fn, arrays, rng, diff=None):
    """Output and the gradient of every differentiable argument, lucid against PyTorch; returns lucid's output.

    ``arrays``: the arguments (None stays None); float arrays become leaves that require grad, unless
    ``diff`` (one bool per argument) says otherwise. The backward is seeded with the same random gradient.
    """
    if diff is None:
        diff = [a is not None and np.issubdtype(np.asarray(a).dtype, np.floating) for a in arrays]
    ls = [None if a is None else lucid.Tensor(a, requires_grad=d) for a, d in zip(arrays, diff)]
    ts = [None if a is None else torch.tensor(a, requires_grad=d) for a, d in zip(arrays, diff)]
    y, ty = lucid_fn(*ls), torch_fn(*ts)
    close(y, ty)
    gy = rng.standard_normal(y.shape)
    y.backward(gy)
    ty.backward(torch.tensor(gy))
    for l, t, d in zip(ls, ts, diff):
        if d:
            close(l.grad, t.grad)
    return y
