"""Reverse-mode differentiation: walk the graph from the outputs back to the leaves.

The graph is made of ``Context`` nodes (see function.py); each node knows the
tensors it was applied to, and each of those knows the node that made it
(``t._ctx``, None for a leaf). ``run_backward`` sorts the nodes reachable from
the outputs topologically with an explicit stack (no recursion, so a chain of
any length works), then visits each node once, after every gradient flowing
into it has been summed.
"""

import numpy as np

from . import hooks as _hooks
from .function import _RELEASED

_queued = []  # callbacks to run once the backward pass in progress has finished


def queue_callback(fn):
    """Run ``fn()`` once, after the backward pass in progress has delivered every gradient.

    An op's backward calls it (DistributedDataParallel averages the gradients this way).
    A pass that raises, or one that only captures gradients (``autograd.grad``), drops the queue.
    """
    _queued.append(fn)


def _sum_to_shape(grad, shape):
    """Sum a broadcast gradient back to ``shape`` (the inverse of broadcasting ``shape`` to ``grad.shape``)."""
    if grad.ndim < len(shape):
        return np.broadcast_to(grad, shape)
    lead = grad.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, n in enumerate(shape) if n == 1 and grad.shape[i + lead] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape(shape)


def _root(a):
    """The array that owns ``a``'s memory."""
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def _toposort(roots):
    """The nodes reachable from ``roots``, each one before every node it sends a gradient to."""
    order, seen = [], set()
    stack = [(r, False) for r in roots]
    while stack:
        node, expanded = stack.pop()
        if expanded:  # all the nodes below it are in ``order`` already
            order.append(node)
            continue
        if node in seen:
            continue
        seen.add(node)
        stack.append((node, True))
        for edge in node.edges:
            if edge is not None and edge[0] is not None and edge[0] not in seen:
                stack.append((edge[0], False))
    order.reverse()
    return order


def _towards(order, targets):
    """The nodes of ``order`` whose backward sends a gradient on towards one of the ``targets`` tensors."""
    ids = {id(t) for t in targets}
    leading = set()
    for node in reversed(order):  # each node after every node it sends a gradient to
        if node._released:  # kept, so that the pass raises as it should (its edges are gone)
            leading.add(node)
            continue
        for t, edge in zip(node.inputs, node.edges):
            if edge is not None and (edge[0] in leading or (id(t) in ids and (t._ctx, t._out_index) == edge)):
                leading.add(node)
                break
    return [node for node in order if node in leading]


def run_backward(outputs, grad_outputs, retain_graph=False, capture=None):
    """Propagate ``grad_outputs`` (arrays) from ``outputs`` (Tensors) to the leaves, then run the
    queued callbacks (``queue_callback``). See ``_run_backward``."""
    try:
        result = _run_backward(outputs, grad_outputs, retain_graph, capture)
    except BaseException:
        _queued.clear()
        raise
    callbacks = list(_queued)
    _queued.clear()
    if capture is None:
        for fn in callbacks:
            fn()
    return result


