"""Finite-difference check of a backward: central differences in float64."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .._tensor import Tensor


def gradcheck(
    fn: Callable[..., Any],
    inputs: Tensor | Sequence[Any],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
) -> bool:
    """Compare the analytic gradient of ``fn(*inputs)`` with central differences.

    Every input that requires grad must be float64. The outputs are projected on a
    fixed random direction ``v`` and the check compares ``d(Σ v·fn)/dx`` from
    backward with ``(f(x + eps) − f(x − eps)) / 2eps``, one element of x at a time.
    Returns True, or raises AssertionError (or returns False) naming the worst mismatch.

    >>> import lucid
    >>> x = lucid.randn(3, 2, dtype=lucid.float64, requires_grad=True)
    >>> lucid.autograd.gradcheck(lambda t: (t * t).tanh(), (x,))
    True
    """
    from .._tensor import Tensor
    from .engine import run_backward
    from .grad_mode import no_grad

    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    diff = [t for t in inputs if isinstance(t, Tensor) and t.requires_grad]
    for t in diff:
        if t.dtype != np.float64:
            raise ValueError(f"gradcheck needs float64 inputs for precision (got {t.dtype})")
        if not (t.data.flags.c_contiguous and t.data.flags.writeable):
            t.data = np.array(t.data)  # so the perturbations below write into t itself

    def outputs():
        out = fn(*inputs)
        return list(out) if isinstance(out, (tuple, list)) else [out]

    outs = outputs()
    rng = np.random.default_rng(0)
    vs = [rng.standard_normal(o.shape) for o in outs]
    live = [(o, v) for o, v in zip(outs, vs) if o.requires_grad]
    analytic = run_backward([o for o, _ in live], [v for _, v in live], capture=diff) if live else [None] * len(diff)

    def projected():
        with no_grad():
            return sum(float(np.sum(o.data * v)) for o, v in zip(outputs(), vs))

    for k, t in enumerate(diff):
        num = np.zeros(t.shape)
        flat, num_flat = t.data.reshape(-1), num.reshape(-1)
        for i in range(flat.size):
            orig = flat[i]
            flat[i] = orig + eps
            fp = projected()
            flat[i] = orig - eps
            fm = projected()
            flat[i] = orig
            num_flat[i] = (fp - fm) / (2 * eps)
        ana = np.zeros(t.shape) if analytic[k] is None else analytic[k]
        if not np.allclose(ana, num, atol=atol, rtol=rtol):
            i = np.unravel_index(np.argmax(np.abs(ana - num)), t.shape) if t.ndim else ()
            msg = (
                f"gradcheck: gradient of input {k} (shape {t.shape}) differs from finite differences; "
                f"at index {tuple(int(j) for j in i)}: analytic {float(ana[i])!r}, numerical {float(num[i])!r}"
            )
            if raise_exception:
                raise AssertionError(msg)
            return False
    return True
