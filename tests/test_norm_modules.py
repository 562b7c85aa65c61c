"""The normalization modules against PyTorch's (float64, 1e-10), step by step, plus their state and checks."""

import inspect

import numpy as np
import pytest
import torch
from compare import close

import lucid
import lucid.nn as nn
from lucid.autograd import gradcheck


def same_state(m, tm):
    """Parameters, their gradients, and buffers of a lucid module and a torch module agree."""
    for name in ("weight", "bias"):
        assert hasattr(m, name) == hasattr(tm, name), name
        p, tp = getattr(m, name, None), getattr(tm, name, None)
        assert (p is None) == (tp is None), name
        if p is not None:
            close(p, tp)
            assert (p.grad is None) == (tp.grad is None), name
            if p.grad is not None:
                close(p.grad, tp.grad)
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        b, tb = getattr(m, name, None), getattr(tm, name, None)
        assert (b is None) == (tb is None), name
        if b is not None:
            close(b, tb)
            assert b.dtype == (np.int64 if name == "num_batches_tracked" else np.float64)


def make_pair(cls, args, kwargs, seed):
    """The same layer in lucid and in torch, float64, with random γ and β."""
    m = getattr(nn, cls)(*args, **kwargs).double()
    tm = getattr(torch.nn, cls)(*args, **kwargs, dtype=torch.float64)
    rng = np.random.default_rng(seed)
    for name in ("weight", "bias"):
        p = getattr(m, name, None)
        if p is not None:
            v = rng.uniform(0.5, 1.5, p.shape) if name == "weight" else rng.standard_normal(p.shape)
            p.data[...] = v
            with torch.no_grad():
                getattr(tm, name).copy_(torch.tensor(v))
    return m, tm


def step(m, tm, x, rng, instance_norm_bookkeeping=False):
    """One forward/backward through both; compares output, input gradient and the whole state."""
    lx, tx = lucid.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    if instance_norm_bookkeeping and tm.training and tm.track_running_stats:
        # lucid's InstanceNorm counts its batches and reads momentum=None as a cumulative
        # average (ERRATA 8), like BatchNorm; torch's InstanceNorm does neither. Same math,
        # driven with the factor lucid uses.
        momentum = tm.momentum
        tm.momentum = 1.0 / (int(tm.num_batches_tracked) + 1) if momentum is None else momentum
        ty = tm(tx)
        tm.momentum = momentum
        tm.num_batches_tracked += 1
    else:
        ty = tm(tx)
    y = m(lx)
    assert y.dtype == np.float64
    close(y, ty)
    gy = rng.standard_normal(y.shape)
    y.backward(gy)
    ty.backward(torch.tensor(gy))
    close(lx.grad, tx.grad)
    same_state(m, tm)


NORM_SHAPES = [
    ("BatchNorm1d", (4, 3)),
    ("BatchNorm1d", (3, 3, 4)),
    ("BatchNorm2d", (2, 3, 2, 3)),
    ("BatchNorm3d", (2, 3, 2, 1, 2)),
    ("InstanceNorm1d", (2, 3, 4)),
    ("InstanceNorm1d", (3, 4)),
    ("InstanceNorm2d", (2, 3, 2, 3)),
    ("InstanceNorm2d", (3, 2, 3)),
    ("InstanceNorm3d", (2, 3, 2, 1, 2)),
    ("InstanceNorm3d", (3, 2, 2, 1)),
]


@pytest.mark.parametrize("cls,shape", NORM_SHAPES, ids=[f"{c}-{len(s)}D" for c, s in NORM_SHAPES])
@pytest.mark.parametrize("affine", [True, False], ids=["affine", "no_affine"])
@pytest.mark.parametrize("track", [True, False], ids=["track", "no_track"])
@pytest.mark.parametrize("momentum", [0.1, None, 0.3])
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_batch_and_instance_norm_match_torch(cls, shape, affine, track, momentum, mode):
    m, tm = make_pair(
        cls, (3,), dict(eps=1e-3, momentum=momentum, affine=affine, track_running_stats=track), seed=len(shape)
    )
    rng = np.random.default_rng(hash((cls, shape)) % 2**32)
    inorm = cls.startswith("Instance")
    for i in range(3):  # several training steps: running statistics accumulate, gradients add up
        step(m, tm, rng.standard_normal(shape) * (1 + i) + i, rng, inorm)
    if mode == "eval":
        m.eval(), tm.eval()
        for i in range(2):
            step(m, tm, rng.standard_normal(shape) * 2 - 1, rng, inorm)
        m.train(), tm.train()
        step(m, tm, rng.standard_normal(shape), rng, inorm)  # and back to training


