"""Reverse-mode differentiation: walk the graph from the outputs back to the leaves.

The graph is made of ``Context`` nodes (see function.py). ``backward`` sorts the
nodes reachable from the outputs topologically with an explicit stack (no
recursion, so a chain of any length works), then visits each node once, after
all the gradients flowing into it have been summed.
"""
import numpy as np


def _sum_to_shape(grad, shape):
    """Sum a broadcast gradient back to ``shape``."""
    if grad.shape == tuple(shape):
        return grad
    lead = grad.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, n in enumerate(shape) if n == 1 and grad.shape[i + lead] != 1)
    grad = grad.sum(axis=axes, keepdims=True) if axes else grad
    return grad.reshape(shape)


def _check_grad(t, g, what):
    g = np.asarray(g)
    if g.shape != t.shape:
        try:
            g = np.broadcast_to(g, t.shape)
        except ValueError:
            raise RuntimeError(f"{what}: expected a gradient of shape {t.shape} (got shape {g.shape})") from None
    return g


def _toposort(roots):
    """Nodes reachable from ``roots``, each after every node that feeds it a gradient."""
    order, seen = [], set()
    stack = [(r, False) for r in roots]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        for t in node.inputs:
            if t is not None and t._ctx is not None and id(t._ctx) not in seen:
                stack.append((t._ctx, False))
    order.reverse()
    return order


def run_backward(outputs, grad_outputs, retain_graph=False, capture=None):
    """Propagate ``grad_outputs`` from ``outputs`` to the leaves.

    Leaves accumulate into ``.grad``. With ``capture`` (a list of tensors), the
    gradients reaching those tensors are returned instead and no ``.grad`` changes.
    """
    captured = {id(t): None for t in capture} if capture is not None else None
    buffers = {}  # id(node) -> list of gradient arrays, one per output

    def deliver(t, g):
        if captured is not None:
            if id(t) in captured:
                prev = captured[id(t)]
                captured[id(t)] = g.copy() if prev is None else prev + g
        elif t._ctx is None or t._retains_grad:
            g = g.astype(t.dtype, copy=False)
            t.grad = g.copy() if t.grad is None else t.grad + g
        if t._ctx is not None:
            buf = buffers.setdefault(id(t._ctx), [None] * t._ctx.n_outputs)
            i = t._out_index
            buf[i] = g if buf[i] is None else buf[i] + g

    for t, g in zip(outputs, grad_outputs):
        if not t.requires_grad:
            raise RuntimeError(
                "backward() called on a tensor that does not require grad: nothing it depends on has "
                "requires_grad=True (or it was computed under no_grad)"
            )
        deliver(t, _check_grad(t, g, "backward"))

    for node in _toposort([t._ctx for t in outputs if t._ctx is not None]):
        grads = buffers.pop(id(node), None)
        if grads is None:
            continue
        if node._released:
            node.saved_tensors  # raises the clear error
        grads = [np.zeros(shape, dtype) if g is None else g for g, (shape, dtype) in zip(grads, node.out_meta)]
        in_grads = node.fn.backward(node, *grads)
        if not isinstance(in_grads, tuple):
            in_grads = (in_grads,)
        if len(in_grads) < len(node.inputs):
            in_grads = in_grads + (None,) * (len(node.inputs) - len(in_grads))
        for t, g, need in zip(node.inputs, in_grads, node.needs_input_grad):
            if need and g is not None:
                g = np.asarray(g)
                if g.shape != t.shape:
                    g = _sum_to_shape(g, t.shape)
                deliver(t, g)
        if not retain_graph:
            node.release()

    if captured is not None:
        return [captured[id(t)] for t in capture]
    return None
