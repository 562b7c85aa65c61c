"""The autograd engine: seeding, accumulation, graph release, long chains, grad modes, ``grad``,
``gradcheck``, user-written Functions, in-place rules, and the errors."""

import gc
import threading

import numpy as np
import pytest
import torch

import lucid
from lucid.autograd import Function

TOL = dict(rtol=1e-10, atol=1e-10)


def pair(a, requires_grad=True):
    """The same float64 data as a lucid tensor and a torch tensor."""
    a = np.asarray(a, dtype=np.float64)
    return lucid.tensor(a, requires_grad=requires_grad), torch.tensor(a, requires_grad=requires_grad)


# ---- backward -----------------------------------------------------------------------
def test_backward_without_argument_seeds_ones_on_any_shape(rng):
    x, tx = pair(rng.standard_normal((2, 3)))
    (x * x).tanh().backward()
    (tx * tx).tanh().backward(torch.ones(2, 3, dtype=torch.float64))
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), **TOL)


@pytest.mark.parametrize("kind", ["tensor", "array", "list"])
def test_backward_with_a_gradient(kind, rng):
    x, tx = pair(rng.standard_normal(3))
    seed = [0.5, -1.0, 2.0]
    g = {"tensor": lucid.tensor(seed), "array": np.array(seed), "list": seed}[kind]
    (x.exp() * 2).backward(g)
    (tx.exp() * 2).backward(torch.tensor(seed, dtype=torch.float64))
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), **TOL)


def test_backward_gradient_of_the_wrong_shape_raises():
    x = lucid.ones(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"expected a gradient of shape \(2, 3\) \(got shape \(4,\)\)"):
        (x * 2).backward(np.ones(4))
    assert x.grad is None


def test_gradients_accumulate_across_calls_and_reset_with_none(rng):
    x, tx = pair(rng.standard_normal(4))
    for _ in range(3):
        (x * x).sum().backward()
        (tx * tx).sum().backward()
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), **TOL)
    np.testing.assert_allclose(x.grad, 6 * x.data, **TOL)
    x.grad = None
    assert x.grad is None
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad, np.full(4, 3.0))


def test_grad_can_be_set_and_checks_its_shape():
    x = lucid.ones(2, requires_grad=True)
    x.grad = np.array([1.0, 2.0])
    (x * 1).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 3.0])
    x.grad = lucid.tensor([0.5, 0.5])
    assert isinstance(x.grad, np.ndarray)
    with pytest.raises(RuntimeError, match=r"assigned grad has shape \(3,\), but the tensor has shape \(2,\)"):
        x.grad = np.ones(3)


def test_shared_subexpressions_sum_their_gradients(rng):
    # a diamond and a reused intermediate: every path's gradient adds up
    def f(x, w):
        h = x @ w
        a = h.tanh()
        b = h * h
        return (a * b + a - b.exp() * 0.1).sum() + (x * x).sum()

    x, tx = pair(rng.standard_normal((3, 2)))
    w, tw = pair(rng.standard_normal((2, 2)))
    f(x, w).backward()
    f(tx, tw).backward()
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), **TOL)
    np.testing.assert_allclose(w.grad, tw.grad.numpy(), **TOL)


def test_broadcast_gradients_are_summed_back_to_each_shape(rng):
    a, ta = pair(rng.standard_normal((2, 1, 3)))
    b, tb = pair(rng.standard_normal((4, 1)))
    c, tc = pair(rng.standard_normal(()))
    (a * b + c).backward(np.arange(24.0).reshape(2, 4, 3))
    (ta * tb + tc).backward(torch.arange(24.0, dtype=torch.float64).reshape(2, 4, 3))
    for t, tt in ((a, ta), (b, tb), (c, tc)):
        assert t.grad.shape == t.shape
        np.testing.assert_allclose(t.grad, tt.grad.numpy(), **TOL)