@pytest.mark.parametrize(
    "cls,args,kwargs,shape",
    [
        ("LayerNorm", (4,), {}, (3, 4)),
        ("LayerNorm", ((2, 3),), dict(eps=1e-3), (2, 2, 3)),
        ("LayerNorm", ([3],), dict(bias=False), (2, 2, 3)),
        ("LayerNorm", (3,), dict(elementwise_affine=False), (5, 3)),
        ("GroupNorm", (2, 4), {}, (3, 4, 5)),
        ("GroupNorm", (1, 3), dict(eps=1e-3), (2, 3, 2, 2)),
        ("GroupNorm", (3, 3), dict(affine=False), (2, 3, 4)),
        ("GroupNorm", (2, 4), dict(bias=False), (2, 4)),
        ("RMSNorm", (4,), {}, (3, 4)),
        ("RMSNorm", ((2, 3),), dict(eps=1e-3), (2, 2, 3)),
        ("RMSNorm", (3,), dict(elementwise_affine=False), (4, 3)),
    ],
)
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_layer_group_rms_norm_match_torch(cls, args, kwargs, shape, mode):
    m, tm = make_pair(cls, args, kwargs, seed=1)
    getattr(m, mode)(), getattr(tm, mode)()
    rng = np.random.default_rng(2)
    for i in range(2):
        step(m, tm, rng.standard_normal(shape) * 3 + 1, rng)


@pytest.mark.parametrize(
    "cls,args,shape",
    [
        ("LayerNorm", (5,), (130, 5)),  # more rows than the kernels' chunks
        ("RMSNorm", (6,), (3, 40, 6)),
        ("GroupNorm", (2, 4), (3, 4, 7)),
        ("InstanceNorm1d", (3,), (2, 3, 9)),
        ("BatchNorm1d", (4,), (6, 4)),
    ],
)
@pytest.mark.parametrize("frozen", [("weight", "bias"), ("weight",), ("bias",)], ids=["both", "weight", "bias"])
def test_frozen_affine_parameters_match_torch(cls, args, shape, frozen):
    # a frozen γ or β gets no gradient; the kernels skip the dw, db sums when neither needs one
    kwargs = dict(affine=True, track_running_stats=False) if cls.startswith("Instance") else {}
    m, tm = make_pair(cls, args, kwargs, seed=3)
    params = [name for name in ("weight", "bias") if getattr(m, name, None) is not None]  # RMSNorm has no bias
    for name in set(frozen) & set(params):
        getattr(m, name).requires_grad = False
        getattr(tm, name).requires_grad_(False)
    rng = np.random.default_rng(4)
    for i in range(2):
        step(m, tm, rng.standard_normal(shape) * 2 - 1, rng)
    for name in params:
        assert (getattr(m, name).grad is None) == (name in frozen)


# ---- gradcheck on each module -------------------------------------------------------------------
GRADCHECK = [
    ("BatchNorm1d", (2,), (3, 2)),
    ("BatchNorm1d", (2,), (2, 2, 2)),
    ("BatchNorm2d", (2,), (2, 2, 1, 2)),
    ("BatchNorm3d", (2,), (2, 2, 1, 1, 2)),
    ("InstanceNorm1d", (2,), (2, 2, 3)),
    ("InstanceNorm1d", (2,), (2, 3)),
    ("InstanceNorm2d", (2,), (1, 2, 2, 2)),
    ("InstanceNorm3d", (2,), (2, 1, 2, 2)),
    ("LayerNorm", ((2, 2),), (2, 2, 2)),
    ("GroupNorm", (2, 4), (2, 4, 2)),
    ("RMSNorm", (3,), (2, 3)),
]


@pytest.mark.parametrize("cls,args,shape", GRADCHECK, ids=[f"{c}-{len(s)}D" for c, *_, s in GRADCHECK])
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_gradcheck_module(cls, args, shape, mode):
    m = getattr(nn, cls)(*args).double()
    rng = np.random.default_rng(3)
    if getattr(m, "running_mean", None) is not None:
        m.running_mean.data[...] = rng.standard_normal(m.running_mean.shape)
        m.running_var.data[...] = rng.uniform(0.5, 2, m.running_var.shape)
    params = [p for p in (m.weight, getattr(m, "bias", None)) if p is not None]
    for p in params:
        p.data[...] = rng.uniform(0.5, 1.5, p.shape)
    getattr(m, mode)()
    x = lucid.Tensor(rng.standard_normal(shape), requires_grad=True)
    assert gradcheck(lambda x, *ps: m(x), (x, *params))


