"""lucid.nn.Module, Parameter and the containers, side by side with the same models built in PyTorch."""

import copy
import pickle
from collections import OrderedDict

import numpy as np
import pytest
import torch
import torch.nn as tnn

import lucid
import lucid.nn as nn
from lucid.nn import Module, Parameter


# ---- one model, written twice: once for each library ----------------------------------------------
def make_block(lib):
    class Block(lib.Module):
        """A layer with a parameter, a reserved parameter slot, persistent, non-persistent and None buffers."""

        def __init__(self, n):
            super().__init__()
            self.scale = lib.Parameter(ones(lib, n))
            self.register_parameter("shift", None)
            self.register_buffer("running_mean", zeros(lib, n))
            self.register_buffer("num_batches_tracked", long_zero(lib))
            self.register_buffer("cache", zeros(lib, n), persistent=False)
            self.register_buffer("unused", None)
            self.fc = lib.Linear(n, n)

        def forward(self, x):
            return self.fc(x) * self.scale

    return Block


def ones(lib, n):
    return torch.ones(n, dtype=torch.float64) if lib is tnn else lucid.ones(n, dtype="double")


def zeros(lib, n):
    return torch.zeros(n, dtype=torch.float64) if lib is tnn else lucid.zeros(n, dtype="double")


def long_zero(lib):
    return torch.tensor(0, dtype=torch.long) if lib is tnn else lucid.tensor(0, dtype="long")


def make_net(lib):
    Block = make_block(lib)

    class Net(lib.Module):
        def __init__(self):
            super().__init__()
            self.embed = lib.Embedding(10, 4, padding_idx=0)
            self.blocks = lib.ModuleList([Block(4), Block(4)])
            self.heads = lib.ModuleDict({"a": lib.Linear(4, 3), "b": lib.Sequential(lib.Linear(4, 2), lib.Tanh())})
            self.act = lib.GELU()
            self.nothing = None

        def forward(self, idx):
            h = self.embed(idx)
            for b in self.blocks:
                h = self.act(b(h))
            return self.heads["a"](h), self.heads["b"](h)

    return Net


def build_pair():
    torch.manual_seed(0)
    lucid.manual_seed(0)
    return make_net(nn)().double(), make_net(tnn)().double()


def copy_torch_to_lucid(lm, tm):
    lm.load_state_dict({k: v.numpy() for k, v in tm.state_dict().items()})


def snapshot(m):
    """Every array of the module's state (by identity and by value), to check nothing changed."""
    return [(name, t, t.data, t.data.copy()) for name, t in list(m.named_parameters()) + list(m.named_buffers())]


def assert_unchanged(m, snap):
    now = {name: t for name, t in list(m.named_parameters()) + list(m.named_buffers())}
    assert sorted(now) == sorted(s[0] for s in snap)
    for name, t, arr, values in snap:
        assert now[name] is t and t.data is arr, name
        np.testing.assert_array_equal(t.data, values, err_msg=name)


# ---- Parameter --------------------------------------------------------------------------------------
def test_parameter_is_a_tensor_that_requires_grad_and_shares_data():
    arr = np.arange(6.0).reshape(2, 3)
    p = Parameter(lucid.Tensor(arr))
    assert isinstance(p, lucid.Tensor) and p.requires_grad and p.is_leaf
    assert p.data is arr
    assert not Parameter(arr, requires_grad=False).requires_grad
    assert Parameter().shape == (0,)
    assert repr(p).startswith("Parameter containing:\nTensor(")
    with pytest.raises(RuntimeError, match="floating point"):
        Parameter(np.arange(3))


# ---- registration -------------------------------------------------------------------------------------
def test_attribute_assignment_registers_parameters_modules_and_buffers():
    m = make_block(nn)(3)
    assert list(m._parameters) == ["scale", "shift"] and m.shift is None
    assert list(m._buffers) == ["running_mean", "num_batches_tracked", "cache", "unused"]
    assert list(m._modules) == ["fc"]
    m.extra = Parameter(np.zeros(2))
    assert "extra" in m._parameters and "extra" not in m.__dict__
    m.plain = 3  # neither: an ordinary attribute
    assert m.plain == 3 and "plain" not in m._parameters
    # re-assigning a registered name keeps it where it is
    m.running_mean = lucid.ones(3, dtype="double")
    assert m._buffers["running_mean"].data.sum() == 3
    m.shift = Parameter(np.ones(3))
    assert m.shift is m._parameters["shift"]
    m.fc = None
    assert m._modules["fc"] is None
    # a Parameter assigned over a buffer's name moves it to the parameters
    m.cache = Parameter(np.zeros(3))
    assert "cache" in m._parameters and "cache" not in m._buffers and "cache" not in m._non_persistent_buffers_set
    del m.extra
    assert "extra" not in m._parameters
    with pytest.raises(AttributeError, match="has no attribute 'extra'"):
        m.extra


