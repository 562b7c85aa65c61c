"""Losses against PyTorch (float64, 1e-10: the value and every gradient) and finite differences."""

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


def differential(lucid_fn, torch_fn, arrays, diff, rng):
    """The loss and the gradient of every argument marked in ``diff``, lucid against PyTorch."""
    compare.differential(lucid_fn, torch_fn, arrays, rng, diff)


def random_shape(rng):
    return tuple(int(n) for n in rng.integers(1, 5, size=rng.integers(1, 4)))


# ---- regression ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["mse_loss", "l1_loss"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("seed", range(3))
def test_regression_losses_match_torch(name, reduction, seed):
    rng = np.random.default_rng(seed)
    s = random_shape(rng)
    x, t = rng.standard_normal(s), rng.standard_normal(s)
    t.flat[0] = x.flat[0]  # a zero difference: L1's gradient there is 0 in both
    differential(
        lambda a, b: getattr(F, name)(a, b, reduction=reduction),
        lambda a, b: getattr(TF, name)(a, b, reduction=reduction),
        [x, t],
        [True, True],
        rng,
    )


def test_regression_broadcast_warns_like_torch_and_legacy_args():
    rng = np.random.default_rng(0)
    x, t = rng.standard_normal((3, 4)), rng.standard_normal(4)
    with pytest.warns(UserWarning, match="different to the input size"):
        differential(F.mse_loss, TF.mse_loss, [x, t], [True, True], rng)
    a, b = lucid.Tensor(x), lucid.Tensor(x + 1)
    assert F.mse_loss(a, b, size_average=False).item() == pytest.approx(12.0)
    assert F.l1_loss(a, b, reduce=False).shape == (3, 4)
    with pytest.raises(ValueError, match="avg is not a valid value for reduction"):
        F.mse_loss(a, b, reduction="avg")
    with pytest.raises(ValueError, match="avg is not a valid value for reduction"):
        nn.L1Loss(reduction="avg")


