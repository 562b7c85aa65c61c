"""Dense layers, activations, dropout, embedding and init against PyTorch (float64, 1e-10) and finite differences."""

import math

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
from lucid.nn import init


def shape(rng, lead_max=2, lo=1, hi=5):
    return tuple(int(n) for n in rng.integers(lo, hi, size=rng.integers(0, lead_max + 1)))


# ---- linear ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("bias", [True, False])
def test_linear_matches_torch(seed, bias):
    rng = np.random.default_rng(seed)
    fin, fout = rng.integers(1, 7, size=2)
    x = rng.standard_normal(shape(rng) + (fin,))
    w, b = rng.standard_normal((fout, fin)), rng.standard_normal(fout) if bias else None
    differential(F.linear, TF.linear, [x, w, b], rng)


@pytest.mark.parametrize("x_shape, fout", [((2, 0), 3), ((2, 5), 0), ((0, 4), 3), ((3, 0, 4), 2)])
def test_linear_with_a_zero_size_matches_torch(x_shape, fout):
    rng = np.random.default_rng(0)
    w, b = rng.standard_normal((fout, x_shape[-1])), rng.standard_normal(fout)
    y = differential(F.linear, TF.linear, [rng.standard_normal(x_shape), w, b], rng)
    assert y.shape == x_shape[:-1] + (fout,)


def test_linear_module_matches_torch_with_the_same_weights():
    rng = np.random.default_rng(1)
    tm = tnn.Linear(5, 3).double()
    lm = nn.Linear(5, 3, dtype=lucid.float64)
    lm.load_state_dict({k: v.numpy() for k, v in tm.state_dict().items()})
    x = rng.standard_normal((2, 4, 5))
    lx, tx = lucid.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, ty = lm(lx), tm(tx)
    close(y, ty)
    gy = rng.standard_normal(y.shape)
    y.backward(gy), ty.backward(torch.tensor(gy))
    close(lx.grad, tx.grad), close(lm.weight.grad, tm.weight.grad), close(lm.bias.grad, tm.bias.grad)


def test_linear_gradcheck_and_errors():
    rng = np.random.default_rng(2)
    args = [lucid.Tensor(rng.standard_normal(s), requires_grad=True) for s in [(2, 3), (4, 3), (4,)]]
    assert gradcheck(F.linear, args)
    with pytest.raises(ValueError, match=r"in_features=3 \(got input of shape \(2, 4\)\)"):
        nn.Linear(3, 2)(lucid.randn(2, 4))
    lin = nn.Linear(3, 2, bias=False)
    assert lin.bias is None and list(lin.state_dict()) == ["weight"]


@pytest.mark.parametrize("start,end", [(1, -1), (0, -1), (1, 2), (-2, -1), (2, 2)])
def test_flatten_and_identity_match_torch(start, end):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 4, 2))
    differential(nn.Flatten(start, end), tnn.Flatten(start, end), [x], rng)
    differential(nn.Identity(5, k=1), tnn.Identity(5, k=1), [x], rng)


# ---- default initializations ------------------------------------------------------------------------------
def test_linear_default_init_matches_torch_distribution():
    lucid.manual_seed(0)
    torch.manual_seed(0)
    fin, fout = 300, 200
    ours, theirs = nn.Linear(fin, fout), tnn.Linear(fin, fout)
    bound = 1 / math.sqrt(fin)  # kaiming_uniform with a=√5 gives exactly 1/√fan_in
    for name in ("weight", "bias"):
        a, b = getattr(ours, name).data, getattr(theirs, name).detach().numpy()
        assert a.dtype == b.dtype == np.float32
        assert np.abs(a).max() <= bound and np.abs(b).max() <= bound
    w, tw = ours.weight.data, theirs.weight.detach().numpy()
    assert np.abs(w).max() > 0.999 * bound  # the whole interval is used
    np.testing.assert_allclose(w.std(), bound / math.sqrt(3), rtol=0.02)
    np.testing.assert_allclose(w.std(), tw.std(), rtol=0.02)
    assert abs(w.mean()) < 0.01 * bound * 3
    lucid.manual_seed(5)
    a = nn.Linear(4, 3).weight.data.copy()
    lucid.manual_seed(5)
    np.testing.assert_array_equal(nn.Linear(4, 3).weight.data, a)  # reproducible from the seed