def test_second_backward_raises_unless_graph_retained(rng):
    x = lucid.tensor(rng.standard_normal(3), requires_grad=True)
    y = (x * x).sum()
    y.backward()
    first = x.grad.copy()
    with pytest.raises(RuntimeError, match="backward through the graph a second time.*retain_graph=True"):
        y.backward()
    np.testing.assert_array_equal(x.grad, first)  # the failed call changed nothing

    y = (x.exp() * x).sum()
    x.grad = None
    y.backward(retain_graph=True)
    g = x.grad.copy()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad, 3 * g, **TOL)


def test_backward_through_a_partly_released_graph_raises_before_changing_anything():
    x = lucid.ones(3, requires_grad=True)
    w = lucid.ones(3, requires_grad=True)
    h = x * 2
    (h * 3).sum().backward()  # releases h's node too
    gx = x.grad.copy()
    with pytest.raises(RuntimeError, match="second time"):
        (h * w).sum().backward()
    assert w.grad is None
    np.testing.assert_array_equal(x.grad, gx)


def test_backward_on_a_tensor_that_does_not_require_grad():
    x = lucid.ones(3)
    with pytest.raises(RuntimeError, match="does not require grad"):
        (x * 2).sum().backward()
    with pytest.raises(RuntimeError, match="does not require grad"):
        x.backward()
    y = lucid.ones(3, requires_grad=True)
    with lucid.no_grad():
        z = y * 2
    with pytest.raises(RuntimeError, match="does not require grad"):
        z.sum().backward()


def test_backward_from_a_leaf_itself():
    x = lucid.ones(2, requires_grad=True)
    x.backward(np.array([3.0, 4.0]))
    np.testing.assert_array_equal(x.grad, [3.0, 4.0])


def test_long_chain_backward_has_no_recursion_limit():
    x = lucid.tensor([0.5, -0.25], dtype=lucid.float64, requires_grad=True)
    y = x
    for i in range(20_000):
        y = y * 1.0001 if i % 2 else y + 0.5
    y.sum().backward()
    np.testing.assert_allclose(x.grad, np.full(2, 1.0001**10_000), rtol=1e-10)
    del y
    gc.collect()  # freeing a 20,000-node graph must not overflow the C stack either


def test_non_leaf_grad_only_when_retained(rng):
    x, tx = pair(rng.standard_normal(3))
    h, th = x * 2, tx * 2
    h.retain_grad()
    th.retain_grad()
    k = h * 5
    (h * h).sum().backward()
    (th * th).sum().backward()
    np.testing.assert_allclose(h.grad, th.grad.numpy(), **TOL)
    assert k.grad is None and not k.is_leaf and k.grad_fn is not None


def test_float32_leaves_get_float32_grads_even_through_float64_ops():
    x = lucid.ones(3, requires_grad=True)
    y = (x * lucid.tensor([2.0, 2.0, 2.0], dtype=lucid.float64)).sum()  # the graph goes float64
    assert y.dtype == lucid.float64
    y.backward()
    assert x.grad.dtype == lucid.float32
    np.testing.assert_array_equal(x.grad, [2.0, 2.0, 2.0])


def test_detach_cuts_the_graph():
    x = lucid.ones(2, requires_grad=True)
    d = (x * 2).detach()
    assert not d.requires_grad and d.is_leaf
    (x * d).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 2.0])


def test_integer_outputs_and_leaves_do_not_require_grad():
    x = lucid.tensor([[1.0, 3.0], [2.0, 0.0]], requires_grad=True)
    assert not x.argmax(1).requires_grad
    assert not x.max(1).indices.requires_grad
    assert not (x > 1).requires_grad
    assert not x.long().requires_grad
    with pytest.raises(RuntimeError, match="only Tensors of floating point dtype can require gradients"):
        lucid.tensor([1, 2], requires_grad=True)


def test_requires_grad_cannot_be_switched_off_on_a_non_leaf():
    y = lucid.ones(2, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="leaf"):
        y.requires_grad_(False)