# ---- cross entropy ----------------------------------------------------------------------------------------
def class_target(rng, shape, n_classes, ignore):
    t = rng.integers(0, n_classes, size=shape)
    if ignore and t.size > 1:
        t.flat[rng.choice(t.size, size=max(1, t.size // 3), replace=False)] = -100
    return t


@pytest.mark.parametrize("input_shape", [(6, 4), (3, 5, 2), (2, 3, 2, 3), (5,)], ids=["NC", "NCd", "NCdd", "C"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ignore", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.3])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_with_class_indices_matches_torch(input_shape, weighted, ignore, smoothing, reduction):
    rng = np.random.default_rng(zlib.crc32(repr((input_shape, weighted, ignore, smoothing, reduction)).encode()))
    C = input_shape[0] if len(input_shape) == 1 else input_shape[1]
    tshape = () if len(input_shape) == 1 else (input_shape[0],) + input_shape[2:]
    x = rng.standard_normal(input_shape) * 3
    t = class_target(rng, tshape, C, ignore and len(input_shape) > 1)
    w = rng.uniform(0.2, 2.0, C) if weighted else None
    kw = dict(reduction=reduction, label_smoothing=smoothing)
    differential(
        lambda x, t, w: F.cross_entropy(x, t, weight=w, **kw),
        lambda x, t, w: TF.cross_entropy(x, t, weight=w, **kw),
        [x, t, w],
        [True, False, False],
        rng,
    )


@pytest.mark.parametrize("input_shape", [(4, 3), (2, 3, 4), (3,)])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.25])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_with_class_probabilities_matches_torch(input_shape, weighted, smoothing, reduction):
    rng = np.random.default_rng(len(input_shape) * 7 + int(weighted) + int(smoothing * 4))
    axis = 0 if len(input_shape) == 1 else 1
    C = input_shape[axis]
    x = rng.standard_normal(input_shape) * 2
    logits = rng.standard_normal(input_shape)
    t = np.exp(logits) / np.exp(logits).sum(axis=axis, keepdims=True)
    w = rng.uniform(0.2, 2.0, C) if weighted else None
    kw = dict(reduction=reduction, label_smoothing=smoothing)
    # the target is differentiable too
    differential(
        lambda x, t, w: F.cross_entropy(x, t, weight=w, **kw),
        lambda x, t, w: TF.cross_entropy(x, t, weight=w, **kw),
        [x, t, w],
        [True, True, False],
        rng,
    )


def test_cross_entropy_is_stable_on_huge_logits():
    rng = np.random.default_rng(0)
    x = np.array([[1000.0, -1000.0, 0.0], [-750.0, -760.0, -1e4], [3e5, 3e5 + 1, 3e5 - 1]])
    t = np.array([1, 2, 0])
    differential(F.cross_entropy, TF.cross_entropy, [x, t], [True, False], rng)
    assert np.isfinite(F.cross_entropy(lucid.Tensor(x), lucid.tensor(t), label_smoothing=0.1).item())


def test_cross_entropy_all_ignored_mean_is_nan_like_torch():
    x = np.random.default_rng(1).standard_normal((3, 4))
    t = np.full(3, -100)
    for smoothing in (0.0, 0.2):
        ours = F.cross_entropy(lucid.Tensor(x), lucid.tensor(t), label_smoothing=smoothing).item()
        theirs = TF.cross_entropy(torch.tensor(x), torch.tensor(t), label_smoothing=smoothing).item()
        assert np.isnan(ours) and np.isnan(theirs)
    assert F.cross_entropy(lucid.Tensor(x), lucid.tensor(t), reduction="sum").item() == 0


@pytest.mark.parametrize(
    "fn, shape, kw",
    [
        ("cross_entropy", (3, 4), {}),
        ("cross_entropy", (3, 4), {"label_smoothing": 0.2}),
        ("cross_entropy", (3, 4, 2), {}),
        ("nll_loss", (3, 4), {}),
        ("nll_loss", (3, 4, 2), {}),
    ],
)
def test_a_mean_over_only_ignored_targets_gives_zero_gradient_like_torch(fn, shape, kw):
    """The loss is 0/0 = NaN, but each ignored sample's gradient is 0, not 0·(1/0)."""
    x = np.random.default_rng(2).standard_normal(shape)
    t = np.full(shape[:1] + shape[2:], -100)
    xl, xt = lucid.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    with np.errstate(all="raise"):  # no 0·inf on the way either
        getattr(F, fn)(xl, lucid.tensor(t), **kw).backward()
    getattr(TF, fn)(xt, torch.tensor(t), **kw).backward()
    np.testing.assert_array_equal(xl.grad, xt.grad.numpy())
    np.testing.assert_array_equal(xl.grad, np.zeros(shape))


def test_cross_entropy_custom_ignore_index_and_gradcheck():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((5, 3))
    t = np.array([0, 2, 1, 2, 1])
    kw = dict(ignore_index=2, label_smoothing=0.1, weight=None)
    differential(
        lambda x, t: F.cross_entropy(x, t, **kw), lambda x, t: TF.cross_entropy(x, t, **kw), [x, t], [True, False], rng
    )
    w = lucid.Tensor(rng.uniform(0.5, 1.5, 3))
    xs = lucid.Tensor(rng.standard_normal((2, 3, 2)), requires_grad=True)
    ts = lucid.tensor([[0, 2], [-100, 1]])
    assert gradcheck(lambda x: F.cross_entropy(x, ts, weight=w, label_smoothing=0.2), [xs])
    probs = lucid.Tensor(rng.dirichlet(np.ones(3), size=2), requires_grad=True)
    xp = lucid.Tensor(rng.standard_normal((2, 3)), requires_grad=True)
    assert gradcheck(lambda x, p: F.cross_entropy(x, p, weight=w, label_smoothing=0.3, reduction="none"), [xp, probs])


def test_cross_entropy_errors_name_what_was_expected():
    x = lucid.randn(3, 4, dtype="double")
    with pytest.raises(IndexError, match="Target 7 is out of bounds"):
        F.cross_entropy(x, lucid.tensor([0, 1, 7]))
    with pytest.raises(IndexError, match="Target -3 is out of bounds"):
        F.cross_entropy(x, lucid.tensor([0, -3, 1]))
    with pytest.raises(ValueError, match=r"Expected input batch_size \(3\) to match target batch_size \(2\)"):
        F.cross_entropy(x, lucid.tensor([0, 1]))
    with pytest.raises(ValueError, match=r"Expected target size \[3, 5\], got \[3, 4\]"):
        F.cross_entropy(lucid.randn(3, 4, 5), lucid.zeros(3, 4, dtype="long"))
    with pytest.raises(ValueError, match="all 4 classes"):
        F.cross_entropy(x, lucid.tensor([0, 1, 2]), weight=lucid.ones(3, dtype="double"))
    with pytest.raises(ValueError, match="label_smoothing must be between 0.0 and 1.0. Got: 1.5"):
        F.cross_entropy(x, lucid.tensor([0, 1, 2]), label_smoothing=1.5)
    with pytest.raises(ValueError, match="ignore_index is not supported for floating point target"):
        F.cross_entropy(x, F.softmax(x, 1), ignore_index=1)
    with pytest.raises(ValueError, match="input's shape"):
        F.cross_entropy(x, lucid.randn(3, 5, dtype="double"))
    with pytest.raises(ValueError, match="label_smoothing"):
        nn.CrossEntropyLoss(label_smoothing=-0.1)


# ---- nll --------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("input_shape", [(6, 4), (3, 5, 2), (4,)], ids=["NC", "NCd", "C"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ignore", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss_matches_torch(input_shape, weighted, ignore, reduction):
    rng = np.random.default_rng(len(input_shape) * 4 + 2 * int(weighted) + int(ignore))
    C = input_shape[0] if len(input_shape) == 1 else input_shape[1]
    tshape = () if len(input_shape) == 1 else (input_shape[0],) + input_shape[2:]
    x = rng.standard_normal(input_shape)
    t = class_target(rng, tshape, C, ignore and len(input_shape) > 1)
    w = rng.uniform(0.2, 2.0, C) if weighted else None
    differential(
        lambda x, t, w: F.nll_loss(x, t, weight=w, reduction=reduction),
        lambda x, t, w: TF.nll_loss(x, t, weight=w, reduction=reduction),
        [x, t, w],
        [True, False, False],
        rng,
    )


def test_log_softmax_then_nll_equals_cross_entropy_and_gradcheck():
    rng = np.random.default_rng(3)
    x = lucid.Tensor(rng.standard_normal((4, 3)), requires_grad=True)
    t = lucid.tensor([2, 0, 1, 1])
    w = lucid.Tensor(rng.uniform(0.5, 2, 3))
    a = F.nll_loss(F.log_softmax(x, 1), t, weight=w)
    b = F.cross_entropy(x, t, weight=w)
    np.testing.assert_allclose(a.item(), b.item(), rtol=1e-14)
    assert gradcheck(lambda x: F.nll_loss(x, t, weight=w), [x])
    with pytest.raises(TypeError, match="class indices"):
        F.nll_loss(x, F.softmax(x, 1))


# ---- binary cross entropy with logits ----------------------------------------------------------------------------
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("pos_weighted", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("seed", range(2))
def test_bce_with_logits_matches_torch(weighted, pos_weighted, reduction, seed):
    rng = np.random.default_rng(seed * 8 + 4 * int(weighted) + 2 * int(pos_weighted))
    s = random_shape(rng) + (3,)
    x = rng.standard_normal(s) * 4
    t = rng.uniform(0, 1, s)
    t.flat[::2] = np.round(t.flat[::2])  # hard labels and soft ones
    w = rng.uniform(0.1, 2, s[-2:]) if weighted else None  # broadcast over the batch
    pw = rng.uniform(0.5, 3, 3) if pos_weighted else None
    differential(
        lambda x, t, w, pw: F.binary_cross_entropy_with_logits(x, t, w, reduction=reduction, pos_weight=pw),
        lambda x, t, w, pw: TF.binary_cross_entropy_with_logits(x, t, w, reduction=reduction, pos_weight=pw),
        [x, t, w, pw],
        [True, True, False, False],
        rng,
    )  # PyTorch has no gradient for weight, pos_weight


def test_bce_with_logits_is_stable_and_gradchecks():
    rng = np.random.default_rng(5)
    x = np.array([-1000.0, -40.0, 0.0, 40.0, 1000.0])
    t = np.array([1.0, 0.0, 0.5, 1.0, 0.0])
    differential(F.binary_cross_entropy_with_logits, TF.binary_cross_entropy_with_logits, [x, t], [True, True], rng)
    args = [lucid.Tensor(rng.standard_normal(s), requires_grad=True) for s in [(2, 3), (2, 3), (3,), (3,)]]
    args[1].data = rng.uniform(0, 1, (2, 3))
    args[2].data = rng.uniform(0.5, 1.5, 3)
    args[3].data = rng.uniform(0.5, 1.5, 3)
    assert gradcheck(lambda x, t, w, pw: F.binary_cross_entropy_with_logits(x, t, w, pos_weight=pw), args)
    with pytest.raises(ValueError, match=r"Target size \(\(2, 4\)\) must be the same as input size \(\(3, 4\)\)"):
        F.binary_cross_entropy_with_logits(lucid.randn(3, 4), lucid.rand(2, 4))


# ---- loss modules ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "make,target",
    [
        (lambda lib, w: lib.MSELoss(), "float"),
        (lambda lib, w: lib.L1Loss(reduction="sum"), "float"),
        (lambda lib, w: lib.CrossEntropyLoss(weight=w, ignore_index=1, label_smoothing=0.1), "index"),
        (lambda lib, w: lib.NLLLoss(weight=w, reduction="none"), "index"),
        (lambda lib, w: lib.BCEWithLogitsLoss(pos_weight=w), "prob"),
        (lambda lib, w: lib.BCEWithLogitsLoss(weight=w, reduction="sum"), "prob"),
    ],
    ids=["mse", "l1", "ce", "nll", "bce_pos", "bce_w"],
)
def test_loss_modules_match_torch(make, target):
    rng = np.random.default_rng(6)
    w = rng.uniform(0.5, 2, 4)
    ours, theirs = make(nn, lucid.Tensor(w)), make(tnn, torch.tensor(w))
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    x = rng.standard_normal((5, 4))
    t = {"float": rng.standard_normal((5, 4)), "index": rng.integers(0, 4, 5), "prob": rng.uniform(0, 1, (5, 4))}[
        target
    ]
    differential(ours, theirs, [x, t], [True, False], rng)


def test_training_a_classifier_lowers_the_loss():
    rng = np.random.default_rng(7)
    x = lucid.Tensor(rng.standard_normal((32, 4)))
    y = lucid.tensor((x.data[:, 0] + x.data[:, 1] > 0).astype(np.int64))
    lucid.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.GELU(), nn.Linear(8, 2)).double()
    loss_fn = nn.CrossEntropyLoss()
    first = None
    for _ in range(30):
        loss = loss_fn(model(x), y)
        first = loss.item() if first is None else first
        model.zero_grad()
        loss.backward()
        with lucid.no_grad():
            for p in model.parameters():
                p.data -= 0.5 * p.grad
    assert loss.item() < 0.5 * first


def test_float32_inputs_give_float32_losses_and_grads_even_with_float64_weights():
    x = lucid.randn(3, 4, requires_grad=True)
    w64 = lucid.ones(4, dtype="double")
    soft = lucid.Tensor(np.full((3, 4), 0.25))  # float64 probabilities
    for loss in [
        F.cross_entropy(x, lucid.tensor([0, 1, 2]), weight=w64, label_smoothing=0.1),
        F.cross_entropy(x, soft),
        F.nll_loss(x, lucid.tensor([0, 1, 2]), weight=w64),
        F.binary_cross_entropy_with_logits(x, soft, pos_weight=w64),
        F.mse_loss(x, lucid.zeros(3, 4)),
    ]:
        x.grad = None
        loss.backward()
        assert loss.dtype == np.float32 and x.grad.dtype == np.float32