@pytest.mark.parametrize("shape", [(40, 30), (16, 8, 3, 3), (20, 10, 5)])
@pytest.mark.parametrize(
    "fn,kwargs",
    [
        ("xavier_uniform_", {}),
        ("xavier_uniform_", {"gain": 2.0}),
        ("xavier_normal_", {}),
        ("kaiming_uniform_", {}),
        ("kaiming_uniform_", {"a": math.sqrt(5)}),
        ("kaiming_uniform_", {"mode": "fan_out", "nonlinearity": "relu"}),
        ("kaiming_normal_", {}),
        ("kaiming_normal_", {"mode": "fan_out", "nonlinearity": "tanh"}),
        ("uniform_", {"a": -0.3, "b": 0.7}),
        ("normal_", {"mean": 1.0, "std": 0.5}),
    ],
)
def test_init_distributions_match_torch(shape, fn, kwargs):
    lucid.manual_seed(1)
    torch.manual_seed(1)
    ours = getattr(init, fn)(lucid.empty(*shape, dtype="double"), **kwargs).data
    theirs = getattr(tnn.init, fn)(torch.empty(*shape, dtype=torch.float64), **kwargs).numpy()
    n = ours.size
    # same mean and spread (to a few standard errors), and for uniforms the same support
    np.testing.assert_allclose(ours.mean(), theirs.mean(), atol=6 * theirs.std() / math.sqrt(n))
    np.testing.assert_allclose(ours.std(), theirs.std(), rtol=8 / math.sqrt(n))
    if "uniform" in fn:
        lo, hi = min(ours.min(), theirs.min()), max(ours.max(), theirs.max())
        width = hi - lo
        assert ours.min() >= lo and ours.max() <= hi
        np.testing.assert_allclose([ours.min(), ours.max()], [theirs.min(), theirs.max()], atol=0.05 * width)


def test_init_constants_gain_and_fans_match_torch():
    t = lucid.empty(3, 4)
    assert init.constant_(t, 0.25) is t and np.all(t.data == 0.25)
    assert np.all(init.ones_(t).data == 1) and np.all(init.zeros_(t).data == 0)
    np.testing.assert_array_equal(init.eye_(lucid.empty(3, 4)).data, np.eye(3, 4))
    for nl in ["linear", "conv2d", "sigmoid", "tanh", "relu", "leaky_relu", "selu"]:
        assert init.calculate_gain(nl) == tnn.init.calculate_gain(nl)
    assert init.calculate_gain("leaky_relu", 0.2) == tnn.init.calculate_gain("leaky_relu", 0.2)
    for s in [(3, 4), (5, 3, 2), (6, 2, 3, 3), (2, 0)]:
        assert init._calculate_fan_in_and_fan_out(lucid.empty(*s)) == tnn.init._calculate_fan_in_and_fan_out(
            torch.empty(*s)
        )
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(lucid.empty(3))
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="not supported"):
        init.kaiming_normal_(lucid.empty(2, 2), mode="fan_avg")
    r = init.trunc_normal_(lucid.empty(2000, dtype="double"), std=2.0, a=-1.0, b=3.0).data
    assert r.min() >= -1 and r.max() <= 3


# ---- activations ------------------------------------------------------------------------------------------
ACTIVATIONS = [
    ("relu", lambda x: F.relu(x), lambda x: TF.relu(x)),
    ("leaky_relu", lambda x: F.leaky_relu(x), lambda x: TF.leaky_relu(x)),
    ("leaky_relu_0.3", lambda x: F.leaky_relu(x, 0.3), lambda x: TF.leaky_relu(x, 0.3)),
    ("gelu", lambda x: F.gelu(x), lambda x: TF.gelu(x)),
    ("gelu_tanh", lambda x: F.gelu(x, approximate="tanh"), lambda x: TF.gelu(x, approximate="tanh")),
    ("silu", lambda x: F.silu(x), lambda x: TF.silu(x)),
    ("sigmoid", lambda x: F.sigmoid(x), lambda x: torch.sigmoid(x)),
    ("tanh", lambda x: F.tanh(x), lambda x: torch.tanh(x)),
]