def _run_backward(outputs, grad_outputs, retain_graph=False, capture=None):
    """Propagate ``grad_outputs`` (arrays) from ``outputs`` (Tensors) to the leaves.

    Leaves (and tensors that ``retain_grad()``) accumulate into ``.grad``. With
    ``capture`` (a list of tensors) the gradients reaching those tensors are
    returned instead (None for one no gradient reaches), and no ``.grad`` changes.
    """
    for t, g in zip(outputs, grad_outputs):
        if not t.requires_grad:
            raise RuntimeError(
                "backward() called on a tensor that does not require grad: nothing it was computed "
                "from has requires_grad=True, or it was computed under no_grad"
            )
        if g.shape != t.shape:
            try:
                np.broadcast_to(g, t.shape)
            except ValueError:
                raise RuntimeError(f"backward: expected a gradient of shape {t.shape} (got shape {g.shape})") from None

    order = _toposort([t._ctx for t in outputs if t._ctx is not None])
    if capture is not None:  # autograd.grad: only the nodes on a path to a tensor asked for run (and are freed)
        order = _towards(order, capture)
    if any(node._released for node in order):
        raise RuntimeError(_RELEASED)  # checked before any .grad changes
    for node in order:
        if node._versions:
            node.check_versions()  # a tensor a backward reads was written in place since its forward

    captured = {id(t): None for t in capture} if capture is not None else None
    buffers = {}  # node -> [gradient of each of its outputs, or None]
    # A gradient array handed to a .grad is kept, not copied, when nothing else can see it:
    # not the caller's seed, not an array already handed out in this pass, not a partial view.
    handed = {id(_root(g)) for g in grad_outputs}

    def keep(g):
        """``g`` itself when it may become a tensor's ``.grad`` for good, else a copy."""
        root = _root(g)
        if (
            retain_graph
            or id(root) in handed
            or g.size != root.size
            or not (g.flags.c_contiguous and g.flags.writeable)
        ):
            return np.array(g)
        handed.add(id(root))
        return g

    hooked = {}  # tensors with hooks: leaves by id, non-leaves by (node, output index); their hooks see the sum

    def deliver(t, g, node, i):
        """Hand gradient ``g`` (of t's shape and dtype) to output ``i`` of ``node`` (None: the leaf ``t``).
        The tensor's hooks and ``.grad`` see it while ``t`` is still that output; once ``t`` was changed in
        place, the hooks registered before the change see it (``inplace.change`` left them on the node)."""
        if t._ctx is not node or t._out_index != i:
            t = node.__dict__.get("earlier", {}).get(i) if node is not None else None
        if t is not None:
            if _hooks.has_hooks(t):
                key = id(t) if node is None else (node, i)
                hooked[key] = t
                if node is None:
                    pending[id(t)] = g if id(t) not in pending else pending[id(t)] + g
                    return
            else:
                receive(t, g)
        if node is not None:
            buf = buffers.get(node)
            if buf is None:
                buf = buffers[node] = [None] * (1 if node.out_meta is None else len(node.out_meta))
            buf[i] = g if buf[i] is None else buf[i] + g

    pending = {}  # id(leaf) -> the sum of its gradients, for the leaves whose hooks run at the end

    def receive(t, g):
        """Keep ``g`` as (part of) ``t``'s result: captured, or added to ``.grad`` of a leaf or retained tensor."""
        if captured is not None:
            if id(t) in captured:
                prev = captured[id(t)]
                captured[id(t)] = keep(g) if prev is None else prev + g
        elif t._ctx is None or t._retains_grad:
            t._grad = keep(g) if t._grad is None else t._grad + g

    for t, g in zip(outputs, grad_outputs):
        g = np.broadcast_to(g, t.shape) if g.shape != t.shape else g
        deliver(t, g.astype(t.dtype, copy=False), t._ctx, t._out_index)

    for node in order:
        grads = buffers.pop(node, None)
        if grads is None:
            continue
        if len(grads) > 1:  # an output of a multi-output op that got no gradient gets zeros
            grads = [np.zeros(shape, dtype) if g is None else g for g, (shape, dtype) in zip(grads, node.out_meta)]
        for i, g in enumerate(grads):
            t = hooked.get((node, i))
            if t is not None and g is not None:
                grads[i] = _hooks.run(t, g)
                receive(t, grads[i])
        in_grads = node.fn.backward(node, *grads)
        if not isinstance(in_grads, (tuple, list)):
            in_grads = (in_grads,)
        for t, g, edge in zip(node.inputs, in_grads, node.edges):
            if edge is not None and g is not None:
                data = t.data
                if type(g) is not np.ndarray:
                    g = np.asarray(g)
                if g.shape != data.shape:
                    g = _sum_to_shape(g, data.shape)
                if g.dtype != data.dtype:
                    g = g.astype(data.dtype)
                deliver(t, g, *edge)
        if not retain_graph:
            node.release()

    for key, g in pending.items():
        t = hooked[key]
        receive(t, _hooks.run(t, g))
    if captured is not None:  # a hooked tensor asked for whose own node did not run (it leads nowhere asked)
        ran = set(order)
        for key, t in hooked.items():
            if isinstance(key, tuple) and key[0] not in ran and buffers.get(key[0]) is not None:
                g = buffers[key[0]][key[1]]
                if g is not None:
                    receive(t, _hooks.run(t, g))

    if captured is not None:
        return [captured[id(t)] for t in capture]
    return None