def test_registration_errors():
    m = make_block(nn)(3)
    with pytest.raises(TypeError, match="cannot assign 'Tensor' as parameter 'scale'"):
        m.scale = lucid.ones(3)
    with pytest.raises(TypeError, match="cannot assign 'int' as child module 'fc'"):
        m.fc = 1
    with pytest.raises(TypeError, match="cannot assign 'int' as buffer 'running_mean'"):
        m.running_mean = 1
    with pytest.raises(TypeError, match="Parameter or None"):
        m.register_parameter("w", lucid.ones(3))
    with pytest.raises(KeyError, match='contain "."'):
        m.register_buffer("a.b", lucid.ones(3))
    with pytest.raises(KeyError, match="already exists"):
        m.register_buffer("scale", lucid.ones(3))
    with pytest.raises(KeyError, match="empty"):
        m.register_parameter("", None)

    class Forgot(Module):
        def __init__(self):
            self.w = Parameter(np.zeros(1))

    with pytest.raises(AttributeError, match="before Module.__init__"):
        Forgot()
    with pytest.raises(NotImplementedError, match='missing the required "forward"'):
        Module()(1)


# ---- walking the tree, compared with PyTorch's names ------------------------------------------------------
def test_named_members_match_torch():
    lm, tm = build_pair()
    for what in ("named_parameters", "named_buffers", "named_modules", "named_children"):
        ours = [n for n, _ in getattr(lm, what)()]
        theirs = [n for n, _ in getattr(tm, what)()]
        assert ours == theirs, what
    assert [type(m).__name__ for m in lm.modules()] == [type(m).__name__ for m in tm.modules()]
    assert [type(m).__name__ for m in lm.children()] == [type(m).__name__ for m in tm.children()]
    assert len(list(lm.parameters())) == len(list(tm.parameters()))
    assert len(list(lm.buffers())) == len(list(tm.buffers()))
    assert [n for n, _ in lm.named_parameters(recurse=False)] == []
    assert [n for n, _ in lm.blocks[0].named_parameters(prefix="x", recurse=False)] == ["x.scale"]


def test_shared_parameters_and_modules_are_listed_once():
    lin = nn.Linear(2, 2)
    seq = nn.Sequential(lin, nn.ReLU(), lin)
    tl = tnn.Linear(2, 2)
    tseq = tnn.Sequential(tl, tnn.ReLU(), tl)
    assert [n for n, _ in seq.named_parameters()] == [n for n, _ in tseq.named_parameters()] == ["0.weight", "0.bias"]
    assert [n for n, _ in seq.named_modules()] == [n for n, _ in tseq.named_modules()]
    assert list(seq.state_dict()) == list(tseq.state_dict())  # the state dict keeps both paths


def test_train_eval_propagate_and_return_self():
    lm, _ = build_pair()
    assert lm.eval() is lm
    assert all(not m.training for m in lm.modules())
    assert lm.heads.train() is lm.heads
    assert lm.heads["b"][1].training and not lm.training
    lm.train()
    assert all(m.training for m in lm.modules())
    with pytest.raises(ValueError, match="boolean"):
        lm.train("yes")


def test_zero_grad_requires_grad_and_apply():
    lm, tm = build_pair()
    out_a, out_b = lm(lucid.tensor([[1, 2, 3]]))
    (out_a.sum() + out_b.sum()).backward()
    assert all(p.grad is not None for p in lm.parameters())
    lm.zero_grad()
    assert all(p.grad is None for p in lm.parameters())
    lm.blocks.requires_grad_(False)
    assert [p.requires_grad for p in lm.parameters()] == [True] + [False] * 6 + [True] * 4
    ours, theirs = [], []
    lm.apply(lambda m: ours.append(type(m).__name__))
    tm.apply(lambda m: theirs.append(type(m).__name__))
    assert ours == theirs  # children before parents, in the same order