# ---- grad modes ---------------------------------------------------------------------
def test_no_grad_and_enable_grad_as_context_managers():
    x = lucid.ones(2, requires_grad=True)
    with lucid.no_grad():
        assert not lucid.is_grad_enabled()
        y = x * 2
        with lucid.enable_grad():
            assert lucid.is_grad_enabled()
            z = x * 2
        assert not lucid.is_grad_enabled()
    assert lucid.is_grad_enabled()
    assert not y.requires_grad and y.is_leaf
    assert z.requires_grad and not z.is_leaf


def test_grad_modes_as_decorators():
    x = lucid.ones(2, requires_grad=True)

    @lucid.no_grad()
    def f(t):
        return t * 2

    @lucid.no_grad
    def f_bare(t):
        return t * 2

    @lucid.set_grad_enabled(False)
    def g(t):
        return t * 2

    assert lucid.is_grad_enabled()  # decorating changes nothing by itself

    @lucid.enable_grad()
    def h(t):
        return t * 2

    assert not f(x).requires_grad and not f_bare(x).requires_grad and not g(x).requires_grad
    with lucid.no_grad():
        assert h(x).requires_grad
        assert not lucid.is_grad_enabled()
    assert f.__name__ == "f"


def test_set_grad_enabled_as_function_and_context_manager():
    lucid.set_grad_enabled(False)
    assert not lucid.is_grad_enabled()
    lucid.set_grad_enabled(True)
    assert lucid.is_grad_enabled()
    with lucid.set_grad_enabled(False):
        assert not lucid.is_grad_enabled()
        with lucid.set_grad_enabled(True):
            assert lucid.is_grad_enabled()
        assert not lucid.is_grad_enabled()
    assert lucid.is_grad_enabled()


def test_grad_mode_is_restored_after_an_exception():
    with pytest.raises(ZeroDivisionError):
        with lucid.no_grad():
            1 / 0
    assert lucid.is_grad_enabled()

    @lucid.no_grad()
    def boom():
        raise KeyError

    with pytest.raises(KeyError):
        boom()
    assert lucid.is_grad_enabled()


def test_grad_mode_is_per_thread():
    seen = []
    with lucid.no_grad():
        t = threading.Thread(target=lambda: seen.append(lucid.is_grad_enabled()))
        t.start()
        t.join()
    assert seen == [True]


# ---- lucid.autograd.grad ---------------------------------------------------------------
def test_autograd_grad_matches_torch_and_leaves_grad_alone(rng):
    x, tx = pair(rng.standard_normal((2, 3)))
    w, tw = pair(rng.standard_normal(3))
    gx, gw = lucid.autograd.grad((x * w).sigmoid().sum(), [x, w])
    tgx, tgw = torch.autograd.grad((tx * tw).sigmoid().sum(), [tx, tw])
    np.testing.assert_allclose(gx, tgx.numpy(), **TOL)
    np.testing.assert_allclose(gw, tgw.numpy(), **TOL)
    assert x.grad is None and w.grad is None


def test_autograd_grad_with_grad_outputs_and_intermediates(rng):
    x, tx = pair(rng.standard_normal(3))
    h, th = x.exp(), tx.exp()
    y, ty = h * x, th * tx
    seed = rng.standard_normal(3)
    gh, gx = lucid.autograd.grad(y, (h, x), grad_outputs=seed)
    tgh, tgx = torch.autograd.grad(ty, (th, tx), grad_outputs=torch.tensor(seed))
    np.testing.assert_allclose(gh, tgh.numpy(), **TOL)
    np.testing.assert_allclose(gx, tgx.numpy(), **TOL)


def test_autograd_grad_errors_and_allow_unused():
    x = lucid.ones(3, requires_grad=True)
    z = lucid.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="only for outputs with one element"):
        lucid.autograd.grad(x * 2, x)
    with pytest.raises(RuntimeError, match="not have been used in the graph"):
        lucid.autograd.grad((x * 2).sum(), [x, z])
    gx, gz = lucid.autograd.grad((x * 2).sum(), [x, z], allow_unused=True)
    np.testing.assert_array_equal(gx, [2.0, 2.0, 2.0])
    assert gz is None
    y = (x * x).sum()
    lucid.autograd.grad(y, x)
    with pytest.raises(RuntimeError, match="second time"):
        lucid.autograd.grad(y, x)


