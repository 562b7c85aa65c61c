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

_RELEASED = (
    "Trying to backward through the graph a second time (or directly access saved values after they "
    "have already been freed). Saved intermediate values of the graph are freed when you call "
    ".backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the "
    "graph a second time."
)
_MODIFIED = (
    "one of the variables needed for gradient computation has been modified by an inplace operation: "
    "[lucid.{dtype} {shape}], which is {which} of {op}, is at version {now}; expected version {then} "
    "instead. Hint: it was written in place (x += ..., x.copy_(...), x[i] = ..., an optimizer step, "
    "load_state_dict) after the forward that saved it; make the change after backward, or on a clone."
)


class Context:
    """What a Function's forward leaves for its backward; also the node of the graph.

    ``inputs`` holds the forward's arguments as they were given (Tensors and anything
    else) and ``needs_input_grad[i]`` says whether ``inputs[i]`` is a Tensor that
    requires grad. Ops may set any other attribute on it (``ctx.axis = 1``).
    """

    __slots__ = (
        "fn",
        "inputs",
        "edges",
        "needs_input_grad",
        "out_meta",
        "_saved",
        "_released",
        "_versions",
        "__dict__",
    )

    def __init__(self, fn, inputs, needs_input_grad):
        self.fn = fn
        self.inputs = inputs
        # where each input's gradient goes: the node that made it and which output, as they were now (an
        # input changed in place later becomes another node's output; this node still sends to the old one)
        self.edges = tuple([(t._ctx, t._out_index) if need else None for t, need in zip(inputs, needs_input_grad)])
        self.needs_input_grad = needs_input_grad
        self.out_meta = None  # ((shape, dtype), ...) of the outputs of a recorded multi-output op
        self._saved = ()
        self._released = False
        self._versions = ()  # (counter, version at forward, position, shape, dtype) per tensor backward reads

    def save_for_backward(self, *arrays):
        self._saved = arrays

    @property
    def saved_tensors(self):
        if self._released:
            raise RuntimeError(_RELEASED)
        return self._saved

    def output_unchanged(self):
        """Whether the output is still as the forward left it (a Function with ``spare_output``)."""
        counter, then = self.__dict__.get("output_version", (None, None))
        return counter is not None and counter.value == then

    def check_versions(self):
        """Raise PyTorch's RuntimeError if a tensor this node's backward reads was written in place since."""
        for counter, then, i, shape, dtype in self._versions:
            if counter.value != then:
                which = "output 0" if i == "output" else f"input {i}"
                raise RuntimeError(
                    _MODIFIED.format(
                        dtype=dtype, shape=list(shape), which=which, op=repr(self)[1:-1], now=counter.value, then=then
                    )
                )

    def release(self):
        """Free what forward saved; a later backward through this node raises."""
        self._saved = ()
        self._versions = ()
        self.edges = ()
        self._released = True
        self.__dict__.clear()

    def __repr__(self):
        return f"<{self.fn.__name__}Backward>"


def _root(a):
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def _share_version(t, args):
    """An output whose memory is an input's is a view of it: it takes that input's version counter."""
    root = _root(t.data)
    for a in args:
        if isinstance(a, _tensor.Tensor) and _root(a.data) is root:
            t._vc = a._vc.share()
            return


def _record_versions(ctx, saves, args, out):
    """The versions, now, of what backward will read: ``saves`` names arguments by position, or "output"."""
    Tensor = _tensor.Tensor
    if saves is None:  # a Function that does not say: the tensors whose memory an array it saved shares
        saved = {id(_root(s)) for s in ctx._saved if type(s) is np.ndarray}
        saves = [i for i, a in enumerate(args) if isinstance(a, Tensor) and id(_root(a.data)) in saved]
        if id(_root(out.data)) in saved:
            saves.append("output")
    versions = []
    for i in saves:
        t = out if i == "output" else args[i]
        if isinstance(t, Tensor):
            vc = t._vc
            versions.append((vc, vc.value, i, t.data.shape, t.data.dtype))
    ctx._versions = versions


class Function:
    """Base class of every differentiable op. Subclasses define ``forward`` and ``backward``.

    ``saves``: the positions of the arguments (and ``"output"``) whose values ``backward``
    reads; their versions are checked before it runs. None: found from ``save_for_backward``.
    ``spare_output``: backward may read the output to save work, but only while
    ``ctx.output_unchanged()``; written in place, it is simply not used.
    """

    saves = None
    spare_output = False

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
            if out.base is not None:
                _share_version(t, args)
            if record and out.dtype.kind in "fc":  # integer outputs (indices, masks) carry no gradient
                t.requires_grad, t._ctx = True, ctx
                saves = ctx.__dict__.get("saves", cls.saves)
                if saves != ():
                    _record_versions(ctx, saves, args, t)
                if cls.spare_output:
                    ctx.output_version = (t._vc, t._vc.value)
            return t
        results = []
        for i, o in enumerate(out):
            t = Tensor._from_array(np.asarray(o))
            if t.data.base is not None:
                _share_version(t, args)
            if record and t.data.dtype.kind in "fc":
                t.requires_grad, t._ctx, t._out_index = True, ctx, i
            results.append(t)
        if record:
            ctx.out_meta = tuple((r.data.shape, r.data.dtype) for r in results)
            saves = ctx.__dict__.get("saves", cls.saves)
            if saves != ():
                _record_versions(ctx, saves, args, results[0])
        return tuple(results)
