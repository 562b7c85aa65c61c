"""In-place operations: ``x += y``, ``x.add_(y)``, ``F.relu(x, inplace=True)``.

Outside a graph the new values are simply written into x's array. Inside one (grad mode on, and x
or an operand requires grad) lucid records the change as PyTorch does in effect: the op runs out
of place on a stand-in for x's old value (same node of the graph), the result is written back into
x's array, and x becomes the result's node. Every name bound to x sees both the new values and
the new history; a backward that saved x's old array finds its version changed and raises.

Two cases cannot be recorded and raise, so that nothing is silently wrong: a leaf that requires
grad (PyTorch raises too), and a tensor whose memory another tensor shares (a view, a tensor that
has views, a ``detach()``): the other tensor would keep a history that no longer matches its values.
"""

from collections.abc import Callable

import numpy as np

from .._tensor import Tensor
from .grad_mode import is_grad_enabled


def records(x: Tensor, *operands) -> bool:
    """Whether an in-place change of ``x`` with these operands goes into the graph."""
    return is_grad_enabled() and any(isinstance(t, Tensor) and t.requires_grad for t in (x, *operands))


def change(x: Tensor, compute: Callable[[Tensor], Tensor], what: str, reads_x: bool = True, operands=()) -> Tensor:
    """``x`` changed in place to ``compute(x)``, recorded in the graph when ``records(x, *operands)``.

    ``reads_x``: the op's backward reads its input's values (the stand-in then holds a copy of them,
    since x's array is overwritten)."""
    if not records(x, *operands):
        out = compute(x)
        _write(x, out, what)
        return x
    if x.requires_grad and x._ctx is None:
        raise RuntimeError(
            f"{what}: a leaf Tensor that requires grad cannot be modified in place; "
            "wrap the update in `with lucid.no_grad():`"
        )
    if x._vc.shared:
        raise RuntimeError(
            f"{what}: this tensor shares its memory with another tensor (it is a view, has views, or was "
            "detached), and lucid cannot record an in-place change through shared memory inside a graph; "
            "use the out-of-place form (x = x + y)"
        )
    old = Tensor._from_array(x.data.copy() if reads_x else x.data)
    old.requires_grad, old._ctx, old._out_index = x.requires_grad, x._ctx, x._out_index
    out = compute(old)
    _write(x, out, what)
    hooks = x.__dict__.pop("_grad_hooks", None)
    if hooks:  # the hooks registered so far belong to x's old value (its node keeps them), as in PyTorch
        old.__dict__["_grad_hooks"] = hooks
        x._ctx.__dict__.setdefault("earlier", {})[x._out_index] = old
    x.requires_grad, x._ctx, x._out_index = out.requires_grad, out._ctx, out._out_index
    return x


def _write(x, out, what):
    if out.shape != x.shape:
        raise RuntimeError(
            f"{what}: output with shape {list(x.shape)} doesn't match the broadcast shape {list(out.shape)}"
        )
    if not np.can_cast(out.dtype, x.dtype, casting="same_kind"):
        raise RuntimeError(f"{what}: result type {out.dtype} can't be cast to the desired output type {x.dtype}")
    np.copyto(x.data, out.data, casting="same_kind")
    x._bump()
