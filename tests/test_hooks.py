"""Tensor.register_hook and Module full backward hooks, against PyTorch in float64."""

import numpy as np
import pytest
import torch
from compare import close

import lucid
import lucid.nn as nn


def both(a):
    return lucid.Tensor(a.copy(), requires_grad=True), torch.tensor(a.copy(), requires_grad=True)


def test_leaf_hook_sees_the_summed_gradient_once_and_replaces_it():
    a = np.random.default_rng(0).standard_normal((3, 4))
    seen = {"lucid": [], "torch": []}
    x, tx = both(a)
    x.register_hook(lambda g: seen["lucid"].append(g.numpy().copy()) or g * 2)
    tx.register_hook(lambda g: seen["torch"].append(g.numpy().copy()) or g * 2)
    ((x * x).sum() + (x.exp() * 3).sum()).backward()
    ((tx * tx).sum() + (tx.exp() * 3).sum()).backward()
    assert len(seen["lucid"]) == len(seen["torch"]) == 1
    close(seen["lucid"][0], seen["torch"][0])
    close(x.grad, tx.grad)
    ((x * x).sum()).backward()  # a second backward: accumulates the hooked gradient
    ((tx * tx).sum()).backward()
    close(x.grad, tx.grad)


def test_non_leaf_hooks_chain_and_flow_on():
    a = np.random.default_rng(1).standard_normal(5)
    x, tx = both(a)
    h, th = x * 3, tx * 3
    for t in (h, th):
        t.retain_grad()
        t.register_hook(lambda g: g + 1)
        t.register_hook(lambda g: g * g)  # gets the result of the first
    (h * h.exp()).sum().backward()
    (th * th.exp()).sum().backward()
    close(h.grad, th.grad)  # the retained gradient is the hooked one
    close(x.grad, tx.grad)


def test_observer_hooks_remove_and_errors():
    x = lucid.Tensor(np.ones(3), requires_grad=True)
    calls = []
    handle = x.register_hook(lambda g: calls.append(1))
    (x * 2).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 2.0, 2.0])
    handle.remove()
    handle.remove()
    (x * 2).sum().backward()
    assert calls == [1]
    with pytest.raises(RuntimeError, match="cannot register a hook on a tensor that doesn't require gradient"):
        lucid.Tensor(np.ones(2)).register_hook(lambda g: g)
    x.register_hook(lambda g: g.sum())
    before = x.grad.copy()
    with pytest.raises(RuntimeError, match="has changed the size of value"):
        (x * 2).sum().backward()
    np.testing.assert_array_equal(x.grad, before)


def test_hook_applies_to_autograd_grad():
    a = np.random.default_rng(2).standard_normal(4)
    x, tx = both(a)
    x.register_hook(lambda g: g * 10)
    tx.register_hook(lambda g: g * 10)
    (g,) = lucid.autograd.grad((x**3).sum(), x)
    (tg,) = torch.autograd.grad((tx**3).sum(), tx)
    close(g, tg)
    assert x.grad is None


def linear_pair(seed=0):
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    tm = torch.nn.Linear(4, 3).double()
    m = nn.Linear(4, 3).double()
    m.load_state_dict({k: v.detach().numpy().copy() for k, v in tm.state_dict().items()})
    return m, tm, rng.standard_normal((5, 4))


@pytest.mark.filterwarnings("ignore:Full backward hook is firing")
@pytest.mark.parametrize("input_requires_grad", [True, False])
def test_full_backward_hook_sees_what_torch_sees(input_requires_grad):
    m, tm, a = linear_pair()
    rec = {}

    def hook(name):
        def fn(module, grad_input, grad_output):
            rec[name] = (grad_input, grad_output)

        return fn

    m.register_full_backward_hook(hook("lucid"))
    tm.register_full_backward_hook(hook("torch"))
    x, tx = lucid.Tensor(a, requires_grad=input_requires_grad), torch.tensor(a, requires_grad=input_requires_grad)
    (m(x).tanh()).sum().backward()
    (tm(tx).tanh()).sum().backward()
    (gi, go), (tgi, tgo) = rec["lucid"], rec["torch"]
    assert len(gi) == len(tgi) == 1 and len(go) == len(tgo) == 1
    close(go[0], tgo[0])
    if input_requires_grad:
        close(gi[0], tgi[0])
        close(x.grad, tx.grad)
    else:
        assert gi[0] is None and tgi[0] is None
    close(m.weight.grad, tm.weight.grad)


def test_backward_hooks_replace_gradients():
    m, tm, a = linear_pair(1)
    for mod in (m, tm):
        mod.register_full_backward_pre_hook(lambda mod, go: (go[0] * 0.5,))
        mod.register_full_backward_hook(lambda mod, gi, go: (gi[0] * 3 + 1,))
    x, tx = lucid.Tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    (m(x) ** 2).sum().backward()
    (tm(tx) ** 2).sum().backward()
    close(x.grad, tx.grad)
    close(m.weight.grad, tm.weight.grad)  # the parameters see the replaced grad_output
    close(m.bias.grad, tm.bias.grad)


def test_backward_hook_handle_and_bad_return():
    m, _, a = linear_pair(2)
    handle = m.register_full_backward_hook(lambda mod, gi, go: (gi[0], gi[0]))
    x = lucid.Tensor(a, requires_grad=True)
    with pytest.raises(RuntimeError, match="invalid number of grad_inputs"):
        m(x).sum().backward()
    handle.remove()
    m(x).sum().backward()
    close(x.grad, np.broadcast_to(m.weight.data.sum(0), a.shape))


def test_full_backward_hooks_see_none_for_an_output_without_a_gradient():
    """grad_output has one entry per tensor output, None where the output does not require grad."""
    seen = []
    for L in (lucid, torch):

        class Two(L.nn.Module):
            def forward(self, x, y):
                return x * y, y * 2

        m = Two()
        m.register_full_backward_pre_hook(lambda mod, go: seen.append(("pre", L, [g is None for g in go])))
        m.register_full_backward_hook(lambda mod, gi, go: seen.append(("post", L, [g is None for g in go])))
        x = L.tensor(np.array([1.0, 2.0]), requires_grad=True)
        o1, _ = m(x, L.tensor(np.array([3.0, 4.0])))
        (o1**2).sum().backward()
        np.testing.assert_array_equal(np.asarray(x.grad if L is lucid else x.grad.numpy()), [18.0, 64.0])
    ours = [(kind, flags) for kind, L, flags in seen if L is lucid]
    theirs = [(kind, flags) for kind, L, flags in seen if L is torch]
    assert ours == theirs == [("pre", [False, True]), ("post", [False, True])]


def test_full_backward_hooks_on_a_module_returning_a_list_are_skipped_with_a_warning():
    class Pair(nn.Module):
        def forward(self, x):
            return [x * 2, x * 3]

    m = Pair()
    called = []
    m.register_full_backward_hook(lambda *args: called.append(args))
    x = lucid.tensor(np.array([1.0, 1.0]), requires_grad=True)
    with pytest.warns(UserWarning, match="full backward hooks are not called"):
        a, b = m(x)
    (a + b).sum().backward()
    np.testing.assert_array_equal(x.grad, [5.0, 5.0])  # as PyTorch, which skips them too
    assert called == []