@pytest.mark.parametrize("name,ours,theirs", ACTIVATIONS, ids=[a[0] for a in ACTIVATIONS])
@pytest.mark.parametrize("seed", range(3))
def test_activation_matches_torch(name, ours, theirs, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape(rng, 3) + (7,)) * 4
    x.flat[0] = 0.0  # the kink: same one-sided convention as PyTorch
    differential(ours, theirs, [x], rng)


def test_gelu_over_a_wide_range_and_special_values():
    x = np.concatenate([np.linspace(-40, 40, 4001), [0.0, -0.0, np.inf, -np.inf, np.nan]])
    rng = np.random.default_rng(0)
    differential(F.gelu, TF.gelu, [x[:-3]], rng)
    special = x[-3:]  # inf, -inf, nan: the same as PyTorch (−inf·Φ(−inf) is inf·0, NaN in both)
    np.testing.assert_array_equal(F.gelu(lucid.Tensor(special)).data, TF.gelu(torch.tensor(special)).numpy())
    # relative accuracy deep in the left tail, where x·Φ(x) is tiny (Φ(−10) = 7.6198530241605e−24)
    np.testing.assert_allclose(F.gelu(lucid.Tensor(np.array([-10.0]))).data, [-7.6198530241604696e-23], rtol=1e-12)
    x32 = lucid.Tensor(np.array([-1.5, 0.5], dtype=np.float32))
    assert F.gelu(x32).dtype == np.float32


def test_erf_matches_math_erf():
    from lucid.nn.functional.activation import erf

    x = np.concatenate([np.linspace(-7, 7, 2801), np.geomspace(1e-300, 1e-3, 50)])
    np.testing.assert_allclose(erf(x), [math.erf(v) for v in x], rtol=1e-14, atol=1e-300)


@pytest.mark.parametrize("dim", [0, 1, -1, 2])
@pytest.mark.parametrize("which", ["softmax", "log_softmax"])
def test_softmax_matches_torch(dim, which):
    rng = np.random.default_rng(dim + 10)
    x = rng.standard_normal((3, 4, 5)) * 5
    differential(lambda t: getattr(F, which)(t, dim), lambda t: getattr(TF, which)(t, dim), [x], rng)


@pytest.mark.parametrize("which", ["softmax", "log_softmax"])
def test_softmax_is_stable_on_huge_logits(which):
    x = np.array([[1000.0, 0.0, -1000.0], [1e308, 1e308, -1e308], [-800.0, -801.0, -805.0]])
    rng = np.random.default_rng(0)
    differential(lambda t: getattr(F, which)(t, 1), lambda t: getattr(TF, which)(t, 1), [x[[0, 2]]], rng)
    y = getattr(F, which)(lucid.Tensor(x[:1]), 1).data
    assert np.all(np.isfinite(y) | (y == -np.inf))


def test_softmax_dtype_and_implicit_dim():
    x = lucid.randn(2, 3)
    assert F.softmax(x, 1, dtype=lucid.float64).dtype == np.float64
    with pytest.warns(UserWarning, match="Implicit dimension"):
        y = F.softmax(x)
    with pytest.warns(UserWarning):
        ty = TF.softmax(torch.tensor(x.data))
    np.testing.assert_allclose(y.data, ty.numpy(), rtol=1e-6)
    with pytest.raises(IndexError, match="Dimension out of range"):
        F.log_softmax(x, 2)


@pytest.mark.parametrize(
    "name,fn",
    [
        ("leaky_relu", lambda x: F.leaky_relu(x, 0.2)),
        ("gelu", F.gelu),
        ("gelu_tanh", lambda x: F.gelu(x, approximate="tanh")),
        ("silu", F.silu),
        ("softmax", lambda x: F.softmax(x, 1)),
        ("log_softmax", lambda x: F.log_softmax(x, 0)),
    ],
)
def test_activation_gradcheck(name, fn):
    x = lucid.Tensor(np.random.default_rng(4).standard_normal((3, 4)) * 2, requires_grad=True)
    assert gradcheck(fn, [x])


@pytest.mark.parametrize(
    "make",
    [
        lambda lib: lib.ReLU(),
        lambda lib: lib.LeakyReLU(0.1),
        lambda lib: lib.GELU(),
        lambda lib: lib.GELU("tanh"),
        lambda lib: lib.SiLU(),
        lambda lib: lib.Sigmoid(),
        lambda lib: lib.Tanh(),
        lambda lib: lib.Softmax(dim=1),
        lambda lib: lib.LogSoftmax(dim=-1),
    ],
)
def test_activation_modules_match_torch(make):
    rng = np.random.default_rng(5)
    ours, theirs = make(nn), make(tnn)
    assert repr(ours) == repr(theirs)
    differential(ours, theirs, [rng.standard_normal((4, 6))], rng)


