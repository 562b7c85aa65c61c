"""``Function``: one op = a forward and its exact backward, both on NumPy arrays.

Write a new op by subclassing::

    class Square(Function):
        @staticmethod
        def forward(ctx, x):          # arrays in, array(s) out
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):         # one gradient per output in, one per input out
            (x,) = ctx.saved_tensors
            return 2 * x * g

    y = Square.apply(t)               # Tensors in, Tensors out, graph recorded
"""
import numpy as np

from .grad_mode import is_grad_enabled


class Context:
    """What a Function's forward leaves for its backward; also the graph node."""

    __slots__ = ("fn", "inputs", "needs_input_grad", "n_outputs", "out_meta", "_saved", "_released", "__dict__")

    def __init__(self, fn, inputs):
        self.fn = fn
        self.inputs = inputs  # one entry per forward argument: the Tensor, or None
        self.needs_input_grad = tuple(t is not None and t.requires_grad for t in inputs)
        self.n_outputs = 1
        self.out_meta = ()
        self._saved = ()
        self._released = False

    def save_for_backward(self, *arrays):
        self._saved = arrays

    @property
    def saved_tensors(self):
        if self._released:
            raise RuntimeError(
                "Trying to backward through the graph a second time (or directly access saved "
                "values after they have already been freed). Saved intermediate values of the graph "
                "are freed when you call .backward() or autograd.grad(). Specify retain_graph=True "
                "if you need to backward through the graph a second time."
            )
        return self._saved

    def release(self):
        self._saved = ()
        self._released = True
        self.__dict__.clear()


class Function:
    """Base class of every differentiable op. Subclasses define ``forward`` and ``backward``."""

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError

    @classmethod
    def apply(cls, *args, **kwargs):
        from .._tensor import Tensor

        tensors = [a if isinstance(a, Tensor) else None for a in args]
        arrays = [a.data if isinstance(a, Tensor) else a for a in args]
        record = is_grad_enabled() and any(t is not None and t.requires_grad for t in tensors)
        ctx = Context(cls, tensors if record else [None] * len(tensors))
        out = cls.forward(ctx, *arrays, **kwargs)
        multi = isinstance(out, tuple)
        outs = out if multi else (out,)
        results = []
        for i, o in enumerate(outs):
            t = Tensor._from_array(np.asarray(o))
            if record and np.issubdtype(t.data.dtype, np.inexact):
                t.requires_grad = True
                t._ctx, t._out_index = ctx, i
            results.append(t)
        if record:
            ctx.n_outputs = len(outs)
            ctx.out_meta = tuple((r.shape, r.dtype) for r in results)
        return tuple(results) if multi else results[0]