def test_autograd_grad_runs_only_the_nodes_on_a_path_to_its_inputs_as_pytorch():
    results = []
    for L in (lucid, torch):
        a = L.tensor(np.array([1.0, 2.0]), requires_grad=True)
        x = (a * 2) * 3
        (gx,) = L.autograd.grad((x * x).sum(), [x])  # frees only what lies above x
        (ga,) = L.autograd.grad((x * x).sum(), [a])  # so the part below x is still there
        seen = []
        x0 = a * 2
        x0.register_hook(lambda g: seen.append(g))
        (gx2,) = L.autograd.grad((x0 * 3).sum(), [x0])
        results.append([np.array(g if L is lucid else g.numpy()) for g in (gx, ga, gx2)] + [len(seen)])
    for got, expected in zip(results[0], results[1]):
        np.testing.assert_allclose(got, expected, **TOL)


# ---- gradcheck ------------------------------------------------------------------------
class Cube(Function):
    """y = x³;  dx = 3x²·g."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x**3

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 3 * x * x * g


class WrongCube(Cube):
    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 2 * x * x * g


def test_gradcheck_accepts_a_right_backward_and_rejects_a_wrong_one(rng):
    x = lucid.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    assert lucid.autograd.gradcheck(Cube.apply, (x,))
    with pytest.raises(AssertionError, match=r"gradient of input 0 \(shape \(2, 3\)\) differs"):
        lucid.autograd.gradcheck(WrongCube.apply, (x,))
    assert lucid.autograd.gradcheck(WrongCube.apply, (x,), raise_exception=False) is False


def test_gradcheck_needs_float64():
    with pytest.raises(ValueError, match="float64"):
        lucid.autograd.gradcheck(Cube.apply, (lucid.ones(2, requires_grad=True),))


# ---- user-written Functions ----------------------------------------------------------------
class ScaledSplit(Function):
    """Two outputs, a non-tensor argument, and a second tensor that may not need a gradient."""

    @staticmethod
    def forward(ctx, x, w, scale):
        ctx.save_for_backward(x, w)
        ctx.scale = scale
        return x * w * scale, x + scale

    @staticmethod
    def backward(ctx, g1, g2):
        x, w = ctx.saved_tensors
        dx = g1 * w * ctx.scale + g2
        dw = g1 * x * ctx.scale if ctx.needs_input_grad[1] else None
        return dx, dw, None


def test_user_function_with_two_outputs_and_a_constant(rng):
    x = lucid.tensor(rng.standard_normal(3), requires_grad=True)
    w = lucid.tensor(rng.standard_normal(3), requires_grad=True)
    assert lucid.autograd.gradcheck(lambda x, w: ScaledSplit.apply(x, w, 1.5), (x, w))
    a, b = ScaledSplit.apply(x, w, 2.0)
    (a * 0 + a).sum().backward()  # only the first output reaches the loss: the second gets zeros
    np.testing.assert_allclose(x.grad, w.data * 2.0, **TOL)
    c = lucid.tensor(rng.standard_normal(3))
    a, _ = ScaledSplit.apply(x, c, 1.0)
    assert a.grad_fn.needs_input_grad == (True, False, False)


def test_user_function_saving_nothing_and_returning_a_broadcast_gradient():
    class SumAll(Function):
        @staticmethod
        def forward(ctx, x):
            return x.sum()

        @staticmethod
        def backward(ctx, g):
            return g  # a 0-d gradient: the engine broadcasts it to x's shape

    x = lucid.ones(2, 3, requires_grad=True)
    SumAll.apply(x).backward()
    np.testing.assert_array_equal(x.grad, np.ones((2, 3)))


# ---- in place ---------------------------------------------------------------------------
def test_inplace_on_a_leaf_that_requires_grad():
    w = lucid.ones(3, requires_grad=True)
    for change in (
        lambda: w.add_(1),
        lambda: w.zero_(),
        lambda: w.fill_(2.0),
        lambda: w.copy_([1.0, 2.0, 3.0]),
        lambda: w.__setitem__(0, 5.0),
        lambda: w.mul_(2),
    ):
        with pytest.raises(RuntimeError, match="leaf Tensor that requires grad"):
            change()
    with pytest.raises(RuntimeError, match="leaf Tensor that requires grad"):
        w += 1
    np.testing.assert_array_equal(w.data, np.ones(3))
    with lucid.no_grad():  # how an optimizer updates a parameter
        data = w.data
        w -= 0.5
        w.mul_(4)
        w[0] = 7.0
    assert w.data is data and w.requires_grad and w.is_leaf
    np.testing.assert_array_equal(w.data, [7.0, 2.0, 2.0])


def test_inplace_never_silently_drops_a_gradient():
    x = lucid.ones(2, requires_grad=True)
    buf = lucid.zeros(3)
    for change in (
        lambda: buf.__setitem__(slice(0, 2), x * 2),
        lambda: buf[:2].copy_(x),
        lambda: buf[:2].add_(x),  # a view: buf's history cannot be rebased
    ):
        with pytest.raises(RuntimeError, match="not record|cannot record"):
            change()
    np.testing.assert_array_equal(buf.data, np.zeros(3))
    buf[:2] = (x * 2).detach()
    with lucid.no_grad():
        buf[2:] = x[:1] * 5
    np.testing.assert_array_equal(buf.data, [2.0, 2.0, 5.0])


def test_inplace_inside_a_graph_changes_the_tensor_every_name_sees_as_pytorch(rng):
    """y += ..., y.mul_(...), relu(y, inplace=True): the values and the history of y itself change."""
    results = []
    for lib in (lucid, torch):
        x = lib.tensor(rng.standard_normal(4) if lib is lucid else results[0][0], requires_grad=True)
        w = lib.tensor(np.arange(1.0, 5.0), requires_grad=True)
        y = x * 2
        alias = y
        y += w
        y.mul_(x)  # mul's backward reads y's old values: they are kept
        y.sub_(w, alpha=0.5)
        out = lib.nn.functional.relu(y, inplace=True)
        assert out is y and alias is y
        (alias * alias).sum().backward()
        results.append([np.array(t.detach().numpy() if lib is torch else t.data) for t in (x, alias)])
        results[-1] += [np.array(g.numpy() if lib is torch else g) for g in (x.grad, w.grad)]
    for got, expected in zip(results[0][1:], results[1][1:]):
        np.testing.assert_allclose(got, expected, **TOL)


def _y_plus_itself(L, y):
    y += y
    return y.sum()


def _y_minus_itself(L, y):
    y -= y
    return y.sum()


def _y_plus_its_double(L, y):
    y += y * 2
    return y.sum()


def _y_add_itself_alpha(L, y):
    y.add_(y, alpha=2)
    return y.sum()


def _y_plus_its_sum(L, y):
    y += y.sum()
    return y.sum()


def _used_before_times_two(L, y):
    z = y * 3
    y *= 2
    return z.sum()


def _used_before_and_after(L, y):
    z = y + 1
    y *= 2
    return z.sum() + (y * y).sum()


def _used_before_relu_inplace(L, y):
    z = y + 1
    L.nn.functional.relu(y, inplace=True)
    return (z * z).sum() + y.sum()


@pytest.mark.parametrize(
    "f",
    [
        _y_plus_itself,
        _y_minus_itself,
        _y_plus_its_double,
        _y_add_itself_alpha,
        _y_plus_its_sum,
        _used_before_times_two,
        _used_before_and_after,
        _used_before_relu_inplace,
    ],
)
def test_inplace_keeps_the_history_that_other_ops_saw_as_pytorch(f, rng):
    """An operand that is y itself, and an op that used y before the change, send their gradients
    through y's old history (each node keeps the edges it was made with)."""
    x = rng.standard_normal(5)
    grads = []
    for L in (lucid, torch):
        t = L.tensor(x, requires_grad=True)
        f(L, t * 1.5).backward()
        grads.append(np.array(t.grad if L is lucid else t.grad.numpy()))
    np.testing.assert_allclose(grads[0], grads[1], **TOL)