def test_to_dtype_casts_floats_in_place_of_the_same_objects():
    lm, _ = build_pair()
    params = {n: p for n, p in lm.named_parameters()}
    p0 = lm.blocks[0].scale
    p0.grad = np.ones(4)
    assert lm.to(lucid.float32) is lm
    assert all(p.dtype == np.float32 for p in lm.parameters())
    assert {n: p for n, p in lm.named_parameters()} == params  # same objects
    assert lm.blocks[0].scale is p0 and p0.grad.dtype == np.float32
    assert lm.blocks[0].running_mean.dtype == np.float32 and lm.blocks[0].cache.dtype == np.float32
    assert lm.blocks[0].num_batches_tracked.dtype == np.int64
    assert lm.double() is lm and lm.blocks[0].scale.dtype == np.float64
    with pytest.raises(TypeError, match="floating point"):
        lm.to(lucid.int64)


def test_forward_hooks_and_handles():
    lin = nn.Linear(3, 2).double()
    x = lucid.randn(4, 3, dtype="double")
    calls = []
    h1 = lin.register_forward_pre_hook(lambda m, args: (args[0] * 2,))
    h2 = lin.register_forward_hook(lambda m, args, out: calls.append((args[0].shape, out.shape)))
    h3 = lin.register_forward_hook(lambda m, args, out: out + 1)
    y = lin(x)
    expected = (x.data * 2) @ lin.weight.data.T + lin.bias.data + 1
    np.testing.assert_allclose(y.data, expected, rtol=1e-14)
    assert calls == [((4, 3), (4, 2))]
    h1.remove(), h2.remove(), h3.remove()
    np.testing.assert_allclose(lin(x).data, x.data @ lin.weight.data.T + lin.bias.data, rtol=1e-14)
    assert len(calls) == 1
    order = []
    lin.register_forward_pre_hook(lambda m, a: order.append("second"))
    lin.register_forward_pre_hook(lambda m, a: order.append("first"), prepend=True)
    with lin.register_forward_pre_hook(lambda m, a: order.append("third")):
        lin(x)
    lin(x)
    assert order == ["first", "second", "third", "first", "second"]


# ---- state dict ----------------------------------------------------------------------------------------------
def test_state_dict_keys_match_torch_and_exclude_non_persistent_buffers():
    lm, tm = build_pair()
    sd = lm.state_dict()
    assert list(sd) == list(tm.state_dict())
    assert "blocks.0.num_batches_tracked" in sd and "blocks.0.cache" not in sd and "blocks.0.unused" not in sd
    assert all(isinstance(v, lucid.Tensor) and not isinstance(v, Parameter) for v in sd.values())
    assert sd["embed.weight"].data is lm.embed.weight.data  # shares memory, like PyTorch
    assert lm.state_dict(keep_vars=True)["embed.weight"] is lm.embed.weight
    assert list(nn.CrossEntropyLoss(weight=lucid.ones(3)).state_dict()) == list(
        tnn.CrossEntropyLoss(weight=torch.ones(3)).state_dict()
    )