def test_gelu_rejects_unknown_approximation():
    with pytest.raises(ValueError, match="'none' or 'tanh'"):
        nn.GELU("fast")
    with pytest.raises(ValueError, match="'none' or 'tanh'"):
        F.gelu(lucid.randn(2), approximate="erf")


# ---- dropout -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("p", [0.2, 0.5, 0.9])
def test_dropout_masks_scales_and_backprops_through_the_same_mask(p):
    lucid.manual_seed(0)
    x = lucid.Tensor(np.random.default_rng(0).uniform(1, 2, (200, 100)), requires_grad=True)
    y = F.dropout(x, p)
    kept = y.data != 0
    np.testing.assert_allclose(y.data[kept], x.data[kept] / (1 - p), rtol=1e-15)
    n = kept.size
    assert abs((~kept).mean() - p) < 5 * math.sqrt(p * (1 - p) / n)
    g = np.random.default_rng(1).standard_normal(y.shape)
    y.backward(g)
    np.testing.assert_allclose(x.grad, np.where(kept, g / (1 - p), 0), rtol=1e-15)
    lucid.manual_seed(0)
    np.testing.assert_array_equal(F.dropout(x, p).data, y.data)  # the seed fixes the mask


def test_dropout_module_modes_and_edges():
    x = lucid.randn(50, 20, dtype="double")
    d = nn.Dropout(0.5)
    assert repr(d) == repr(tnn.Dropout(0.5)) == "Dropout(p=0.5, inplace=False)"
    assert d.eval()(x) is x
    assert F.dropout(x, 0.0) is x and F.dropout(x, 0.7, training=False) is x
    x.requires_grad_()
    y = F.dropout(x, 1.0)
    assert np.all(y.data == 0)
    y.sum().backward()
    assert np.all(x.grad == 0)
    for bad in (-0.1, 1.5):
        with pytest.raises(ValueError, match=f"between 0 and 1, but got {bad}"):
            nn.Dropout(bad)
        with pytest.raises(ValueError, match="between 0 and 1"):
            F.dropout(x, bad)


# ---- embedding -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("padding_idx", [None, 0, -1])
@pytest.mark.parametrize("scale_grad_by_freq", [False, True])
def test_embedding_matches_torch(padding_idx, scale_grad_by_freq):
    rng = np.random.default_rng(7)
    w = rng.standard_normal((6, 3))
    idx = rng.integers(0, 6, size=(4, 5))
    idx[0, :3] = 5  # repeats, and the padding row when padding_idx=-1
    idx[1, 0] = 0
    lw, tw = lucid.Tensor(w, requires_grad=True), torch.tensor(w, requires_grad=True)
    y = F.embedding(lucid.tensor(idx), lw, padding_idx=padding_idx, scale_grad_by_freq=scale_grad_by_freq)
    ty = TF.embedding(torch.tensor(idx), tw, padding_idx=padding_idx, scale_grad_by_freq=scale_grad_by_freq)
    close(y, ty)
    g = rng.standard_normal(y.shape)
    y.backward(g), ty.backward(torch.tensor(g))
    close(lw.grad, tw.grad)


def test_embedding_max_norm_renormalizes_like_torch():
    rng = np.random.default_rng(8)
    w = rng.standard_normal((5, 4)) * 3
    idx = np.array([[0, 2], [2, 4]])
    for norm_type in (2.0, 1.0):
        lw, tw = lucid.Tensor(w.copy(), requires_grad=True), torch.tensor(w.copy(), requires_grad=True)
        y = F.embedding(lucid.tensor(idx), lw, max_norm=1.5, norm_type=norm_type)
        with torch.no_grad():
            ty = TF.embedding(torch.tensor(idx), tw, max_norm=1.5, norm_type=norm_type)
        close(y, ty)
        close(lw.data, tw)  # the rows used were rescaled in place, the others left alone


