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

``apply`` hands ``forward`` the arrays inside the Tensor arguments and every other
argument as it is. ``backward`` gets one gradient per output (zeros for an output
that received none) and returns one gradient per forward argument, None where
there is none (a non-Tensor argument, or ``ctx.needs_input_grad[i]`` False). A
gradient may have the broadcast shape of the output: the engine sums it back to
its input's shape and casts it to its input's dtype. The arrays ``backward``
returns belong to the engine from then on (it may make one a ``.grad`` without a
copy): return new arrays, or the incoming gradients, never an array kept elsewhere.
"""
import numpy as np

from .. import _tensor
from .grad_mode import is_grad_enabled

_RELEASED = ("Trying to backward through the graph a second time (or directly access saved values after they "
             "have already been freed). Saved intermediate values of the graph are freed when you call "
             ".backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the "
             "graph a second time.")


class Context:
    """What a Function's forward leaves for its backward; also the node of the graph.

    ``inputs`` holds the forward's arguments as they were given (Tensors and anything
    else) and ``needs_input_grad[i]`` says whether ``inputs[i]`` is a Tensor that
    requires grad. Ops may set any other attribute on it (``ctx.axis = 1``).
    """

    __slots__ = ("fn", "inputs", "needs_input_grad", "out_meta", "_saved", "_released", "__dict__")

    def __init__(self, fn, inputs, needs_input_grad):
        self.fn = fn
        self.inputs = inputs
        self.needs_input_grad = needs_input_grad
        self.out_meta = None  # ((shape, dtype), ...) of the outputs of a recorded multi-output op
        self._saved = ()
        self._released = False

    def save_for_backward(self, *arrays):
        self._saved = arrays

    @property
    def saved_tensors(self):
        if self._released:
            raise RuntimeError(_RELEASED)
        return self._saved

    def release(self):
        """Free what forward saved; a later backward through this node raises."""
        self._saved = ()
        self._released = True
        self.__dict__.clear()

    def __repr__(self):
        return f"<{self.fn.__name__}Backward>"


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
        """Run ``forward`` on the arrays inside ``args``; record a graph node if any input requires grad."""
        Tensor = _tensor.Tensor
        arrays = [a.data if isinstance(a, Tensor) else a for a in args]
        needs = tuple([isinstance(a, Tensor) and a.requires_grad for a in args])
        record = True in needs and is_grad_enabled()
        ctx = Context(cls, args, needs) if record else Context(cls, (), (False,) * len(args))
        out = cls.forward(ctx, *arrays, **kwargs)

        if not isinstance(out, tuple):  # one output: the common case, kept short
            if type(out) is not np.ndarray:
                out = np.asarray(out)
            t = Tensor._from_array(out)
            if record and out.dtype.kind in "fc":  # integer outputs (indices, masks) carry no gradient
                t.requires_grad, t._ctx = True, ctx
            return t
        results = []
        for i, o in enumerate(out):
            t = Tensor._from_array(np.asarray(o))
            if record and t.data.dtype.kind in "fc":
                t.requires_grad, t._ctx, t._out_index = True, ctx, i
            results.append(t)
        if record:
            ctx.out_meta = tuple((r.data.shape, r.data.dtype) for r in results)
        return tuple(results)
