"""Matrix product with NumPy's batching and broadcasting rules."""
import numpy as np

from ..autograd.function import Function


class MatMul(Function):
    """y = a @ b;  da = g @ bᵀ,  db = aᵀ @ g (batch dims summed back by the engine)."""

    @staticmethod
    def forward(ctx, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError("matmul: both arguments need at least 1 dimension (got a 0-d tensor)")
        ka = a.shape[-1]
        kb = b.shape[-2] if b.ndim > 1 else b.shape[0]
        if ka != kb:
            raise ValueError(f"matmul: shapes {tuple(a.shape)} and {tuple(b.shape)} cannot be multiplied ({ka} != {kb})")
        try:
            y = np.matmul(a, b)
        except ValueError:
            raise ValueError(f"matmul: batch dimensions of shapes {tuple(a.shape)} and {tuple(b.shape)} do not broadcast") from None
        ctx.save_for_backward(a, b)
        return y

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        a2 = a[None, :] if a.ndim == 1 else a  # treat vectors as matrices, then drop the extra axis
        b2 = b[:, None] if b.ndim == 1 else b
        g2 = g
        if a.ndim == 1:
            g2 = np.expand_dims(g2, -2)
        if b.ndim == 1:
            g2 = np.expand_dims(g2, -1)
        da = db = None
        if ctx.needs_input_grad[0]:
            da = np.matmul(g2, np.swapaxes(b2, -1, -2))
            if a.ndim == 1:
                da = da[..., 0, :]
        if ctx.needs_input_grad[1]:
            db = np.matmul(np.swapaxes(a2, -1, -2), g2)
            if b.ndim == 1:
                db = db[..., 0]
        return da, db