def test_embedding_module_init_repr_and_errors():
    lucid.manual_seed(0)
    e = nn.Embedding(400, 50, padding_idx=3)
    w = e.weight.data
    assert w.shape == (400, 50) and w.dtype == np.float32 and np.all(w[3] == 0)
    rest = np.delete(w, 3, axis=0)
    assert abs(rest.mean()) < 0.02 and abs(rest.std() - 1) < 0.02  # N(0, 1) like PyTorch
    assert repr(e) == repr(tnn.Embedding(400, 50, padding_idx=3)) == "Embedding(400, 50, padding_idx=3)"
    assert nn.Embedding(4, 2, padding_idx=-1).padding_idx == tnn.Embedding(4, 2, padding_idx=-1).padding_idx == 3
    with pytest.raises(ValueError, match="Padding_idx must be within num_embeddings"):
        nn.Embedding(4, 2, padding_idx=4)
    with pytest.raises(IndexError, match="index 400 is out of range for a table of 400 rows"):
        e(lucid.tensor([1, 400]))
    with pytest.raises(TypeError, match="integer indices"):
        e(lucid.tensor([1.0]))
    pre = np.arange(6.0).reshape(3, 2)
    frozen = nn.Embedding.from_pretrained(lucid.Tensor(pre))
    assert not frozen.weight.requires_grad
    np.testing.assert_array_equal(frozen(lucid.tensor([2, 0])).data, pre[[2, 0]])
    assert nn.Embedding.from_pretrained(lucid.Tensor(pre), freeze=False).weight.requires_grad


def test_embedding_gradcheck():
    w = lucid.Tensor(np.random.default_rng(9).standard_normal((4, 2)), requires_grad=True)
    idx = lucid.tensor([[0, 3, 3], [1, 0, 2]])
    assert gradcheck(lambda w: F.embedding(idx, w), [w])
    # padding_idx and scale_grad_by_freq change the gradient on purpose (as in PyTorch): not the derivative
    assert not gradcheck(lambda w: F.embedding(idx, w, padding_idx=1), [w], raise_exception=False)
    assert not gradcheck(lambda w: F.embedding(idx, w, scale_grad_by_freq=True), [w], raise_exception=False)


@pytest.mark.parametrize(
    "name, call",
    [
        ("gelu", lambda F, x: F.gelu(x)),
        ("gelu", lambda F, x: F.gelu(x, approximate="tanh")),
        ("silu", lambda F, x: F.silu(x)),
        ("leaky_relu", lambda F, x: F.leaky_relu(x, 0.1)),
        ("softmax", lambda F, x: F.softmax(x, 0)),
        ("log_softmax", lambda F, x: F.log_softmax(x, 0)),
    ],
)
def test_activations_without_an_integer_form_refuse_integers(name, call):
    """gelu(2) is not an integer: an int64 input is an error here as in PyTorch, never a truncated result."""
    with pytest.raises(TypeError, match=rf"{name}\(\): expected a floating point input .* got int64"):
        call(F, lucid.tensor(np.array([-2, 1, 2])))
    with pytest.raises((NotImplementedError, RuntimeError)):
        call(TF, torch.tensor([-2, 1, 2]))


def test_softmax_of_integers_cast_by_its_dtype_argument():
    y = F.softmax(lucid.tensor(np.array([0, 1, 2])), 0, dtype=lucid.float64)
    yt = TF.softmax(torch.tensor([0, 1, 2]), 0, dtype=torch.float64)
    np.testing.assert_allclose(y.numpy(), yt.numpy(), rtol=1e-15)


@pytest.mark.parametrize("name, shape", [("dropout", (4, 6)), ("dropout1d", (2, 3, 5)), ("dropout2d", (2, 3, 4, 4))])
def test_dropout_inplace_writes_into_its_input(name, shape):
    lucid.manual_seed(0)
    x = lucid.ones(*shape)
    y = getattr(F, name)(x, 0.5, training=True, inplace=True)
    assert y is x and (x.data == 0).any() and set(np.unique(x.data)) <= {0.0, 2.0}
    w = lucid.ones(*shape, requires_grad=True)
    h = w * 1.0  # inside a graph: recorded, the gradient is the mask's 0 or 1/(1 - p)
    getattr(F, name)(h, 0.5, training=True, inplace=True)
    h.sum().backward()
    np.testing.assert_array_equal(w.grad, h.data)