def test_load_state_dict_from_torch_gives_torch_outputs_and_keeps_objects():
    lm, tm = build_pair()
    ids = {n: (p, p.data) for n, p in lm.named_parameters()}
    assert (
        repr(lm.load_state_dict({k: v.numpy() for k, v in tm.state_dict().items()}))
        == "<All keys matched successfully>"
    )
    for n, p in lm.named_parameters():
        assert ids[n][0] is p and ids[n][1] is p.data  # written in place
    idx = np.array([[1, 0, 7], [3, 3, 9]])
    a, b = lm(lucid.tensor(idx))
    ta, tb = tm(torch.tensor(idx))
    np.testing.assert_allclose(a.data, ta.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(b.data, tb.detach().numpy(), rtol=1e-10, atol=1e-12)
    # and lucid Tensors are accepted too, cast to each parameter's dtype
    sd32 = {
        k: lucid.Tensor(v.data.astype(np.float32)) if v.dtype == np.float64 else v for k, v in lm.state_dict().items()
    }
    lm2 = make_net(nn)().double()
    lm2.load_state_dict(sd32)
    assert lm2.embed.weight.dtype == np.float64
    np.testing.assert_allclose(lm2.embed.weight.data, lm.embed.weight.data, rtol=1e-6)


def test_state_dict_round_trip_to_torch():
    lm, tm = build_pair()
    tm.load_state_dict({k: torch.from_numpy(np.array(v.data)) for k, v in lm.state_dict().items()})
    idx = np.array([[2, 4]])
    np.testing.assert_allclose(
        lm(lucid.tensor(idx))[0].data, tm(torch.tensor(idx))[0].detach().numpy(), rtol=1e-10, atol=1e-12
    )


@pytest.mark.parametrize("kind", ["missing", "unexpected", "shape", "shape_not_strict", "unreadable", "all"])
def test_load_state_dict_is_atomic(kind):
    lm, tm = build_pair()
    good = {k: v.numpy() + 1 for k, v in tm.state_dict().items()}
    bad = dict(good)
    strict = True
    if kind in ("missing", "all"):
        del bad["heads.b.0.bias"]
    if kind in ("unexpected", "all"):
        bad["blocks.0.shift"] = np.zeros(4)
    if kind in ("shape", "shape_not_strict", "all"):
        bad["blocks.1.fc.weight"] = np.zeros((4, 5))
        strict = kind != "shape_not_strict"
    if kind == "unreadable":
        bad["embed.weight"] = "not an array"
    snap = snapshot(lm)
    with pytest.raises(RuntimeError) as info:
        lm.load_state_dict(bad, strict=strict)
    msg = str(info.value)
    assert msg.startswith("Error(s) in loading state_dict for Net:")
    if kind in ("missing", "all"):
        assert 'Missing key(s) in state_dict: "heads.b.0.bias"' in msg
    if kind in ("unexpected", "all"):
        assert 'Unexpected key(s) in state_dict: "blocks.0.shift"' in msg
    if kind in ("shape", "shape_not_strict", "all"):
        assert "size mismatch for blocks.1.fc.weight" in msg and "(4, 5)" in msg and "(4, 4)" in msg
    if kind == "unreadable":
        assert "embed.weight" in msg
    assert_unchanged(lm, snap)


def test_load_state_dict_not_strict_reports_keys_and_loads_the_rest():
    lm, tm = build_pair()
    sd = {k: v.numpy() + 1 for k, v in tm.state_dict().items()}
    del sd["heads.a.weight"]
    sd["extra.weight"] = np.zeros(2)
    before = lm.heads.a.weight.data.copy()
    res = lm.load_state_dict(sd, strict=False)
    assert res.missing_keys == ["heads.a.weight"] and res.unexpected_keys == ["extra.weight"]
    missing, unexpected = res
    assert missing == ["heads.a.weight"]
    tres = tm.load_state_dict({k: torch.tensor(v) for k, v in sd.items()}, strict=False)
    assert (tres.missing_keys, tres.unexpected_keys) == (res.missing_keys, res.unexpected_keys)
    np.testing.assert_array_equal(lm.heads.a.weight.data, before)
    np.testing.assert_array_equal(lm.embed.weight.data, sd["embed.weight"])
    assert lm.blocks[0].num_batches_tracked.item() == 1


def test_training_keeps_working_after_load_state_dict():
    lin = nn.Linear(3, 1).double()
    params = list(lin.parameters())
    lin.load_state_dict({"weight": np.ones((1, 3)), "bias": np.zeros(1)})
    x = lucid.ones(2, 3, dtype="double")
    lin(x).sum().backward()
    with lucid.no_grad():
        for p in params:  # a plain SGD step through the references taken before loading
            p.data -= 0.1 * p.grad
    np.testing.assert_allclose(lin.weight.data, np.full((1, 3), 0.8))
    np.testing.assert_allclose(lin.bias.data, [-0.2])


# ---- repr ---------------------------------------------------------------------------------------------------------
def test_repr_equals_torch():
    def model(lib):
        return lib.Sequential(
            lib.Linear(4, 8),
            lib.ReLU(),
            lib.Dropout(0.1),
            lib.Linear(8, 8, bias=False),
            lib.GELU(approximate="tanh"),
            lib.LeakyReLU(0.2),
            lib.SiLU(),
            lib.Sigmoid(),
            lib.Tanh(),
            lib.ModuleList([lib.Linear(2, 2), lib.Linear(2, 2), lib.Linear(2, 2), lib.ReLU(), lib.ReLU()]),
            lib.ModuleDict({"emb": lib.Embedding(10, 3, padding_idx=0), "flat": lib.Flatten(0, 1)}),
            lib.Softmax(dim=-1),
            lib.LogSoftmax(dim=1),
            lib.Identity(),
            lib.CrossEntropyLoss(),
            lib.Embedding(5, 2, max_norm=1.0, norm_type=1.0, scale_grad_by_freq=True),
            lib.ModuleList(),
            lib.Sequential(),
            lib.ReLU(inplace=True),
        )

    assert repr(model(nn)) == repr(model(tnn))
    lm, tm = build_pair()
    assert repr(lm) == repr(tm)


# ---- containers ---------------------------------------------------------------------------------------------------
def test_sequential_indexing_slicing_and_editing():
    a, b, c = nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)
    seq = nn.Sequential(a, b, c)
    assert len(seq) == 3 and seq[0] is a and seq[-1] is c and list(seq) == [a, b, c]
    sub = seq[1:]
    assert isinstance(sub, nn.Sequential) and list(sub) == [b, c] and list(sub._modules) == ["1", "2"]
    with pytest.raises(IndexError, match="out of range"):
        seq[3]
    x = lucid.randn(5, 2)
    np.testing.assert_allclose(seq(x).data, c(b(a(x))).data)
    d = nn.Tanh()
    seq.append(d)
    assert seq[3] is d and list(seq._modules) == ["0", "1", "2", "3"]
    del seq[1]
    assert list(seq) == [a, c, d] and list(seq._modules) == ["0", "1", "2"]
    seq[0] = b
    assert seq[0] is b
    seq.insert(1, a)
    assert list(seq) == [b, a, c, d]
    named = nn.Sequential(OrderedDict([("fc", a), ("act", b)]))
    assert list(named.state_dict()) == ["fc.weight", "fc.bias"] and named.fc is a