# ---- signatures, defaults, attributes, state ----------------------------------------------------
PAGE_SIGNATURE = ["num_features", "eps", "momentum", "affine", "track_running_stats"]


@pytest.mark.parametrize(
    "cls", ["BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d"]
)
def test_pages_signature_and_defaults(cls):
    params = inspect.signature(getattr(nn, cls)).parameters
    assert list(params)[:5] == PAGE_SIGNATURE
    assert [params[p].default for p in PAGE_SIGNATURE[1:]] == [1e-5, 0.1, True, True]
    m = getattr(nn, cls)(4)
    assert (m.num_features, m.eps, m.momentum, m.affine, m.track_running_stats) == (4, 1e-5, 0.1, True, True)
    np.testing.assert_array_equal(m.weight.data, np.ones(4))
    np.testing.assert_array_equal(m.bias.data, np.zeros(4))
    np.testing.assert_array_equal(m.running_mean.data, np.zeros(4))
    np.testing.assert_array_equal(m.running_var.data, np.ones(4))
    assert m.num_batches_tracked.shape == () and m.num_batches_tracked.dtype == np.int64
    assert int(m.num_batches_tracked.data) == 0
    assert isinstance(m.weight, nn.Parameter) and m.weight.requires_grad and m.weight.dtype == np.float32
    assert not m.running_mean.requires_grad and m.running_mean.dtype == np.float32
    assert [n for n, _ in m.named_parameters()] == ["weight", "bias"]
    assert [n for n, _ in m.named_buffers()] == ["running_mean", "running_var", "num_batches_tracked"]


def test_other_signatures_and_defaults():
    sig = lambda c: {k: v.default for k, v in inspect.signature(c).parameters.items()}  # noqa: E731
    assert list(sig(nn.LayerNorm).items())[:4] == [
        ("normalized_shape", inspect.Parameter.empty),
        ("eps", 1e-5),
        ("elementwise_affine", True),
        ("bias", True),
    ]
    assert list(sig(nn.GroupNorm).items())[:4] == [
        ("num_groups", inspect.Parameter.empty),
        ("num_channels", inspect.Parameter.empty),
        ("eps", 1e-5),
        ("affine", True),
    ]
    assert list(sig(nn.RMSNorm).items())[:3] == [
        ("normalized_shape", inspect.Parameter.empty),
        ("eps", None),
        ("elementwise_affine", True),
    ]
    ln = nn.LayerNorm((2, 3))
    assert ln.normalized_shape == (2, 3) and ln.weight.shape == (2, 3) and ln.bias.shape == (2, 3)
    assert nn.LayerNorm(5).normalized_shape == (5,)
    assert nn.LayerNorm(3, bias=False).bias is None
    assert nn.LayerNorm(3, elementwise_affine=False).weight is None
    gn = nn.GroupNorm(2, 6)
    assert gn.weight.shape == (6,) and (gn.num_groups, gn.num_channels, gn.eps, gn.affine) == (2, 6, 1e-5, True)
    rn = nn.RMSNorm([2, 3])
    assert rn.normalized_shape == (2, 3) and rn.eps is None and rn.weight.shape == (2, 3)
    assert [n for n, _ in rn.named_parameters()] == ["weight"]


@pytest.mark.parametrize("affine,track", [(True, True), (True, False), (False, True), (False, False)])
def test_none_attributes(affine, track):
    m = nn.InstanceNorm2d(3, affine=affine, track_running_stats=track)
    assert (m.weight is None, m.bias is None) == (not affine, not affine)
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        assert (getattr(m, name) is None) == (not track)
    m(lucid.randn(2, 3, 2, 2))  # and it runs


