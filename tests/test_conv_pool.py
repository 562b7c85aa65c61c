"""Convolution and pooling against PyTorch (float64, 1e-10: outputs and every gradient) and finite differences."""

import numpy as np
import pytest
import torch
import torch.nn as tnn
import torch.nn.functional as TF
from compare import close, differential

import lucid
import lucid.nn as nn
import lucid.nn.functional as F
from lucid.autograd import gradcheck


def random_conv(rng, n):
    """A random valid convolution: arrays (x, w, b) and keyword arguments."""
    groups = int(rng.choice([1, 1, 2, 3]))
    cin, cout = groups * int(rng.integers(1, 3)), groups * int(rng.integers(1, 3))
    kernel = tuple(int(k) for k in rng.integers(1, 4, size=n))
    dilation = tuple(int(d) for d in rng.integers(1, 3, size=n))
    stride = tuple(int(s) for s in rng.integers(1, 3, size=n))
    choice = rng.integers(0, 4)
    if choice == 0 and all(s == 1 for s in stride):
        padding = "same"
    elif choice == 1:
        padding = "valid"
    else:
        padding = tuple(int(p) for p in rng.integers(0, 3, size=n))
    pad = (0,) * n if isinstance(padding, str) else padding
    # each spatial size at least the dilated kernel, after padding
    spatial = tuple(max(int(rng.integers(1, 7)), d * (k - 1) + 1 - 2 * p) for k, d, p in zip(kernel, dilation, pad))
    batch = int(rng.integers(1, 4))
    x = rng.standard_normal((batch, cin) + spatial)
    w = rng.standard_normal((cout, cin // groups) + kernel)
    b = rng.standard_normal(cout) if rng.random() < 0.7 else None
    return (x, w, b), dict(stride=stride, padding=padding, dilation=dilation, groups=groups)


# ---- functional convolution --------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("seed", range(8))
def test_conv_matches_torch_on_random_configurations(n, seed):
    rng = np.random.default_rng(100 * n + seed)
    arrays, kw = random_conv(rng, n)
    ours, theirs = getattr(F, f"conv{n}d"), getattr(TF, f"conv{n}d")
    differential(lambda x, w, b: ours(x, w, b, **kw), lambda x, w, b: theirs(x, w, b, **kw), arrays, rng)


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("padding", ["same", "valid", 2])
def test_conv2d_padding_forms(rng, padding):
    # an even kernel with 'same': the extra padding goes to the end, as PyTorch does
    x, w, b = rng.standard_normal((2, 3, 6, 5)), rng.standard_normal((4, 3, 4, 2)), rng.standard_normal(4)
    y = differential(
        lambda x, w, b: F.conv2d(x, w, b, padding=padding, dilation=(1, 3)),
        lambda x, w, b: TF.conv2d(x, w, b, padding=padding, dilation=(1, 3)),
        [x, w, b],
        rng,
    )
    if padding == "same":
        assert y.shape == (2, 4, 6, 5)


def test_conv_depthwise_and_unbatched(rng):
    x, w = rng.standard_normal((4, 7, 6)), rng.standard_normal((8, 1, 3, 3))  # unbatched (C, H, W), groups=C
    y = differential(
        lambda x, w: F.conv2d(x, w, None, 2, 1, 1, 4), lambda x, w: TF.conv2d(x, w, None, 2, 1, 1, 4), [x, w], rng
    )
    assert y.shape == (8, 4, 3)


def test_conv_only_some_inputs_require_grad(rng):
    x, w = rng.standard_normal((2, 3, 5)), rng.standard_normal((2, 3, 3))
    lx, lw = lucid.Tensor(x), lucid.Tensor(w, requires_grad=True)
    F.conv1d(lx, lw).sum().backward()
    tw = torch.tensor(w, requires_grad=True)
    TF.conv1d(torch.tensor(x), tw).sum().backward()
    assert lx.grad is None
    close(lw.grad, tw.grad)


def test_conv_float32_stays_float32(rng):
    x = lucid.Tensor(rng.standard_normal((2, 3, 5, 5)).astype(np.float32), requires_grad=True)
    w = lucid.Tensor(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), requires_grad=True)
    y = F.conv2d(x, w, padding=1)
    y.sum().backward()
    assert y.dtype == np.float32 and x.grad.dtype == np.float32 and w.grad.dtype == np.float32


def test_conv_gradcheck():
    rng = np.random.default_rng(0)
    x = lucid.Tensor(rng.standard_normal((1, 4, 5, 4)), requires_grad=True)
    w = lucid.Tensor(rng.standard_normal((2, 2, 2, 3)), requires_grad=True)
    b = lucid.Tensor(rng.standard_normal(2), requires_grad=True)
    assert gradcheck(lambda x, w, b: F.conv2d(x, w, b, stride=(2, 1), padding=1, dilation=(1, 2), groups=2), (x, w, b))
    x1 = lucid.Tensor(rng.standard_normal((2, 1, 6)), requires_grad=True)
    w1 = lucid.Tensor(rng.standard_normal((2, 1, 2)), requires_grad=True)
    assert gradcheck(lambda x, w: F.conv1d(x, w, padding="same", dilation=3), (x1, w1))


def test_conv_nan_propagates():
    x = np.ones((1, 1, 4, 4))
    x[0, 0, 0, 0] = np.nan
    y = F.conv2d(lucid.Tensor(x), lucid.Tensor(np.ones((1, 1, 2, 2))))
    assert np.isnan(y.data[0, 0, 0, 0]) and not np.isnan(y.data[0, 0, 2, 2])


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: F.conv2d(lucid.zeros(3, 4), lucid.zeros(2, 3, 1, 1)), r"Expected 3D \(unbatched\) or 4D \(batched\)"),
        (lambda: F.conv2d(lucid.zeros(1, 4, 5, 5), lucid.zeros(2, 3, 1, 1)), "to have 3 channels, but got 4"),
        (lambda: F.conv2d(lucid.zeros(1, 4, 5, 5), lucid.zeros(3, 2, 1, 1), groups=2), "divisible by 2"),
        (lambda: F.conv2d(lucid.zeros(1, 3, 2, 2), lucid.zeros(2, 3, 3, 3)), "Kernel size can't be greater"),
        (lambda: F.conv2d(lucid.zeros(1, 3, 5, 5), lucid.zeros(2, 3, 3, 3), stride=2, padding="same"), "strided"),
        (lambda: F.conv2d(lucid.zeros(1, 3, 5, 5), lucid.zeros(2, 3, 3, 3), padding="full"), "Invalid padding string"),
        (lambda: F.conv2d(lucid.zeros(1, 3, 5, 5), lucid.zeros(2, 3, 3, 3), lucid.zeros(3)), "expected bias"),
        (lambda: F.conv2d(lucid.zeros(1, 3, 5, 5), lucid.zeros(2, 3, 3, 3), stride=0), "non-positive stride"),
        (lambda: F.conv2d(lucid.zeros(1, 3, 5, 5), lucid.zeros(2, 3, 3, 3), padding=-1), "negative padding"),
        (lambda: F.conv1d(lucid.zeros(1, 3, 5, dtype="float64"), lucid.zeros(2, 3, 3)), "one dtype"),
    ],
)
def test_conv_bad_input_says_what_was_expected(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()


# ---- Conv modules ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "n, kwargs",
    [
        (1, dict(in_channels=2, out_channels=3, kernel_size=3, padding=1)),
        (2, dict(in_channels=4, out_channels=6, kernel_size=(3, 2), stride=2, padding=1, dilation=(1, 2), groups=2)),
        (2, dict(in_channels=3, out_channels=2, kernel_size=3, padding="same", bias=False)),
        (2, dict(in_channels=2, out_channels=2, kernel_size=3, padding=2, padding_mode="reflect")),
        (
            2,
            dict(in_channels=2, out_channels=4, kernel_size=(2, 3), padding=(1, 2), padding_mode="replicate", stride=2),
        ),
        (1, dict(in_channels=2, out_channels=2, kernel_size=4, padding="same", padding_mode="circular")),
        (3, dict(in_channels=2, out_channels=2, kernel_size=2, padding=1, padding_mode="circular")),
    ],
)
def test_conv_module_matches_torch_with_the_same_weights(rng, n, kwargs):
    ours = getattr(nn, f"Conv{n}d")(**kwargs).double()
    theirs = getattr(tnn, f"Conv{n}d")(**kwargs).double()
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    with torch.no_grad():
        for name, p in theirs.named_parameters():
            p.copy_(torch.tensor(rng.standard_normal(tuple(p.shape))))
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = rng.standard_normal((2, kwargs["in_channels"]) + (5,) * n)
    lx, tx = lucid.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, ty = ours(lx), theirs(tx)
    close(y, ty)
    g = rng.standard_normal(y.shape)
    y.backward(g)
    ty.backward(torch.tensor(g))
    close(lx.grad, tx.grad)
    for (name, p), (tname, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert name == tname
        close(p.grad, tp.grad)


def test_padding_mode_gradcheck():
    rng = np.random.default_rng(3)
    x = lucid.Tensor(rng.standard_normal((1, 1, 3, 4)), requires_grad=True)
    for mode in ("reflect", "replicate", "circular"):
        assert gradcheck(lambda x: F.conv.pad_mode(x, ((2, 1), (1, 3)), mode), (x,))


def test_conv_default_init_is_pytorchs():
    lucid.manual_seed(0)
    m = nn.Conv2d(6, 8, (3, 5), groups=2)
    bound = 1 / np.sqrt(3 * 3 * 5)  # fan_in = in_channels/groups · kernel area
    w, b = m.weight.data, m.bias.data
    assert w.shape == (8, 3, 3, 5) and w.dtype == np.float32
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    # uniform on ±bound: mean ≈ 0, variance ≈ bound²/3 (360 samples)
    assert abs(w.mean()) < 0.1 * bound and abs(w.var() / (bound**2 / 3) - 1) < 0.25


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(in_channels=3, out_channels=4, kernel_size=3, groups=2), "in_channels must be divisible by groups"),
        (dict(in_channels=4, out_channels=3, kernel_size=3, groups=2), "out_channels must be divisible by groups"),
        (dict(in_channels=4, out_channels=4, kernel_size=3, padding_mode="mirror"), "padding_mode must be one of"),
        (dict(in_channels=4, out_channels=4, kernel_size=3, stride=2, padding="same"), "strided"),
    ],
)
def test_conv_module_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        nn.Conv2d(**kwargs)


