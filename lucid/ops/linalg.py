"""Matrix product with NumPy's batching and broadcasting rules."""

import numpy as np

from ..autograd.function import Function


class MatMul(Function):
    """y = a @ b;  da = g @ bᵀ,  db = aᵀ @ g (batch dimensions summed back by the engine).

    A 1-D ``a`` is a row vector and a 1-D ``b`` a column vector, whose extra
    dimension is dropped from ``y``; backward puts it back on ``g`` first.
    """

    saves = (0, 1)

    @staticmethod
    def forward(ctx, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError(f"matmul: both arguments need at least 1 dimension (got shapes {a.shape} and {b.shape})")
        ka = a.shape[-1]
        kb = b.shape[-2] if b.ndim > 1 else b.shape[0]
        if ka != kb:
            raise ValueError(f"matmul: shapes {a.shape} and {b.shape} cannot be multiplied ({ka} != {kb})")
        try:
            y = np.matmul(a, b)
        except ValueError:
            raise ValueError(
                f"matmul: the batch dimensions of shapes {a.shape} and {b.shape} do not broadcast"
            ) from None
        ctx.save_for_backward(a, b)
        return y

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        if b.ndim == 1:
            g = g[..., None]
        if a.ndim == 1:
            g = g[..., None, :]
        da = db = None
        if ctx.needs_input_grad[0]:
            da = np.matmul(g, np.swapaxes(b2, -1, -2))
            if a.ndim == 1:
                da = da[..., 0, :]
        if ctx.needs_input_grad[1]:
            db = np.matmul(np.swapaxes(a2, -1, -2), g)
            if b.ndim == 1:
                db = db[..., 0]
        return da, db


class Baddbmm(Function):
    """y = β·c + α·(a @ b) for batches of matrices (c may be None: bmm);
    dc = β·g,  da = α·g @ bᵀ,  db = α·aᵀ @ g."""

    saves = (1, 2)

    @staticmethod
    def forward(ctx, c, a, b, beta, alpha):
        needs = ctx.needs_input_grad
        ctx.saves = tuple(i for i, read in ((1, needs[2]), (2, needs[1])) if read)  # a is read for db, b for da
        if a.ndim != 3 or b.ndim != 3:
            raise RuntimeError(f"batch1 must be a 3D tensor (got {a.ndim}D) and batch2 a 3D tensor (got {b.ndim}D)")
        if a.shape[0] != b.shape[0] or a.shape[2] != b.shape[1]:
            raise RuntimeError(
                f"Expected size for first two dimensions of batch2 tensor to be: "
                f"[{a.shape[0]}, {a.shape[2]}] but got: [{b.shape[0]}, {b.shape[1]}]."
            )
        ab = np.matmul(a, b)
        if c is not None and np.broadcast_shapes(c.shape, ab.shape) != ab.shape:
            raise RuntimeError(f"baddbmm: input of shape {c.shape} does not broadcast to {ab.shape}")
        ctx.beta, ctx.alpha = beta, alpha
        ctx.save_for_backward(a, b)
        y = ab if alpha == 1 else alpha * ab
        if c is None or beta == 0:  # the input is ignored, NaN and inf in it included (PyTorch's rule)
            return y
        return y + (c if beta == 1 else beta * c)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        ga = g if ctx.alpha == 1 else ctx.alpha * g
        dc = (g if ctx.beta == 1 else ctx.beta * g) if ctx.needs_input_grad[0] else None
        da = np.matmul(ga, np.swapaxes(b, -1, -2)) if ctx.needs_input_grad[1] else None
        db = np.matmul(np.swapaxes(a, -1, -2), ga) if ctx.needs_input_grad[2] else None
        return dc, da, db, None, None