def test_reset_running_stats_and_parameters_in_place():
    m = nn.BatchNorm1d(3)
    arrays = [m.running_mean.data, m.running_var.data, m.num_batches_tracked.data, m.weight.data, m.bias.data]
    m.weight.data[...] = 2
    m.bias.data[...] = 3
    m(lucid.randn(4, 3) * 5 + 1)
    assert int(m.num_batches_tracked.data) == 1 and not np.allclose(m.running_var.data, 1)
    m.reset_running_stats()
    np.testing.assert_array_equal(m.running_mean.data, np.zeros(3))
    np.testing.assert_array_equal(m.running_var.data, np.ones(3))
    assert int(m.num_batches_tracked.data) == 0
    np.testing.assert_array_equal(m.weight.data, np.full(3, 2.0))  # parameters are not running stats
    m.reset_parameters()
    np.testing.assert_array_equal(m.weight.data, np.ones(3))
    np.testing.assert_array_equal(m.bias.data, np.zeros(3))
    current = [m.running_mean.data, m.running_var.data, m.num_batches_tracked.data, m.weight.data, m.bias.data]
    assert all(a is b for a, b in zip(arrays, current))
    for m in (nn.LayerNorm(3), nn.GroupNorm(1, 3), nn.RMSNorm(3)):
        m.weight.data[...] = 5
        m.reset_parameters()
        np.testing.assert_array_equal(m.weight.data, np.ones(3))


def test_running_buffers_are_updated_in_place_by_forward():
    m = nn.BatchNorm2d(2)
    rm, rv, n = m.running_mean, m.running_var, m.num_batches_tracked
    arrays = rm.data, rv.data, n.data
    for _ in range(3):
        m(lucid.randn(2, 2, 2, 2) + 3)
    assert m.running_mean is rm and m.running_var is rv and m.num_batches_tracked is n
    assert all(a is b for a, b in zip(arrays, (rm.data, rv.data, n.data)))
    assert int(n.data) == 3 and rm.grad_fn is None


def test_momentum_none_is_the_cumulative_average():
    rng = np.random.default_rng(4)
    batches = [rng.standard_normal((5, 2)) * (i + 1) + i for i in range(4)]
    for cls, shape in (("BatchNorm1d", (5, 2)), ("InstanceNorm1d", (1, 2, 5))):
        m = getattr(nn, cls)(2, momentum=None).double()
        for b in batches:
            m(lucid.Tensor(b.reshape(shape)))
        # the plain average over the batches of each batch's mean and unbiased variance, per channel
        xs = [b.reshape(shape) for b in batches]
        axes = (0,) if cls == "BatchNorm1d" else (0, 2)
        close(m.running_mean, np.mean([x.mean(axis=axes) for x in xs], axis=0))
        close(m.running_var, np.mean([x.var(axis=axes, ddof=1) for x in xs], axis=0))
        assert int(m.num_batches_tracked.data) == 4


@pytest.mark.parametrize(
    "cls,args,kwargs",
    [
        ("BatchNorm1d", (3,), {}),
        ("BatchNorm2d", (3,), dict(eps=1e-3, momentum=None, affine=False)),
        ("BatchNorm3d", (3,), dict(track_running_stats=False, bias=False)),
        ("InstanceNorm1d", (3,), dict(affine=True, track_running_stats=True)),
        ("InstanceNorm2d", (3,), dict(affine=False, track_running_stats=False)),
        ("InstanceNorm3d", (3,), dict(affine=True, track_running_stats=False, momentum=0.5)),
        ("LayerNorm", ((3, 4),), {}),
        ("LayerNorm", (3,), dict(bias=False, elementwise_affine=False)),
        ("LayerNorm", ([3],), dict(eps=0.001)),
        ("GroupNorm", (2, 4), {}),
        ("GroupNorm", (2, 4), dict(affine=False)),
        ("GroupNorm", (1, 4), dict(bias=False)),
        ("RMSNorm", (3,), {}),
        ("RMSNorm", ([3, 4],), dict(eps=1e-3, elementwise_affine=False)),
    ],
)
def test_repr_and_state_dict_keys_match_torch(cls, args, kwargs):
    m, tm = getattr(nn, cls)(*args, **kwargs), getattr(torch.nn, cls)(*args, **kwargs)
    assert repr(m) == repr(tm)
    assert list(m.state_dict().keys()) == list(tm.state_dict().keys())