def test_conv_module_wrong_input_leaves_it_unchanged():
    m = nn.Conv2d(3, 4, 3)
    before = {k: v.data.copy() for k, v in m.state_dict().items()}
    with pytest.raises(ValueError, match="to have 3 channels, but got 2"):
        m(lucid.zeros(1, 2, 5, 5))
    assert all(np.array_equal(v.data, before[k]) for k, v in m.state_dict().items())


# ---- pooling -----------------------------------------------------------------------------------------------
def random_pool(rng, n, dilation=True):
    kernel = tuple(int(k) for k in rng.integers(1, 4, size=n))
    stride = tuple(int(s) for s in rng.integers(1, 4, size=n))
    padding = tuple(int(rng.integers(0, k // 2 + 1)) for k in kernel)
    dil = tuple(int(d) for d in rng.integers(1, 3, size=n)) if dilation else (1,) * n
    spatial = tuple(int(rng.integers(d * (k - 1) + 1, 9)) for k, d in zip(kernel, dil))
    return kernel, stride, padding, dil, spatial


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("seed", range(6))
def test_max_pool_matches_torch(n, seed):
    rng = np.random.default_rng(10 * n + seed)
    kernel, stride, padding, dilation, spatial = random_pool(rng, n)
    ceil = bool(seed % 2)
    x = rng.standard_normal((2, 3) + spatial)
    ours, theirs = getattr(F, f"max_pool{n}d"), getattr(TF, f"max_pool{n}d")
    args = (kernel, stride, padding, dilation, ceil)
    differential(lambda x: ours(x, *args), lambda x: theirs(x, *args), [x], rng)
    y, idx = ours(lucid.Tensor(x), *args, return_indices=True)
    ty, tidx = theirs(torch.tensor(x), *args, return_indices=True)
    close(y, ty)
    assert idx.dtype == np.int64 and np.array_equal(idx.data, tidx.numpy())


def test_max_pool_ties_send_the_gradient_to_the_first_max(rng):
    x = rng.integers(-1, 2, size=(2, 2, 6, 6)).astype(float)  # many equal values in each window
    differential(lambda x: F.max_pool2d(x, 3, 1, 1), lambda x: TF.max_pool2d(x, 3, 1, 1), [x], rng)
    differential(lambda x: F.max_pool2d(x, 2), lambda x: TF.max_pool2d(x, 2), [x], rng)


def test_max_pool_nan_propagates():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    x[0, 0, 0, 1] = np.nan
    y = F.max_pool2d(lucid.Tensor(x), 2).data
    assert np.isnan(y[0, 0, 0, 0]) and y[0, 0, 1, 1] == 15.0
    # a NaN gradient reaches only the input its output took
    t = lucid.Tensor(np.arange(16.0).reshape(1, 1, 4, 4), requires_grad=True)
    F.max_pool2d(t, 2).backward(np.array([[[[np.nan, 1.0], [1.0, 1.0]]]]))
    assert np.isnan(t.grad[0, 0, 1, 1]) and np.isnan(t.grad).sum() == 1 and t.grad[0, 0, 3, 3] == 1.0


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("seed", range(6))
def test_avg_pool_matches_torch(n, seed):
    rng = np.random.default_rng(20 * n + seed)
    kernel, stride, padding, _, spatial = random_pool(rng, n, dilation=False)
    ceil, include = bool(seed % 2), bool(seed // 2 % 2)
    x = rng.standard_normal((2, 2) + spatial)
    ours, theirs = getattr(F, f"avg_pool{n}d"), getattr(TF, f"avg_pool{n}d")
    args = (kernel, stride, padding, ceil, include)
    differential(lambda x: ours(x, *args), lambda x: theirs(x, *args), [x], rng)
    if n > 1:
        differential(lambda x: ours(x, *args, 7), lambda x: theirs(x, *args, 7), [x], rng)  # divisor_override


@pytest.mark.parametrize(
    "shape, out",
    [
        ((2, 3, 7, 5), (3, 2)),
        ((2, 3, 8, 8), 1),
        ((3, 6, 9), (4, None)),
        ((1, 2, 5, 10), (5, 3)),
        ((2, 2, 3, 3), (5, 4)),
    ],
)
def test_adaptive_avg_pool2d_matches_torch(rng, shape, out):
    x = rng.standard_normal(shape)
    differential(lambda x: F.adaptive_avg_pool2d(x, out), lambda x: TF.adaptive_avg_pool2d(x, out), [x], rng)


def test_adaptive_avg_pool1d_matches_torch(rng):
    x = rng.standard_normal((2, 3, 11))
    differential(lambda x: F.adaptive_avg_pool1d(x, 4), lambda x: TF.adaptive_avg_pool1d(x, 4), [x], rng)


def test_pool_gradcheck():
    rng = np.random.default_rng(5)
    x = lucid.Tensor(rng.standard_normal((1, 2, 5, 4)), requires_grad=True)
    assert gradcheck(lambda x: F.max_pool2d(x, 3, 2, 1, ceil_mode=True), (x,))
    assert gradcheck(lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False), (x,))
    assert gradcheck(lambda x: F.adaptive_avg_pool2d(x, (3, 3)), (x,))


@pytest.mark.parametrize(
    "ours, theirs",
    [
        (nn.MaxPool2d(3, 2, 1), tnn.MaxPool2d(3, 2, 1)),
        (nn.MaxPool1d(2, ceil_mode=True), tnn.MaxPool1d(2, ceil_mode=True)),
        (
            nn.AvgPool2d((2, 3), 1, (1, 0), count_include_pad=False),
            tnn.AvgPool2d((2, 3), 1, (1, 0), count_include_pad=False),
        ),
        (nn.AvgPool1d(3, 2, 1), tnn.AvgPool1d(3, 2, 1)),
        (nn.AdaptiveAvgPool2d((2, None)), tnn.AdaptiveAvgPool2d((2, None))),
        (nn.AdaptiveAvgPool2d(1), tnn.AdaptiveAvgPool2d(1)),
    ],
)
def test_pool_modules_match_torch(rng, ours, theirs):
    assert repr(ours) == repr(theirs)
    n = 1 if "1d" in type(ours).__name__ else 2
    x = rng.standard_normal((2, 3) + (7,) * n)
    differential(ours, theirs, [x], rng)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: F.max_pool2d(lucid.zeros(1, 1, 5, 5), 3, padding=2), "pad should be at most half"),
        (lambda: F.avg_pool2d(lucid.zeros(1, 1, 5, 5), 3, padding=2), "pad should be at most half"),
        (lambda: F.max_pool2d(lucid.zeros(1, 1, 2, 2), 3), "too small"),
        (lambda: F.max_pool2d(lucid.zeros(5, 5), 2), r"expected 3D \(unbatched\) or 4D \(batched\) input"),
        (lambda: F.avg_pool1d(lucid.zeros(1, 1, 5), 2, stride=0), "stride must be greater than zero"),
        (lambda: F.adaptive_avg_pool2d(lucid.zeros(1, 2, 4, 4), (0, 2)), "positive"),
    ],
)
def test_pool_bad_input_says_what_was_expected(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize(
    "name, shape, arg",
    [
        ("max_pool1d", (0, 2, 4), 2),
        ("max_pool2d", (0, 2, 4, 4), 2),
        ("max_pool3d", (0, 1, 4, 4, 4), 2),
        ("avg_pool2d", (0, 2, 4, 4), 2),
        ("adaptive_max_pool2d", (0, 2, 4, 4), 2),
        ("adaptive_avg_pool2d", (0, 2, 4, 4), 2),
    ],
)
def test_pooling_an_empty_batch_gives_an_empty_batch(name, shape, arg):
    """No samples: an empty output and an empty gradient, shaped as PyTorch's."""
    x = lucid.tensor(np.zeros(shape), requires_grad=True)
    y = getattr(F, name)(x, arg)
    y.sum().backward()
    xt = torch.zeros(shape, requires_grad=True)
    yt = getattr(TF, name)(xt, arg)
    assert y.shape == tuple(yt.shape) and x.grad.shape == shape
