"""``einsum``: sums of products named by subscripts, e.g. ``einsum("bhqd,bhkd->bhqk", q, k)``.

The backward is an einsum too. For ``y = einsum("A,B->C", a, b)`` the gradient of
``a`` is ``einsum("C,B->A", g, b)``: each element of ``a`` collects g times the
operands it was multiplied with. Three cases need care:

* a letter only ``a`` has (summed over inside ``a`` alone) is absent from the
  right-hand side, so the product is taken without it and broadcast along it;
* a size-1 axis that ``...`` broadcast against the other operands collects
  the sum of the gradient along it;
* a letter repeated in ``a`` (``"ii->i"``, a diagonal) picks the diagonal: the
  gradient is written into the diagonal of a zero array (``np.einsum`` of a
  repeated letter returns a writable view of that diagonal).
"""

from collections.abc import Sequence

import numpy as np

from .._tensor import Tensor
from ..autograd.function import Function

__all__ = ["einsum"]

_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _parse(equation, shapes):
    """(input subscripts, output subscripts), with '...' spelled out as letters and '->' made explicit."""
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise ValueError(f"einsum(): {len(terms)} operand(s) in the equation {equation!r}, {len(shapes)} given")
    used = set(eq.replace(".", "").replace("-", "").replace(">", "").replace(",", ""))
    for ch in used:
        if ch not in _LETTERS:
            raise ValueError(f"einsum(): invalid subscript {ch!r} in the equation {equation!r}")
    free = [c for c in _LETTERS if c not in used]
    n_ell = max((len(s) - (len(t) - 3) for t, s in zip(terms, shapes) if "..." in t), default=0)
    ell = "".join(free[:n_ell])
    subs = []
    for t, s in zip(terms, shapes):
        if "..." in t:
            k = len(s) - (len(t) - 3)
            t = t.replace("...", ell[n_ell - k :])
        if len(t) != len(s):
            raise ValueError(f"einsum(): the subscripts {t!r} do not match an operand of shape {tuple(s)}")
        subs.append(t)
    if arrow:
        out = rhs.replace("...", ell)
    else:  # implicit output: the ellipsis letters, then every letter used once, in alphabetical order
        counts = {c: "".join(subs).count(c) for c in set("".join(subs))}
        out = ell + "".join(sorted(c for c, n in counts.items() if n == 1 and c not in ell))
    return subs, out


def _grad_of(i, subs, out, g, operands):
    """∂L/∂operand i: einsum of g and the other operands back to operand i's subscripts."""
    target, shape = subs[i], operands[i].shape
    present = set(out).union(*(set(s) for j, s in enumerate(subs) if j != i))
    unique = "".join(dict.fromkeys(target))  # each letter once, in order
    kept = "".join(c for c in unique if c in present)
    others = [(s, operands[j]) for j, s in enumerate(subs) if j != i]
    eq = ",".join([out] + [s for s, _ in others]) + "->" + kept
    small = np.einsum(eq, g, *[o for _, o in others], optimize=len(others) > 1)
    sizes = dict(zip(target, shape))
    # a size-1 axis of operand i that was broadcast against the others: its gradient is the sum along it
    spread = tuple(k for k, c in enumerate(kept) if sizes[c] == 1 and small.shape[k] != 1)
    if spread:
        small = small.sum(axis=spread, keepdims=True)
    # broadcast along the letters only operand i has
    full = np.broadcast_to(
        np.expand_dims(small, [k for k, c in enumerate(unique) if c not in present]), [sizes[c] for c in unique]
    )
    if len(unique) == len(target):
        return (
            np.ascontiguousarray(np.transpose(full, [unique.index(c) for c in target]))
            if unique != target
            else np.array(full)
        )
    grad = np.zeros(shape, dtype=g.dtype)
    np.einsum(f"{target}->{unique}", grad)[...] = full  # the diagonal view of a repeated letter
    return grad


class Einsum(Function):
    """y = einsum(subscripts, *operands);  d operand i = einsum(g, other operands → subscripts of operand i)."""

    saves = ()  # narrowed in forward: the operands (positions 1, 2, …)

    @staticmethod
    def forward(ctx, equation, *operands):
        needs = ctx.needs_input_grad[1:]
        # operand i is read for the gradient of every other operand (its own needs only its shape)
        ctx.saves = tuple(i + 1 for i in range(len(operands)) if any(n for j, n in enumerate(needs) if j != i))
        subs, out = _parse(equation, [o.shape for o in operands])
        eq = ",".join(subs) + "->" + out
        try:
            y = np.einsum(eq, *operands, optimize=len(operands) > 2)
        except ValueError as e:
            raise RuntimeError(f"einsum(): operands do not match the equation {equation!r}: {e}") from None
        ctx.subs, ctx.out = subs, out
        ctx.save_for_backward(*operands)
        return y

    @staticmethod
    def backward(ctx, g):
        operands = ctx.saved_tensors
        grads = [
            _grad_of(i, ctx.subs, ctx.out, g, operands) if ctx.needs_input_grad[i + 1] else None
            for i in range(len(operands))
        ]
        return (None, *grads)


def einsum(equation: str, *operands: Tensor | Sequence[Tensor]) -> Tensor:
    """``einsum("ij,jk->ik", a, b)``: NumPy's / PyTorch's Einstein summation (with ``...``); the operands may
    also come as one list."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    for o in operands:
        if not isinstance(o, Tensor):
            raise TypeError(f"einsum(): operands must be Tensors, not {type(o).__name__}")
    return Einsum.apply(equation, *operands)
