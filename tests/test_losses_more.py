"""The element-wise losses (binary_cross_entropy, smooth_l1_loss, huber_loss, kl_div, soft_margin_loss)
against PyTorch: float64, 1e-10, the value and every gradient PyTorch gives, for every reduction."""

import warnings
import zlib

import compare
import numpy as np
import pytest
import torch
import torch.nn as tnn
import torch.nn.functional as TF

import lucid
import lucid.nn as nn
import lucid.nn.functional as F
from lucid.autograd import gradcheck

REDUCTIONS = ["mean", "sum", "none"]
# batches of every size, the empty one included
SHAPES = [(5,), (3, 4), (2, 3, 2), (0,), (0, 3), (4, 1, 3)]
KL_MEAN = "ignore:reduction. 'mean' divides the total loss"  # the message's own colon would end the pattern
LEGACY = "ignore:size_average and reduce args will be deprecated"  # the warning of PyTorch


def seeded(*key):
    return np.random.default_rng(zlib.crc32(repr(key).encode()))


def differential(lucid_fn, torch_fn, arrays, diff, rng):
    """The loss and the gradient of every argument marked in ``diff``, lucid against PyTorch."""
    with np.errstate(over="raise", divide="raise", invalid="raise"):  # every inf and 0/0 on the way is meant
        return compare.differential(lucid_fn, torch_fn, arrays, rng, diff)


def grid(rng, shape, step=0.25):
    """Values on a binary grid, so differences are exact and hit the thresholds exactly."""
    return rng.integers(-8, 9, size=shape) * step


