"""lucid.nn.functional's normalization family against PyTorch (float64, 1e-10) and finite differences."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from compare import TOL, close

import lucid
import lucid.nn.functional as F
from lucid.autograd import gradcheck


def arrays(seed, x_shape, n_affine):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(x_shape) * 2 + 0.5
    return rng, x, [1 + 0.5 * rng.standard_normal(n_affine), 0.5 * rng.standard_normal(n_affine)]


def differential(lucid_fn, torch_fn, x, params, rng):
    """Output and every gradient of lucid_fn(x, *params) against torch_fn(x, *params); None params stay None."""
    lx = lucid.Tensor(x, requires_grad=True)
    lp = [None if p is None else lucid.Tensor(p, requires_grad=True) for p in params]
    tx = torch.tensor(x, requires_grad=True)
    tp = [None if p is None else torch.tensor(p, requires_grad=True) for p in params]
    y, ty = lucid_fn(lx, *lp), torch_fn(tx, *tp)
    assert y.dtype == np.float64
    close(y, ty)
    gy = rng.standard_normal(y.shape)
    y.backward(gy)
    ty.backward(torch.tensor(gy))
    close(lx.grad, tx.grad)
    for p, tp_ in zip(lp, tp):
        if p is not None:
            close(p.grad, tp_.grad)


AFFINE = [(True, True), (True, False), (False, False)]
AFFINE_IDS = ["weight+bias", "weight", "none"]


def pick(params, affine):
    return [p if use else None for p, use in zip(params, affine)]


def running_stats(rng, C, running):
    """Random running statistics as (mean array, lucid pair, torch pair); the pairs are (None, None) if not running."""
    rm0, rv0 = rng.standard_normal(C), rng.uniform(0.5, 2, C)
    if not running:
        return rm0, (None, None), (None, None)
    return rm0, (lucid.Tensor(rm0.copy()), lucid.Tensor(rv0.copy())), (torch.tensor(rm0), torch.tensor(rv0))


# ---- batch_norm --------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(5, 3), (4, 3, 5), (2, 3, 2, 3), (2, 3, 2, 1, 3)])
@pytest.mark.parametrize("affine", AFFINE, ids=AFFINE_IDS)
@pytest.mark.parametrize("training,running", [(True, True), (True, False), (False, True)])
def test_batch_norm_matches_torch(shape, affine, training, running):
    rng, x, params = arrays(1, shape, shape[1])
    rm0, lr, tr = running_stats(rng, shape[1], running)
    differential(
        lambda x, w, b: F.batch_norm(x, *lr, w, b, training=training, momentum=0.3, eps=1e-3),
        lambda x, w, b: TF.batch_norm(x, *tr, w, b, training=training, momentum=0.3, eps=1e-3),
        x,
        pick(params, affine),
        rng,
    )
    for l, t in zip(lr, tr):
        if l is not None:
            close(l, t)
    if running and training:
        assert not np.allclose(lr[0].data, rm0)  # the update did happen


def test_batch_norm_updates_running_stats_in_place_without_graph():
    rng, x, _ = arrays(2, (6, 2, 3), 2)
    rm, rv = lucid.zeros(2, dtype=lucid.float64), lucid.ones(2, dtype=lucid.float64)
    arr_m, arr_v = rm.data, rv.data
    xt = lucid.Tensor(x, requires_grad=True)
    F.batch_norm(xt, rm, rv, training=True, momentum=0.25)
    assert rm.data is arr_m and rv.data is arr_v
    assert rm.grad_fn is None and not rm.requires_grad
    M = 6 * 3
    mean, var = x.mean(axis=(0, 2)), x.var(axis=(0, 2))
    np.testing.assert_allclose(rm.data, 0.25 * mean, **TOL)
    np.testing.assert_allclose(rv.data, 0.75 + 0.25 * var * M / (M - 1), **TOL)


def test_batch_norm_running_stats_keep_their_dtype():
    rng, x, _ = arrays(3, (4, 3), 3)
    rm, rv = lucid.zeros(3), lucid.ones(3)  # float32 buffers, float64 input
    F.batch_norm(lucid.Tensor(x), rm, rv, training=True)
    assert rm.dtype == np.float32 and rv.dtype == np.float32
    np.testing.assert_allclose(rm.data, 0.1 * x.mean(0), rtol=1e-6)


# ---- instance_norm ------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(3, 2, 4), (2, 3, 2, 3), (2, 2, 2, 1, 3)])
@pytest.mark.parametrize("affine", AFFINE, ids=AFFINE_IDS)
@pytest.mark.parametrize("use_input_stats,running", [(True, True), (True, False), (False, True)])
def test_instance_norm_matches_torch(shape, affine, use_input_stats, running):
    rng, x, params = arrays(4, shape, shape[1])
    rm0, lr, tr = running_stats(rng, shape[1], running)
    differential(
        lambda x, w, b: F.instance_norm(x, *lr, w, b, use_input_stats, momentum=0.3, eps=1e-3),
        lambda x, w, b: TF.instance_norm(x, *tr, w, b, use_input_stats, momentum=0.3, eps=1e-3),
        x,
        pick(params, affine),
        rng,
    )
    for l, t in zip(lr, tr):
        if l is not None:
            close(l, t)


# ---- layer_norm, group_norm, rms_norm -------------------------------------------------------------
@pytest.mark.parametrize("shape,normalized", [((4, 5), 5), ((2, 3, 4), (4,)), ((2, 3, 4), (3, 4)), ((6,), [6])])
@pytest.mark.parametrize("affine", AFFINE, ids=AFFINE_IDS)
def test_layer_norm_matches_torch(shape, normalized, affine):
    nshape = (normalized,) if isinstance(normalized, int) else tuple(normalized)
    rng, x, params = arrays(5, shape, nshape)
    differential(
        lambda x, w, b: F.layer_norm(x, normalized, w, b, eps=1e-4),
        lambda x, w, b: TF.layer_norm(x, nshape, w, b, eps=1e-4),
        x,
        pick(params, affine),
        rng,
    )


@pytest.mark.parametrize(
    "shape,groups",
    [((2, 6, 3), 1), ((2, 6, 3), 2), ((2, 6, 3), 6), ((3, 4), 2), ((2, 4, 2, 3), 2), ((1, 4, 2, 1, 2), 4)],
)
@pytest.mark.parametrize("affine", AFFINE, ids=AFFINE_IDS)
def test_group_norm_matches_torch(shape, groups, affine):
    rng, x, params = arrays(6, shape, shape[1])
    differential(
        lambda x, w, b: F.group_norm(x, groups, w, b, eps=1e-4),
        lambda x, w, b: TF.group_norm(x, groups, w, b, eps=1e-4),
        x,
        pick(params, affine),
        rng,
    )


@pytest.mark.parametrize("shape,normalized", [((4, 5), 5), ((2, 3, 4), (3, 4)), ((6,), (6,))])
@pytest.mark.parametrize("weight", [True, False])
@pytest.mark.parametrize("eps", [None, 1e-3])
def test_rms_norm_matches_torch(shape, normalized, weight, eps):
    nshape = (normalized,) if isinstance(normalized, int) else tuple(normalized)
    rng, x, params = arrays(7, shape, nshape)
    differential(
        lambda x, w: F.rms_norm(x, normalized, w, eps=eps),
        lambda x, w: TF.rms_norm(x, nshape, w, eps=eps),
        x,
        [params[0] if weight else None],
        rng,
    )


def test_rms_norm_default_eps_is_the_dtype_epsilon():
    x = np.array([[1e-9, -2e-9, 3e-9]])
    y = F.rms_norm(lucid.Tensor(x), 3).data
    ms = (x * x).mean(-1, keepdims=True)
    np.testing.assert_allclose(y, x / np.sqrt(ms + np.finfo(np.float64).eps), rtol=1e-12)
    y32 = F.rms_norm(lucid.Tensor(x.astype(np.float32)), 3).data
    np.testing.assert_allclose(y32, x / np.sqrt(ms + np.finfo(np.float32).eps), rtol=1e-6)
    y16 = F.rms_norm(lucid.Tensor((x * 1e5).astype(np.float16)), 3).data  # float16: float32's epsilon, as PyTorch
    t16 = TF.rms_norm(torch.tensor(x * 1e5, dtype=torch.float16), (3,))
    np.testing.assert_array_equal(y16, t16.numpy())


# ---- gradcheck (finite differences) ----------------------------------------------------------------
def _leaf(a):
    return lucid.Tensor(np.array(a, dtype=np.float64), requires_grad=True)


GRADCHECK = {
    "batch_norm_train": (lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), (3, 2, 2), 2),
    "batch_norm_eval": (
        lambda x, w, b: F.batch_norm(
            x, lucid.Tensor([0.3, -0.2], dtype=lucid.float64), lucid.Tensor([0.5, 2.0], dtype=lucid.float64), w, b
        ),
        (3, 2, 2),
        2,
    ),
    "instance_norm": (lambda x, w, b: F.instance_norm(x, None, None, w, b), (2, 2, 3), 2),
    "instance_norm_running": (
        lambda x, w, b: F.instance_norm(
            x,
            lucid.Tensor([0.3, -0.2], dtype=lucid.float64),
            lucid.Tensor([0.5, 2.0], dtype=lucid.float64),
            w,
            b,
            use_input_stats=False,
        ),
        (2, 2, 3),
        2,
    ),
    "layer_norm": (lambda x, w, b: F.layer_norm(x, (2, 3), w, b), (2, 2, 3), (2, 3)),
    "group_norm": (lambda x, w, b: F.group_norm(x, 2, w, b), (2, 4, 2), 4),
    "rms_norm": (lambda x, w, b: F.rms_norm(x, 3, w, eps=1e-3), (2, 3), 3),
}


@pytest.mark.parametrize("name", list(GRADCHECK))
def test_gradcheck(name):
    fn, shape, n = GRADCHECK[name]
    rng, x, (w, b) = arrays(8, shape, n)
    assert gradcheck(fn, (_leaf(x), _leaf(w), _leaf(b)))


def test_gradcheck_second_call_and_no_affine():
    rng, x, _ = arrays(9, (3, 4), 1)
    assert gradcheck(lambda x: F.group_norm(x, 2), (_leaf(x),))
    assert gradcheck(lambda x: F.layer_norm(x, 4), (_leaf(x),))


# ---- what is computed, and what is not ------------------------------------------------------------
def test_gradients_only_for_what_requires_grad():
    rng, x, (w, b) = arrays(10, (4, 3), 3)
    lx, lw, lb = lucid.Tensor(x), lucid.Tensor(w, requires_grad=True), lucid.Tensor(b)
    F.batch_norm(lx, None, None, lw, lb, training=True).backward(np.ones((4, 3)))
    assert lx.grad is None and lb.grad is None and lw.grad is not None
    np.testing.assert_allclose(lw.grad, 0, atol=1e-12)  # Σ x̂ over a channel is 0


def test_no_graph_under_no_grad():
    x = lucid.Tensor(np.ones((3, 2)) + np.arange(6).reshape(3, 2), requires_grad=True)
    with lucid.no_grad():
        y = F.layer_norm(x, 2)
    assert y.grad_fn is None and not y.requires_grad


def test_parameters_keep_their_dtype_and_output_keeps_the_input_dtype():
    rng, x, (w, b) = arrays(11, (4, 3, 2), 3)
    lx = lucid.Tensor(x.astype(np.float32), requires_grad=True)
    lw, lb = lucid.Tensor(w, requires_grad=True), lucid.Tensor(b.astype(np.float16), requires_grad=True)
    y = F.batch_norm(lx, None, None, lw, lb, training=True)
    assert y.dtype == np.float32
    y.backward(np.ones(y.shape, dtype=np.float32))
    assert lx.grad.dtype == np.float32 and lw.grad.dtype == np.float64 and lb.grad.dtype == np.float16
    np.testing.assert_allclose(lb.grad, np.full(3, 8.0))


def test_empty_batch_in_eval_returns_empty_output():
    rm, rv = lucid.Tensor(np.zeros(3)), lucid.Tensor(np.ones(3))
    x = lucid.Tensor(np.zeros((0, 3, 4)), requires_grad=True)
    w = lucid.Tensor(np.ones(3), requires_grad=True)
    y = F.batch_norm(x, rm, rv, w, None)
    assert y.shape == (0, 3, 4) and y.dtype == np.float64
    y.backward(np.zeros((0, 3, 4)))
    assert x.grad.shape == (0, 3, 4)
    np.testing.assert_array_equal(w.grad, np.zeros(3))
    assert F.layer_norm(lucid.Tensor(np.zeros((0, 5), dtype=np.float32)), 5).shape == (0, 5)
    assert F.group_norm(lucid.Tensor(np.zeros((0, 4, 2))), 2).shape == (0, 4, 2)
    assert F.instance_norm(lucid.Tensor(np.zeros((0, 3, 4)))).shape == (0, 3, 4)


def test_empty_batch_in_training_leaves_running_stats():
    # as PyTorch: empty output, running statistics untouched
    rm, rv = lucid.Tensor(np.full(2, 0.5)), lucid.Tensor(np.full(2, 2.0))
    y = F.batch_norm(lucid.Tensor(np.zeros((0, 2))), rm, rv, training=True)
    assert y.shape == (0, 2)
    np.testing.assert_array_equal(rm.data, [0.5, 0.5])
    np.testing.assert_array_equal(rv.data, [2.0, 2.0])


# ---- bad input: a clear error, nothing changed --------------------------------------------------------
def _running():
    return lucid.Tensor(np.array([0.5, -0.5])), lucid.Tensor(np.array([2.0, 3.0]))


def _unchanged(rm, rv):
    np.testing.assert_array_equal(rm.data, [0.5, -0.5])
    np.testing.assert_array_equal(rv.data, [2.0, 3.0])


def test_one_value_per_channel_when_training():
    rm, rv = _running()
    x = lucid.Tensor(np.array([[1.0, 2.0]]))
    with pytest.raises(
        ValueError,
        match=r"^Expected more than 1 value per channel when training, "
        r"got input size \(1, 2\)$",
    ):
        F.batch_norm(x, rm, rv, training=True)
    _unchanged(rm, rv)
    with pytest.raises(ValueError, match=r"got input size \(1, 2, 1\)"):
        F.batch_norm(lucid.Tensor(np.ones((1, 2, 1))), rm, rv, training=True)
    with pytest.raises(
        ValueError,
        match=r"Expected more than 1 value per channel when training, "
        r"got input size \(3, 2, 1\)",
    ):
        F.instance_norm(lucid.Tensor(np.ones((3, 2, 1))), rm, rv)
    _unchanged(rm, rv)
    # eval needs no batch statistics: one value is fine
    assert F.batch_norm(x, rm, rv).shape == (1, 2)
    assert F.instance_norm(lucid.Tensor(np.ones((3, 2, 1))), rm, rv, use_input_stats=False).shape == (3, 2, 1)


@pytest.mark.parametrize(
    "call,exc,message",
    [
        (
            lambda rm, rv: F.batch_norm(lucid.Tensor(np.ones((4, 3))), rm, rv, training=True),
            ValueError,
            r"expected running_mean of shape \(3,\) \(one entry per channel\), got running_mean of shape \(2,\)",
        ),
        (
            lambda rm, rv: F.batch_norm(lucid.Tensor(np.ones((4, 2))), None, None),
            ValueError,
            r"running_mean and running_var must be given in evaluation mode \(training=False\)",
        ),
        (
            lambda rm, rv: F.batch_norm(lucid.Tensor(np.ones((4, 2))), rm, None, training=True),
            ValueError,
            "running_mean and running_var must be given together",
        ),
        (
            lambda rm, rv: F.batch_norm(lucid.Tensor(np.ones((4, 2))), rm, rv, lucid.ones(3), training=True),
            ValueError,
            r"expected weight of shape \(2,\) \(one entry per channel\), got weight of shape \(3,\)",
        ),
        (
            lambda rm, rv: F.batch_norm(lucid.Tensor(np.ones((4, 2))), rm, rv, None, lucid.ones(1), training=True),
            ValueError,
            r"expected bias of shape \(2,\)",
        ),
        (
            lambda rm, rv: F.batch_norm(lucid.Tensor(np.ones(4)), rm, rv, training=True),
            ValueError,
            r"expected an input with at least 2 dimensions \(got 1D input of size \(4,\)\)",
        ),
        (
            lambda rm, rv: F.batch_norm(lucid.Tensor(np.ones((4, 2), dtype=np.int64)), rm, rv, training=True),
            TypeError,
            "expected a floating point input",
        ),
        (
            lambda rm, rv: F.batch_norm(lucid.Tensor(np.ones((4, 2))), rm, rv, training=True, eps=0.0),
            ValueError,
            "eps must be positive, got 0.0",
        ),
        (
            lambda rm, rv: F.batch_norm(lucid.Tensor(np.ones((4, 2))), rm, rv, eps=-1e-5),
            ValueError,
            "eps must be non-negative",
        ),
        (
            lambda rm, rv: F.batch_norm(lucid.Tensor(np.ones((4, 2))), rm, rv, training=True, momentum=None),
            TypeError,
            "momentum must be a number",
        ),
        (
            lambda rm, rv: F.instance_norm(lucid.Tensor(np.ones((4, 3, 2))), rm, rv),
            ValueError,
            r"expected running_mean of shape \(3,\)",
        ),
        (
            lambda rm, rv: F.instance_norm(lucid.Tensor(np.ones((4, 2, 2))), None, None, use_input_stats=False),
            ValueError,
            "use_input_stats=False needs running_mean and running_var",
        ),
        (
            lambda rm, rv: F.group_norm(lucid.Tensor(np.ones((2, 6, 3))), 4),
            ValueError,
            r"divisible by num_groups, got 6 channels \(input of size \(2, 6, 3\)\) and num_groups=4",
        ),
        (lambda rm, rv: F.group_norm(lucid.Tensor(np.ones((2, 6, 3))), 0), ValueError, "num_groups must be a positive"),
        (
            lambda rm, rv: F.group_norm(lucid.Tensor(np.ones((2, 6, 3))), 2, lucid.ones(3)),
            ValueError,
            r"expected weight of shape \(6,\)",
        ),
        (
            lambda rm, rv: F.layer_norm(lucid.Tensor(np.ones((2, 4))), 3),
            ValueError,
            r"given normalized_shape=\(3,\), expected input with shape \(\*, 3\), got input of size \(2, 4\)",
        ),
        (lambda rm, rv: F.layer_norm(lucid.Tensor(np.ones(4)), (2, 4)), ValueError, r"normalized_shape=\(2, 4\)"),
        (lambda rm, rv: F.layer_norm(lucid.Tensor(np.ones((2, 4))), ()), ValueError, "at least 1 dimension"),
        (
            lambda rm, rv: F.layer_norm(lucid.Tensor(np.ones((2, 4))), 4, lucid.ones((2, 2))),
            ValueError,
            r"expected weight of shape \(4,\) \(normalized_shape\), got weight of shape \(2, 2\)",
        ),
        (
            lambda rm, rv: F.rms_norm(lucid.Tensor(np.ones((2, 4))), (2, 3)),
            ValueError,
            r"expected input with shape \(\*, 2, 3\)",
        ),
        (
            lambda rm, rv: F.rms_norm(lucid.Tensor(np.ones((2, 4))), 4, lucid.ones(3)),
            ValueError,
            r"expected weight of shape \(4,\)",
        ),
    ],
)
def test_bad_input_raises_and_changes_nothing(call, exc, message):
    rm, rv = _running()
    with pytest.raises(exc, match=message):
        call(rm, rv)
    _unchanged(rm, rv)


# ---- the NumPy reference kernels (used without numba) give the same answers ----------------------------
@pytest.mark.parametrize("name", ["batch_train", "batch_eval", "instance", "instance_running", "layer", "group", "rms"])
def test_numpy_reference_kernels(name, monkeypatch):
    from lucid import backends
    from lucid._kernels.norm import reference

    monkeypatch.setattr(backends, "_active", "numpy")
    rng, x, params = arrays(12, (3, 4, 5), 4)
    rm, rv = rng.standard_normal(4), rng.uniform(0.5, 2, 4)
    lr, tr = (lucid.Tensor(rm.copy()), lucid.Tensor(rv.copy())), (torch.tensor(rm), torch.tensor(rv))
    calls = {
        "batch_train": (
            lambda x, w, b: F.batch_norm(x, *lr, w, b, training=True),
            lambda x, w, b: TF.batch_norm(x, *tr, w, b, training=True),
        ),
        "batch_eval": (lambda x, w, b: F.batch_norm(x, *lr, w, b), lambda x, w, b: TF.batch_norm(x, *tr, w, b)),
        "instance": (lambda x, w, b: F.instance_norm(x, *lr, w, b), lambda x, w, b: TF.instance_norm(x, *tr, w, b)),
        "instance_running": (
            lambda x, w, b: F.instance_norm(x, *lr, w, b, use_input_stats=False),
            lambda x, w, b: TF.instance_norm(x, *tr, w, b, use_input_stats=False),
        ),
        "layer": (lambda x, w, b: F.layer_norm(x, 5), lambda x, w, b: TF.layer_norm(x, (5,))),
        "group": (lambda x, w, b: F.group_norm(x, 2, w, b), lambda x, w, b: TF.group_norm(x, 2, w, b)),
        "rms": (lambda x, w, b: F.rms_norm(x, 5), lambda x, w, b: TF.rms_norm(x, (5,))),
    }
    differential(*calls[name], x, [None, None] if name in ("layer", "rms") else params, rng)
    close(lr[0], tr[0])
    close(lr[1], tr[1])
    assert backends.kernels("norm") is reference