def _hook_then_add(L, a, b, seen):
    y = a * 1
    y.register_hook(lambda g: g * 10)
    z = y * 2
    y += 1
    return (y + z).sum()


def _hook_only_old_value_used(L, a, b, seen):
    y = a * 1
    y.register_hook(lambda g: g * 10)
    z = y * 2
    y += 1
    return z.sum()


def _hook_sees_relu_mask(L, a, b, seen):
    y = a * 1
    y.register_hook(lambda g: seen.append(np.array(g.data if L is lucid else g.numpy())))
    L.nn.functional.relu(y, inplace=True)
    return (y * 5).sum()


def _hook_then_add_tensor(L, a, b, seen):
    y = a * 3
    y.register_hook(lambda g: g * 10)
    y += b
    return (y**2).sum()


def _retained_and_hooked(L, a, b, seen):
    y = a * 1
    y.retain_grad()
    y.register_hook(lambda g: g * 5)
    y += 1
    seen.append(y)
    return y.sum()


def _hooks_before_and_after(L, a, b, seen):
    y = a * 1
    y.register_hook(lambda g: (seen.append(("before", np.array(g.data if L is lucid else g.numpy()))), g * 2)[1])
    y.mul_(b)
    y.register_hook(lambda g: (seen.append(("after", np.array(g.data if L is lucid else g.numpy()))), g * 3)[1])
    return (y * y).sum()