@pytest.mark.parametrize(
    "cls,args,shape",
    [
        ("BatchNorm2d", (3,), (2, 3, 2, 2)),
        ("InstanceNorm1d", (3,), (2, 3, 4)),
        ("LayerNorm", ((2, 3),), (2, 2, 3)),
        ("GroupNorm", (3, 6), (2, 6, 2)),
        ("RMSNorm", (4,), (3, 4)),
    ],
)
def test_torch_checkpoint_loads_unchanged(cls, args, shape):
    kwargs = dict(affine=True, track_running_stats=True) if "Instance" in cls else {}
    tm = getattr(torch.nn, cls)(*args, **kwargs)
    with torch.no_grad():
        for p in tm.parameters():
            p.copy_(torch.randn(p.shape))
    tm.train()
    for _ in range(3):
        tm(torch.randn(*shape) * 2 + 1)
    tm.eval()
    m = getattr(nn, cls)(*args)
    arrays = {k: v.data for k, v in m.state_dict(keep_vars=True).items()}
    m.load_state_dict(tm.state_dict())  # the torch tensors themselves
    for k, v in tm.state_dict().items():
        np.testing.assert_array_equal(m.state_dict()[k].data, v.numpy())
        assert m.state_dict(keep_vars=True)[k].data is arrays[k]  # written into the same arrays
    m.eval()
    x = np.random.default_rng(5).standard_normal(shape).astype(np.float32)
    np.testing.assert_allclose(m(lucid.Tensor(x)).data, tm(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-5)
    # and back: lucid's state dict loads into torch
    tm2 = getattr(torch.nn, cls)(*args, **kwargs)
    tm2.load_state_dict({k: torch.tensor(np.array(v.data)) for k, v in m.state_dict().items()})
    assert int(getattr(tm2, "num_batches_tracked", torch.tensor(0))) == int(
        getattr(tm, "num_batches_tracked", torch.tensor(0))
    )


def test_module_dtype_argument_and_double():
    m = nn.BatchNorm1d(2, dtype=lucid.float64)
    assert m.weight.dtype == np.float64 and m.running_mean.dtype == np.float64
    assert m.num_batches_tracked.dtype == np.int64
    m = nn.InstanceNorm1d(2).double()
    assert m.running_var.dtype == np.float64 and m.num_batches_tracked.dtype == np.int64
    assert nn.LayerNorm(3, dtype="float64").weight.dtype == np.float64


# ---- bad input: a clear error, nothing changed ----------------------------------------------------
def snapshot(m):
    return {k: np.array(v.data, copy=True) for k, v in m.state_dict().items()}


def assert_unchanged(m, before):
    after = snapshot(m)
    assert after.keys() == before.keys()
    for k in before:
        np.testing.assert_array_equal(after[k], before[k])


@pytest.mark.parametrize(
    "cls,shape,message",
    [
        ("BatchNorm1d", (2, 3, 4, 5), r"^expected 2D or 3D input \(got 4D input\)$"),
        ("BatchNorm1d", (3,), r"^expected 2D or 3D input \(got 1D input\)$"),
        ("BatchNorm2d", (2, 3, 4), r"^expected 4D input \(got 3D input\)$"),
        ("BatchNorm3d", (2, 3, 4, 4), r"^expected 5D input \(got 4D input\)$"),
        ("InstanceNorm1d", (2, 3, 4, 5), r"^expected 2D or 3D input \(got 4D input\)$"),
        ("InstanceNorm2d", (3, 4), r"^expected 3D or 4D input \(got 2D input\)$"),
        ("InstanceNorm3d", (2, 3, 4), r"^expected 4D or 5D input \(got 3D input\)$"),
        ("BatchNorm1d", (4, 2), r"^expected input's size at dim=1 to match num_features \(3\), but got: 2\.$"),
        ("BatchNorm2d", (4, 5, 2, 2), r"^expected input's size at dim=1 to match num_features \(3\), but got: 5\.$"),
        ("InstanceNorm1d", (4, 2, 3), r"^expected input's size at dim=1 to match num_features \(3\), but got: 2\.$"),
        ("InstanceNorm2d", (2, 2, 3), r"^expected input's size at dim=0 to match num_features \(3\), but got: 2\.$"),
        ("BatchNorm1d", (1, 3), r"^Expected more than 1 value per channel when training, got input size \(1, 3\)$"),
        (
            "BatchNorm2d",
            (1, 3, 1, 1),
            r"^Expected more than 1 value per channel when training, got input size \(1, 3, 1, 1\)$",
        ),
        (
            "InstanceNorm1d",
            (4, 3, 1),
            r"^Expected more than 1 value per channel when training, got input size \(4, 3, 1\)$",
        ),
        (
            "InstanceNorm1d",
            (3, 1),
            r"^Expected more than 1 value per channel when training, got input size \(1, 3, 1\)$",
        ),
    ],
)
@pytest.mark.parametrize("momentum", [0.1, None])
def test_bad_input_raises_and_leaves_state(cls, shape, message, momentum):
    m = getattr(nn, cls)(3, momentum=momentum)
    good = {
        "BatchNorm1d": (4, 3, 2),
        "BatchNorm2d": (2, 3, 2, 2),
        "BatchNorm3d": (2, 3, 2, 1, 2),
        "InstanceNorm1d": (2, 3, 4),
        "InstanceNorm2d": (2, 3, 2, 2),
        "InstanceNorm3d": (2, 3, 2, 1, 2),
    }[cls]
    m(lucid.randn(*good) * 2 + 1)  # some state worth keeping
    m.weight.grad = None
    before = snapshot(m)
    x = lucid.Tensor(np.random.default_rng(6).standard_normal(shape), requires_grad=True)
    with pytest.raises(ValueError, match=message):
        m(x)
    assert_unchanged(m, before)
    assert int(m.num_batches_tracked.data) == 1


@pytest.mark.parametrize("affine,track", [(False, False), (True, False), (False, True)])
def test_instance_norm_channel_mismatch_is_an_error_without_affine_too(affine, track):
    m = nn.InstanceNorm1d(3, affine=affine, track_running_stats=track)
    with pytest.raises(ValueError, match=r"to match num_features \(3\), but got: 4\."):
        m(lucid.randn(2, 4, 5))


def test_one_value_per_channel_is_fine_in_eval():
    m = nn.BatchNorm1d(2)
    m.eval()
    y = m(lucid.Tensor([[1.0, 2.0]]))
    np.testing.assert_allclose(y.data, [[1 / np.sqrt(1 + 1e-5), 2 / np.sqrt(1 + 1e-5)]], rtol=1e-6)
    assert int(m.num_batches_tracked.data) == 0


def test_groupnorm_bad_input():
    with pytest.raises(ValueError, match=r"^num_channels \(6\) must be divisible by num_groups \(4\)$"):
        nn.GroupNorm(4, 6)
    with pytest.raises(ValueError, match="num_groups must be a positive integer, got 0"):
        nn.GroupNorm(0, 6)
    gn = nn.GroupNorm(2, 6)
    with pytest.raises(ValueError, match=r"to match num_channels \(6\), but got: 4"):
        gn(lucid.randn(2, 4, 3))
    with pytest.raises(ValueError, match=r"\(got 1D input\)"):
        gn(lucid.randn(6))


def test_layer_and_rms_norm_bad_input():
    with pytest.raises(ValueError, match=r"expected input with shape \(\*, 2, 3\), got input of size \(2, 3, 2\)"):
        nn.LayerNorm((2, 3))(lucid.randn(2, 3, 2))
    with pytest.raises(ValueError, match=r"expected input with shape \(\*, 4\), got input of size \(4, 3\)"):
        nn.RMSNorm(4)(lucid.randn(4, 3))
    with pytest.raises(ValueError, match="normalized_shape must be a positive integer"):
        nn.LayerNorm((2, 0))
    with pytest.raises(ValueError, match="num_features must be a positive integer, got 0"):
        nn.BatchNorm1d(0)


def test_empty_batch():
    m = nn.BatchNorm2d(3)
    m.eval()
    y = m(lucid.zeros(0, 3, 2, 2))
    assert y.shape == (0, 3, 2, 2) and y.dtype == np.float32
    m = nn.InstanceNorm1d(3)
    m.eval()
    assert m(lucid.zeros(0, 3, 4)).shape == (0, 3, 4)
    assert nn.LayerNorm(4)(lucid.zeros(0, 4)).shape == (0, 4)
    assert nn.GroupNorm(1, 3)(lucid.zeros(0, 3, 2)).shape == (0, 3, 2)
    # training on an empty batch, as PyTorch: empty output, running statistics untouched, one more batch counted
    m = nn.BatchNorm1d(3)
    y = m(lucid.zeros(0, 3))
    assert y.shape == (0, 3)
    np.testing.assert_array_equal(m.running_mean.data, np.zeros(3))
    tm = torch.nn.BatchNorm1d(3)
    tm(torch.zeros(0, 3))
    assert int(m.num_batches_tracked.data) == int(tm.num_batches_tracked) == 1