def test_module_list_and_dict():
    layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    assert len(layers) == 3 and len(list(layers.parameters())) == 6
    layers.append(nn.ReLU())
    layers.extend([nn.Tanh()])
    layers += [nn.Sigmoid()]
    assert [type(m).__name__ for m in layers[3:]] == ["ReLU", "Tanh", "Sigmoid"]
    assert isinstance(layers[1:3], nn.ModuleList) and layers[-1] is layers[5]
    del layers[0]
    assert list(layers._modules) == [str(i) for i in range(5)]
    layers.insert(0, nn.Identity())
    assert isinstance(layers[0], nn.Identity) and len(layers) == 6
    with pytest.raises(IndexError):
        layers[6]
    heads = nn.ModuleDict({"a": nn.Linear(2, 2)})
    heads["b"] = nn.Linear(2, 3)
    heads.update([("c", nn.ReLU())])
    assert list(heads) == ["a", "b", "c"] and "b" in heads and len(heads) == 3
    assert list(heads.keys()) == ["a", "b", "c"] and isinstance(heads.pop("c"), nn.ReLU)
    assert list(heads.state_dict()) == ["a.weight", "a.bias", "b.weight", "b.bias"]
    with pytest.raises(TypeError, match="is not a Module subclass"):
        heads["d"] = 3


def test_deepcopy_gives_independent_parameters():
    lm, _ = build_pair()
    cp = copy.deepcopy(lm)
    assert isinstance(cp.embed.weight, Parameter) and cp.embed.weight is not lm.embed.weight
    np.testing.assert_array_equal(cp.embed.weight.data, lm.embed.weight.data)
    cp.embed.weight.data += 1
    assert not np.array_equal(cp.embed.weight.data, lm.embed.weight.data)
    assert list(cp.state_dict()) == list(lm.state_dict())


def test_deepcopy_and_pickle_leave_the_gradients_behind_as_pytorch():
    lin, tlin = nn.Linear(2, 2), torch.nn.Linear(2, 2)
    lin.weight.grad, tlin.weight.grad = np.ones((2, 2), np.float32), torch.ones(2, 2)
    for copied, tcopied in ((copy.deepcopy(lin), copy.deepcopy(tlin)), (pickle.loads(pickle.dumps(lin)), None)):
        assert copied.weight.grad is None and copied.weight.requires_grad
        np.testing.assert_array_equal(copied.weight.data, lin.weight.data)
        assert tcopied is None or tcopied.weight.grad is None
    np.testing.assert_array_equal(lin.weight.grad, np.ones((2, 2)))  # the original keeps its own


def test_get_submodule_and_parameter():
    lm, _ = build_pair()
    assert lm.get_submodule("heads.b.0") is lm.heads["b"][0]
    assert lm.get_parameter("blocks.1.fc.bias") is lm.blocks[1].fc.bias
    assert lm.get_buffer("blocks.0.running_mean") is lm.blocks[0].running_mean
    with pytest.raises(AttributeError, match="no attribute `nope`"):
        lm.get_submodule("heads.nope")