@pytest.mark.parametrize(
    "f",
    [
        _hook_then_add,
        _hook_only_old_value_used,
        _hook_sees_relu_mask,
        _hook_then_add_tensor,
        _retained_and_hooked,
        _hooks_before_and_after,
    ],
)
def test_a_hook_belongs_to_the_value_the_tensor_had_when_it_was_registered(f, rng):
    """As PyTorch: a hook registered before an in-place change sees d/d(old value), one after it d/d(new)."""
    results = []
    for L in (lucid, torch):
        a = L.tensor(np.array([1.0, -2.0, 3.0]), requires_grad=True)
        b = L.tensor(np.array([0.5, 1.0, 2.0]), requires_grad=True)
        seen = []
        f(L, a, b, seen).backward()
        arr = lambda t: np.array(t if L is lucid else t.numpy())  # noqa: E731
        seen = [s.grad if isinstance(s, (lucid.Tensor, torch.Tensor)) else s for s in seen]
        seen = [arr(s) if s is not None and not isinstance(s, (tuple, np.ndarray)) else s for s in seen]
        results.append((arr(a.grad), None if b.grad is None else arr(b.grad), seen))
    (ga, gb, seen), (ta, tb, tseen) = results
    np.testing.assert_allclose(ga, ta, **TOL)
    assert (gb is None) == (tb is None)
    if gb is not None:
        np.testing.assert_allclose(gb, tb, **TOL)
    assert len(seen) == len(tseen)
    for s, t in zip(seen, tseen):
        if isinstance(s, tuple):
            assert s[0] == t[0]
            s, t = s[1], t[1]
        np.testing.assert_allclose(s, t, **TOL)