# ---- binary cross-entropy ---------------------------------------------------------------------------------------
def probabilities(rng, shape):
    """Probabilities with exact 0s and 1s among them."""
    p = rng.uniform(0, 1, shape)
    if p.size:
        p.flat[rng.choice(p.size, size=max(1, p.size // 3), replace=False)] = rng.integers(0, 2, max(1, p.size // 3))
    return p


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("weight", [None, "full", "broadcast"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy_matches_torch(shape, weight, reduction):
    rng = seeded("bce", shape, weight, reduction)
    x, t = probabilities(rng, shape), probabilities(rng, shape)
    w = {None: None, "full": rng.uniform(0.1, 2, shape), "broadcast": rng.uniform(0.1, 2, shape[-1:])}[weight]
    differential(
        lambda x, t, w: F.binary_cross_entropy(x, t, w, reduction=reduction),
        lambda x, t, w: TF.binary_cross_entropy(x, t, w, reduction=reduction),
        [x, t, w],
        [True, True, False],  # PyTorch has no gradient for weight
        rng,
    )


def test_binary_cross_entropy_clamps_its_logs_at_minus_100_like_torch():
    rng = np.random.default_rng(0)
    x = np.array([0.0, 1.0, 0.0, 1.0, 1e-60, 1 - 1e-16, 0.5])
    t = np.array([1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.5])
    y = differential(
        lambda x, t: F.binary_cross_entropy(x, t, reduction="none"),
        lambda x, t: TF.binary_cross_entropy(x, t, reduction="none"),
        [x, t],
        [True, True],
        rng,
    )
    np.testing.assert_allclose(y.data[:4], [100.0, 100.0, 0.0, 0.0])
    xl, tl = lucid.tensor(x, requires_grad=True), lucid.tensor(t, requires_grad=True)
    F.binary_cross_entropy(xl, tl, reduction="sum").backward()
    np.testing.assert_allclose(xl.grad[:4], np.array([-1, 1, 0, 0]) / np.float32(1e-12))  # (x − t)/max(x(1 − x), ε)
    assert np.isinf(tl.grad[:4]).all()  # −log(x/(1 − x)): unclamped, as PyTorch's


def test_binary_cross_entropy_gradchecks_in_every_argument():
    rng = np.random.default_rng(1)
    x, t = (lucid.tensor(rng.uniform(0.2, 0.8, (3, 4)), requires_grad=True) for _ in range(2))
    w = lucid.tensor(rng.uniform(0.5, 2, 4), requires_grad=True)
    assert gradcheck(lambda x, t, w: F.binary_cross_entropy(x, t, w), [x, t, w])
    assert gradcheck(lambda x, t, w: F.binary_cross_entropy(x, t, w, reduction="none"), [x, t, w])


# ---- smooth L1 and Huber ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("beta", [1.0, 0.5, 2.0, 0.0])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_smooth_l1_loss_matches_torch(shape, beta, reduction):
    rng = seeded("smooth_l1", shape, beta, reduction)
    x, t = grid(rng, shape), grid(rng, shape)
    if x.size:
        t.flat[0], x.flat[-1] = x.flat[0] - beta, t.flat[-1] + beta  # |d| exactly at β
        assert (np.abs(x - t) == beta).any() and (np.abs(x - t) != beta).any()
    differential(
        lambda x, t: F.smooth_l1_loss(x, t, reduction=reduction, beta=beta),
        lambda x, t: TF.smooth_l1_loss(x, t, reduction=reduction, beta=beta),
        [x, t],
        [True, True],
        rng,
    )


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("delta", [1.0, 0.5, 2.0])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_huber_loss_matches_torch(shape, delta, weighted, reduction):
    rng = seeded("huber", shape, delta, weighted, reduction)
    x, t = grid(rng, shape), grid(rng, shape)
    if x.size:
        t.flat[0], x.flat[-1] = x.flat[0] + delta, t.flat[-1] - delta  # |d| exactly at δ
        assert (np.abs(x - t) == delta).any()
    w = rng.uniform(0.1, 2, shape) if weighted else None
    differential(
        lambda x, t, w: F.huber_loss(x, t, reduction=reduction, delta=delta, weight=w),
        lambda x, t, w: TF.huber_loss(x, t, reduction=reduction, delta=delta, weight=w),
        [x, t, w],
        [True, True, weighted],  # PyTorch's weight takes a gradient here
        rng,
    )


def test_smooth_l1_and_huber_on_continuous_values_and_broadcast_targets():
    rng = np.random.default_rng(2)
    x, t = rng.standard_normal((4, 3)) * 2, rng.standard_normal(3) * 2
    with pytest.warns(UserWarning, match="different to the input size"):
        differential(F.smooth_l1_loss, TF.smooth_l1_loss, [x, t], [True, True], rng)
    with pytest.warns(UserWarning, match="different to the input size"):
        differential(F.huber_loss, TF.huber_loss, [x, t], [True, True], rng)
    # Huber is δ times smooth L1 with β = δ
    a, b = lucid.tensor(x), lucid.tensor(x[::-1].copy())
    for d in (0.3, 1.0, 4.0):
        np.testing.assert_allclose(
            F.huber_loss(a, b, delta=d).item(), d * F.smooth_l1_loss(a, b, beta=d).item(), rtol=1e-14
        )
    np.testing.assert_array_equal(F.smooth_l1_loss(a, b, beta=0.0).data, F.l1_loss(a, b).data)
    xs, ts, ws = (lucid.tensor(rng.standard_normal((2, 3)), requires_grad=True) for _ in range(3))
    assert gradcheck(lambda x, t: F.smooth_l1_loss(x, t, beta=0.7), [xs, ts])
    assert gradcheck(lambda x, t, w: F.huber_loss(x, t, delta=0.7, weight=w, reduction="sum"), [xs, ts, ws])


# ---- KL divergence ----------------------------------------------------------------------------------------------
def log_probs(rng, shape):
    z = rng.standard_normal(shape)
    return z - np.log(np.exp(z).sum(-1, keepdims=True)) if z.size else z


@pytest.mark.filterwarnings(KL_MEAN)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("log_target", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS + ["batchmean"])
def test_kl_div_matches_torch(shape, log_target, reduction):
    rng = seeded("kl", shape, log_target, reduction)
    x = log_probs(rng, shape)
    t = np.exp(log_probs(rng, shape))
    if t.size:
        t.flat[:: max(2, t.size // 3)] = 0.0  # zero targets: 0·log 0 = 0
    if log_target:
        t = log_probs(rng, shape)
    differential(
        lambda x, t: F.kl_div(x, t, reduction=reduction, log_target=log_target),
        lambda x, t: TF.kl_div(x, t, reduction=reduction, log_target=log_target),
        [x, t],
        [True, True],
        rng,
    )


def test_kl_div_at_zero_targets_is_finite_and_its_target_gradient_is_torchs_nan():
    x = np.log(np.array([[0.2, 0.3, 0.5], [0.1, 0.1, 0.8]]))
    t = np.array([[0.0, 0.4, 0.6], [0.0, 0.0, 1.0]])
    xl, tl = lucid.tensor(x, requires_grad=True), lucid.tensor(t, requires_grad=True)
    xt, tt = torch.tensor(x, requires_grad=True), torch.tensor(t, requires_grad=True)
    loss = F.kl_div(xl, tl, reduction="batchmean")
    TF.kl_div(xt, tt, reduction="batchmean").backward()
    expected = sum(q * (np.log(q) - p) for q, p in zip(t.flat, x.flat) if q > 0) / 2
    np.testing.assert_allclose(loss.item(), expected, rtol=1e-14)
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        loss.backward()
    np.testing.assert_allclose(xl.grad, -t / 2)
    np.testing.assert_array_equal(np.isnan(tl.grad), t == 0)  # d(t·log t)/dt = 0/0 there, in both
    compare.close(tl.grad, tt.grad)


@pytest.mark.filterwarnings(KL_MEAN)
def test_kl_div_broadcasts_batchmean_divides_by_inputs_first_dim_and_gradchecks():
    rng = np.random.default_rng(3)
    for xs, ts in [((4, 3), (3,)), ((3,), (2, 3)), ((), ())]:
        x, t = log_probs(rng, xs), np.exp(log_probs(rng, ts))
        for reduction in ("batchmean", "mean", "sum"):
            differential(
                lambda x, t: F.kl_div(x, t, reduction=reduction),
                lambda x, t: TF.kl_div(x, t, reduction=reduction),
                [x, t],
                [True, True],
                rng,
            )
    x, t = (lucid.tensor(rng.uniform(-2, -0.1, (3, 4)), requires_grad=True) for _ in range(2))
    assert gradcheck(lambda x, t: F.kl_div(x, t, reduction="batchmean", log_target=True), [x, t])
    t.data = rng.uniform(0.1, 1, (3, 4))
    assert gradcheck(lambda x, t: F.kl_div(x, t, reduction="none"), [x, t])


def test_kl_div_warns_on_mean_as_torch_does_and_only_there():
    x, t = lucid.tensor(np.log(np.full((2, 2), 0.5))), lucid.tensor(np.full((2, 2), 0.5))
    with pytest.warns(UserWarning, match="'batchmean' divides only by the batch size"):
        F.kl_div(x, t)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for reduction in ("batchmean", "sum", "none"):
            F.kl_div(x, t, reduction=reduction)
        F.kl_div(x, t, size_average=False)
        nn.KLDivLoss(reduction="batchmean")(x, t)


# ---- soft margin ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_soft_margin_loss_matches_torch(shape, reduction):
    rng = seeded("soft_margin", shape, reduction)
    x = rng.standard_normal(shape) * 5
    t = rng.choice([-1.0, 1.0], size=shape)
    if t.size:
        t.flat[0] = 0.3  # a soft label
    differential(
        lambda x, t: F.soft_margin_loss(x, t, reduction=reduction),
        lambda x, t: TF.soft_margin_loss(x, t, reduction=reduction),
        [x, t],
        [True, False],  # PyTorch has no gradient for the target
        rng,
    )


def test_soft_margin_loss_never_overflows_and_gradchecks():
    x = lucid.tensor([-1000.0, 1000.0, 800.0, -800.0], requires_grad=True)
    t = lucid.tensor([1.0, 1.0, -1.0, -1.0])
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        loss = F.soft_margin_loss(x, t, reduction="none")
        loss.sum().backward()
    np.testing.assert_allclose(loss.data, [1000.0, 0.0, 800.0, 0.0])
    np.testing.assert_allclose(x.grad, [-1.0, 0.0, 1.0, 0.0])
    rng = np.random.default_rng(4)
    xs, ts = (lucid.tensor(rng.standard_normal((3, 2)), requires_grad=True) for _ in range(2))
    assert gradcheck(lambda x, t: F.soft_margin_loss(x, t), [xs, ts])


# ---- legacy arguments, dtypes -----------------------------------------------------------------------------------
@pytest.mark.filterwarnings(LEGACY)
@pytest.mark.parametrize("fn", ["binary_cross_entropy", "smooth_l1_loss", "kl_div", "soft_margin_loss"])
@pytest.mark.parametrize("legacy", [{"size_average": False}, {"reduce": False}, {"size_average": True, "reduce": True}])
def test_legacy_size_average_and_reduce_map_like_torch(fn, legacy):
    rng = np.random.default_rng(5)
    x, t = rng.uniform(0.1, 0.9, (3, 4)), rng.uniform(0.1, 0.9, (3, 4))
    differential(
        lambda x, t: getattr(F, fn)(x, t, **legacy),
        lambda x, t: getattr(TF, fn)(x, t, **legacy),
        [x, t],
        [True, False],
        rng,
    )


def test_float32_inputs_give_float32_losses_and_grads():
    x = lucid.tensor(np.full((3, 4), 0.3, np.float32), requires_grad=True)
    t64 = lucid.tensor(np.full((3, 4), 0.5))
    w64 = lucid.ones(4, dtype="double")
    for loss in [
        F.binary_cross_entropy(x, t64, weight=w64),
        F.smooth_l1_loss(x, lucid.zeros(3, 4)),
        F.huber_loss(x, lucid.zeros(3, 4), delta=0.1),
        F.kl_div(x, lucid.full((3, 4), 0.25), reduction="batchmean"),
        F.soft_margin_loss(x, t64),
    ]:
        x.grad = None
        loss.backward()
        assert loss.dtype == np.float32 and x.grad.dtype == np.float32


# ---- modules ----------------------------------------------------------------------------------------------------
@pytest.mark.filterwarnings(KL_MEAN, LEGACY)
@pytest.mark.parametrize(
    "make, data",
    [
        (lambda lib, w: lib.BCELoss(), "prob"),
        (lambda lib, w: lib.BCELoss(weight=w, reduction="sum"), "prob"),
        (lambda lib, w: lib.SmoothL1Loss(beta=0.5), "real"),
        (lambda lib, w: lib.SmoothL1Loss(reduction="none", beta=0.0), "real"),
        (lambda lib, w: lib.HuberLoss(delta=2.0, reduction="sum"), "real"),
        (lambda lib, w: lib.KLDivLoss(), "log"),
        (lambda lib, w: lib.KLDivLoss(reduction="batchmean"), "log"),
        (lambda lib, w: lib.KLDivLoss(reduction="none", log_target=True), "log_log"),
        (lambda lib, w: lib.SoftMarginLoss(), "sign"),
        (lambda lib, w: lib.SoftMarginLoss(size_average=False), "sign"),
    ],
    ids=["bce", "bce_w", "sl1", "sl1_0", "huber", "kl", "kl_bm", "kl_log", "soft", "soft_legacy"],
)
def test_loss_modules_match_torch(make, data):
    rng = np.random.default_rng(6)
    w = rng.uniform(0.5, 2, 4)
    ours, theirs = make(nn, lucid.tensor(w)), make(tnn, torch.tensor(w))
    assert repr(ours) == repr(theirs)
    assert ours.reduction == theirs.reduction
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for attr in ("beta", "delta", "log_target"):
        assert getattr(ours, attr, None) == getattr(theirs, attr, None)
    shape = (5, 4)
    x, t = {
        "prob": (rng.uniform(0, 1, shape), rng.uniform(0, 1, shape)),
        "real": (rng.standard_normal(shape) * 3, rng.standard_normal(shape)),
        "log": (log_probs(rng, shape), np.exp(log_probs(rng, shape))),
        "log_log": (log_probs(rng, shape), log_probs(rng, shape)),
        "sign": (rng.standard_normal(shape), rng.choice([-1.0, 1.0], shape)),
    }[data]
    differential(ours, theirs, [x, t], [True, data != "sign"], rng)


def test_bce_loss_keeps_its_weight_as_a_buffer():
    m = nn.BCELoss(weight=lucid.tensor([1.0, 2.0]))
    assert list(m.state_dict()) == ["weight"] and list(dict(m.named_buffers())) == ["weight"]
    assert nn.BCELoss().weight is None


# ---- errors -----------------------------------------------------------------------------------------------------
def _p(*shape):
    return np.full(shape, 0.5)


ERRORS = [
    ("bce shapes", lambda F, T: F.binary_cross_entropy(T(_p(3)), T(_p(2, 3))), ValueError, "different to the input"),
    ("bce input > 1", lambda F, T: F.binary_cross_entropy(T([0.5, 1.5]), T(_p(2))), RuntimeError, "input should be"),
    ("bce input < 0", lambda F, T: F.binary_cross_entropy(T([-0.1, 0.5]), T(_p(2))), RuntimeError, "input should"),
    ("bce input nan", lambda F, T: F.binary_cross_entropy(T([np.nan, 0.5]), T(_p(2))), RuntimeError, "input should"),
    ("bce target", lambda F, T: F.binary_cross_entropy(T(_p(2)), T([0.5, 1.5])), RuntimeError, "target should be"),
    ("bce weight", lambda F, T: F.binary_cross_entropy(T(_p(2, 3)), T(_p(2, 3)), T(_p(2))), RuntimeError, "weight"),
    (
        "bce weight big",
        lambda F, T: F.binary_cross_entropy(T(_p(2, 3)), T(_p(2, 3)), T(_p(4, 2, 3))),
        RuntimeError,
        None,
    ),
    ("bce reduction", lambda F, T: F.binary_cross_entropy(T(_p(2)), T(_p(2)), reduction="avg"), ValueError, "avg"),
    ("sl1 beta", lambda F, T: F.smooth_l1_loss(T(_p(2)), T(_p(2)), beta=-0.5), RuntimeError, "negative values"),
    ("sl1 shapes", lambda F, T: F.smooth_l1_loss(T(_p(2, 4)), T(_p(2, 3))), RuntimeError, "broadcast"),
    ("sl1 reduction", lambda F, T: F.smooth_l1_loss(T(_p(2)), T(_p(2)), reduction="avg"), ValueError, "avg"),
    ("huber delta 0", lambda F, T: F.huber_loss(T(_p(2)), T(_p(2)), delta=0.0), RuntimeError, "non-positive"),
    ("huber delta < 0", lambda F, T: F.huber_loss(T(_p(2)), T(_p(2)), delta=-1.0), RuntimeError, "non-positive"),
    ("huber weight", lambda F, T: F.huber_loss(T(_p(2, 3)), T(_p(2, 3)), weight=T(_p(3))), ValueError, "same size"),
    ("huber reduction", lambda F, T: F.huber_loss(T(_p(2)), T(_p(2)), reduction="avg"), ValueError, "avg"),
    ("kl shapes", lambda F, T: F.kl_div(T(_p(4)), T(_p(3)), reduction="sum"), RuntimeError, "broadcast"),
    ("kl reduction", lambda F, T: F.kl_div(T(_p(2)), T(_p(2)), reduction="avg"), ValueError, "avg"),
    ("soft shapes", lambda F, T: F.soft_margin_loss(T(_p(3)), T(_p(2, 3))), RuntimeError, r"broadcast shape \[2, 3\]"),
    ("soft reduction", lambda F, T: F.soft_margin_loss(T(_p(2)), T(_p(2)), reduction="avg"), ValueError, "avg"),
    (
        "sl1 module",
        lambda F, T: (nn if F is F_ else tnn).SmoothL1Loss(beta=-1.0)(T(_p(2)), T(_p(2))),
        RuntimeError,
        None,
    ),
    (
        "kl module",
        lambda F, T: (nn if F is F_ else tnn).KLDivLoss(reduction="avg")(T(_p(2)), T(_p(2))),
        ValueError,
        None,
    ),
]
F_ = F


@pytest.mark.filterwarnings("ignore:.*different to the input size")  # the warning comes before the error
@pytest.mark.parametrize("call, error, match", [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_bad_arguments_raise_what_torch_raises(call, error, match):
    with pytest.raises(error, match=match):
        call(F, lucid.tensor)
    with pytest.raises(error):
        call(TF, lambda a: torch.tensor(np.asarray(a)))