def test_inplace_through_shared_memory_inside_a_graph_raises():
    x = lucid.ones(3, requires_grad=True)
    for make in (lambda: (x * 2)[:2], lambda: (x * 2).reshape(3, 1), lambda: (x * 2).detach()):
        v = make()
        with pytest.raises(RuntimeError, match="shares its memory"):
            v.add_(x[:1] if v.shape == (2,) else 1.0) if v.requires_grad else v.mul_(x.reshape(v.shape))
    y = x * 2
    view = y[:2]
    with pytest.raises(RuntimeError, match="shares its memory"):
        y += 1  # y has a view
    np.testing.assert_array_equal(view.data, [2.0, 2.0])  # nothing was written
    with lucid.no_grad():  # outside a graph a write through a view is a plain write
        view += 1
    np.testing.assert_array_equal(y.data, [3.0, 3.0, 2.0])


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "silu"])
def test_inplace_activations_write_into_their_input_as_pytorch(name, rng):
    x = rng.standard_normal((3, 4))
    lx, tx = lucid.tensor(x.copy()), torch.tensor(x.copy())
    ly = getattr(lucid.nn.functional, name)(lx, inplace=True)
    getattr(torch.nn.functional, name)(tx, inplace=True)
    assert ly is lx
    np.testing.assert_allclose(lx.data, tx.numpy(), **TOL)
    w = lucid.nn.Parameter(lucid.tensor(x))
    with pytest.raises(RuntimeError, match="leaf Tensor that requires grad"):
        getattr(lucid.nn.functional, name)(w, inplace=True)
    np.testing.assert_array_equal(w.data, x)
    a, ta = lucid.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    h, th = a * 3, ta * 3
    getattr(lucid.nn.functional, name)(h, inplace=True)
    getattr(torch.nn.functional, name)(th, inplace=True)
    (h * h).sum().backward()
    (th * th).sum().backward()
    np.testing.assert_allclose(a.grad, ta.grad.numpy(), **TOL)


def test_augmented_assignment_inside_a_graph_stays_differentiable(rng):
    x, tx = pair(rng.standard_normal(3))
    y, ty = x * 2, tx * 2
    y += x * x  # a non-leaf: recorded in place
    ty += tx * tx
    acc, tacc = lucid.zeros(3, dtype=lucid.float64), torch.zeros(3, dtype=torch.float64)
    acc += y  # a constant accumulating a tensor that requires grad
    tacc += ty
    acc *= x
    tacc *= tx
    acc.sum().backward()
    tacc.sum().backward()
    assert acc.requires_grad
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), **TOL)


def test_inplace_on_plain_tensors_changes_them_in_place():
    a = lucid.tensor([1.0, 2.0])
    data = a.data
    a += 1
    a *= lucid.tensor([2.0, 3.0])
    a /= 2
    a -= 0.5
    a.add_(lucid.tensor([1.0, 1.0]), alpha=2)
    assert a.data is data
    np.testing.assert_array_equal(a.data, [3.5, 6.0])  # ((1 + 1)·2 / 2 − 0.5 + 2, (2 + 1)·3 / 2 − 0.5 + 2)
    a[1] = lucid.tensor(0.0)
    np.testing.assert_array_equal(a.data, [3.5, 0.0])
    assert a.zero_() is a and a.data.tolist() == [0.0, 0.0]
    assert a.fill_(1.5) is a and a.data.tolist() == [1.5, 1.5]


def test_grads_never_alias_the_seed_or_each_other():
    # the engine may keep a fresh gradient array as .grad without copying it, but never one that
    # something else can see: the caller's seed, or an array already given to another tensor
    a = lucid.Tensor(np.ones(3), requires_grad=True)
    b = lucid.Tensor(np.ones(3), requires_grad=True)
    seed = lucid.Tensor(np.full(3, 2.0))
    (a + b).backward(seed)
    assert not np.shares_memory(a.grad, seed.data)
    assert not np.shares_memory(a.grad, b.grad)
    a.grad *= 5
    np.testing.assert_array_equal(b.grad, [2.0, 2.0, 2.0])
    np.testing.assert_array_equal(seed.data, [2.0, 2.0, 2.0])


def test_retained_graph_grads_are_copies():
    x = lucid.Tensor(np.arange(4.0), requires_grad=True)
    y = (x * 3).reshape(2, 2)
    y.backward(np.ones((2, 2)), retain_graph=True)
    first = x.grad
    y.backward(np.ones((2, 2)))
    np.testing.assert_array_equal(first, [3.0] * 4)
    np.testing.assert_array_equal(x.grad, [6.0] * 4)
