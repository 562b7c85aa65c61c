"""Every core op, forward and backward, against PyTorch in float64 (to 1e-10), and by finite differences.

``check`` runs the same computation in lucid and in PyTorch on the same float64 data,
compares every output, seeds every output with the same random gradient, compares
every input gradient, then runs ``lucid.autograd.gradcheck``. Shapes are drawn at
random (seeded per test), small enough for gradcheck to be quick.
"""

import operator

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import lucid

TOL = dict(rtol=1e-10, atol=1e-10)
SEEDS = range(3)


def _is_leaf_data(a):
    return isinstance(a, np.ndarray) and a.dtype == np.float64


def _lucid_args(args):
    return [
        lucid.tensor(a, requires_grad=True) if _is_leaf_data(a) else lucid.tensor(a) if isinstance(a, np.ndarray) else a
        for a in args
    ]


def _torch_args(args):
    return [
        torch.tensor(a, requires_grad=True) if _is_leaf_data(a) else torch.tensor(a) if isinstance(a, np.ndarray) else a
        for a in args
    ]


def _outputs(out):
    return list(out) if isinstance(out, (tuple, list)) else [out]


def _numpy_dtype(torch_dtype):
    return torch.empty(0, dtype=torch_dtype).numpy().dtype


def check(f, g, *args, rng, gradcheck=True):
    """``f`` (lucid) and ``g`` (PyTorch) agree on ``args``: outputs, and gradients of every float64 input."""
    lt, tt = _lucid_args(args), _torch_args(args)
    lo, to = _outputs(f(*lt)), _outputs(g(*tt))
    assert len(lo) == len(to)
    for l, t in zip(lo, to):
        assert isinstance(l, lucid.Tensor)
        assert l.shape == tuple(t.shape)
        assert l.dtype == _numpy_dtype(t.dtype)
        assert l.requires_grad == t.requires_grad
        np.testing.assert_allclose(l.data, t.detach().numpy(), **TOL)
    live = [(l, t, rng.standard_normal(l.shape)) for l, t in zip(lo, to) if t.requires_grad]
    if not live:
        return lo
    lucid.autograd.run_backward([l for l, _, _ in live], [s for _, _, s in live])
    torch.autograd.backward([t for _, t, _ in live], [torch.tensor(s) for _, _, s in live])
    for l, t in zip(lt, tt):
        if isinstance(l, lucid.Tensor) and l.requires_grad:
            expected = np.zeros(l.shape) if t.grad is None else t.grad.numpy()
            got = np.zeros(l.shape) if l.grad is None else l.grad
            assert got.dtype == np.float64 and got.shape == l.shape
            np.testing.assert_allclose(got, expected, **TOL)
    if gradcheck:
        assert lucid.autograd.gradcheck(f, _lucid_args(args))
    return lo


# ---- random data -----------------------------------------------------------------
def _shape(rng, ndim=None, lo=1, hi=4):
    ndim = rng.integers(0, 4) if ndim is None else ndim
    return tuple(int(n) for n in rng.integers(lo, hi, ndim))


def _broadcast_pair(rng):
    """Two shapes that broadcast together: suffixes of one shape, with some sizes set to 1."""
    full = _shape(rng)
    out = []
    for _ in range(2):
        s = list(full[len(full) - rng.integers(0, len(full) + 1) :])
        out.append(tuple(1 if rng.random() < 0.3 else n for n in s))
    return out


DOMAINS = {
    "any": lambda rng, s: rng.standard_normal(s),
    "pos": lambda rng, s: rng.uniform(0.5, 2.0, s),
    "nonzero": lambda rng, s: rng.choice([-1.0, 1.0], s) * rng.uniform(0.2, 2.0, s),
}


def data(rng, shape, domain="any"):
    return np.asarray(DOMAINS[domain](rng, shape), dtype=np.float64)


# ---- elementwise -------------------------------------------------------------------
BINARY = [  # name, lucid op, torch op, domain of a, domain of b
    ("+", operator.add, operator.add, "any", "any"),
    ("-", operator.sub, operator.sub, "any", "any"),
    ("*", operator.mul, operator.mul, "any", "any"),
    ("/", operator.truediv, operator.truediv, "any", "nonzero"),
    ("**", operator.pow, operator.pow, "pos", "any"),
    ("add", lucid.add, torch.add, "any", "any"),
    ("sub", lucid.sub, torch.sub, "any", "any"),
    ("mul", lucid.mul, torch.mul, "any", "any"),
    ("div", lucid.div, torch.div, "any", "nonzero"),
    ("pow", lucid.pow, torch.pow, "pos", "any"),
    ("maximum", lucid.maximum, torch.maximum, "any", "any"),
    ("minimum", lucid.minimum, torch.minimum, "any", "any"),
    ("max(a, b)", lucid.max, torch.max, "any", "any"),
    ("min(a, b)", lucid.min, torch.min, "any", "any"),
]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name,f,g,da,db", BINARY, ids=[b[0] for b in BINARY])
def test_binary_broadcasting(name, f, g, da, db, seed, rng):
    sa, sb = _broadcast_pair(rng)
    check(f, g, data(rng, sa, da), data(rng, sb, db), rng=rng)


def test_binary_same_input_twice(rng):
    check(lambda x: x * x + x / (x * x + 1), lambda x: x * x + x / (x * x + 1), data(rng, (3, 2)), rng=rng)


SCALAR_FORMS = [  # a Python number on either side
    ("x + 2.5", lambda x: x + 2.5, "any"),
    ("2.5 + x", lambda x: 2.5 + x, "any"),
    ("x - 1", lambda x: x - 1, "any"),
    ("2.5 - x", lambda x: 2.5 - x, "any"),
    ("x * 3", lambda x: x * 3, "any"),
    ("3 * x", lambda x: 3 * x, "any"),
    ("x / 4", lambda x: x / 4, "any"),
    ("2 / x", lambda x: 2 / x, "nonzero"),
    ("x ** 3", lambda x: x**3, "any"),
    ("x ** 2.5", lambda x: x**2.5, "pos"),
    ("x ** -1.5", lambda x: x**-1.5, "pos"),
    ("2.0 ** x", lambda x: 2.0**x, "any"),
    ("-x", lambda x: -x, "any"),
    ("x ** 0", lambda x: x**0, "any"),
]


@pytest.mark.parametrize("name,f,domain", SCALAR_FORMS, ids=[s[0] for s in SCALAR_FORMS])
def test_scalar_operands(name, f, domain, rng):
    check(f, f, data(rng, _shape(rng, 2), domain), rng=rng)


UNARY = [  # name, lucid op, torch op, domain
    ("neg", lucid.neg, torch.neg, "any"),
    ("exp", lucid.exp, torch.exp, "any"),
    ("log", lucid.log, torch.log, "pos"),
    ("sqrt", lucid.sqrt, torch.sqrt, "pos"),
    ("rsqrt", lucid.rsqrt, torch.rsqrt, "pos"),
    ("abs", lucid.abs, torch.abs, "nonzero"),
    ("tanh", lucid.tanh, torch.tanh, "any"),
    ("sigmoid", lucid.sigmoid, torch.sigmoid, "any"),
    ("relu", lucid.relu, torch.relu, "nonzero"),
    ("clip(lo, hi)", lambda x: lucid.clip(x, -0.5, 0.7), lambda x: torch.clamp(x, -0.5, 0.7), "any"),
    ("clamp(min=)", lambda x: lucid.clamp(x, min=0.3), lambda x: torch.clamp(x, min=0.3), "any"),
    ("clamp(max=)", lambda x: x.clamp(max=-0.2), lambda x: x.clamp(max=-0.2), "any"),
    ("method exp", lambda x: x.exp(), lambda x: x.exp(), "any"),
    ("method sigmoid", lambda x: x.sigmoid(), lambda x: x.sigmoid(), "any"),
    ("abs()", lambda x: abs(x), lambda x: abs(x), "nonzero"),
]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name,f,g,domain", UNARY, ids=[u[0] for u in UNARY])
def test_unary(name, f, g, domain, seed, rng):
    check(f, g, data(rng, _shape(rng), domain), rng=rng)


def test_clip_with_tensor_bounds(rng):
    x = np.array([-2.0, -0.3, 0.1, 0.4, 1.5, 3.0, 0.9])
    lo = np.array([-1.0, -1.0, 0.5, 0.5, 0.5, 0.5, 1.2])
    hi = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 2.0, 0.8])  # the last bound pair crosses: y = hi
    check(lambda x, lo, hi: lucid.clip(x, lo, hi), lambda x, lo, hi: torch.clamp(x, lo, hi), x, lo, hi, rng=rng)
    # bounds that meet: below, between and above them (no gradient to the lower bound, as PyTorch)
    x, lo, hi = np.array([-2.0, 0.0, 2.0]), np.zeros(3), np.zeros(3)
    f = lambda L: lambda x, lo, hi: L.clamp(x, lo, hi)  # noqa: E731
    check(f(lucid), f(torch), x, lo, hi, rng=rng, gradcheck=False)


def test_elementwise_special_points_match_torch(rng):
    # kinks and edges, where the gradient is a convention: relu'(0), |x|'(0), clamp at its bounds,
    # 0 ** b, and ties of maximum/minimum (split evenly); no gradcheck (not differentiable there)
    x = np.array([-1.0, 0.0, 1.0, 0.5, -0.5, 2.0])
    for f in (lambda t: t.relu(), lambda t: abs(t), lambda t: t.clamp(-0.5, 0.5), lambda t: t.clamp(min=0.0)):
        check(f, f, x, rng=rng, gradcheck=False)
    a = np.array([0.0, 0.0, 0.0, 2.0, -1.0])
    b = np.array([2.0, 0.0, -1.0, 0.0, 2.0])
    with np.errstate(divide="ignore"):  # 0 ** -1 = inf, as in PyTorch
        check(operator.pow, operator.pow, a, b, rng=rng, gradcheck=False)
    check(lambda t: t**0, lambda t: t**0, a, rng=rng, gradcheck=False)
    a = np.array([1.0, 2.0, 3.0, -1.0])
    b = np.array([1.0, 5.0, 3.0, -2.0])
    check(lucid.maximum, torch.maximum, a, b, rng=rng, gradcheck=False)
    check(lucid.minimum, torch.minimum, a, b, rng=rng, gradcheck=False)


def test_sigmoid_saturates_without_overflow():
    x = lucid.tensor([-1000.0, 0.0, 1000.0], dtype=lucid.float64, requires_grad=True)
    with np.errstate(over="raise"):
        y = x.sigmoid()
    np.testing.assert_array_equal(y.data, [0.0, 0.5, 1.0])
    y.backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.25, 0.0])


@pytest.mark.parametrize("seed", SEEDS)
def test_where(seed, rng):
    sc, sa = _broadcast_pair(rng)
    sb = _broadcast_pair(rng)[0][-len(sa) :] if sa else ()
    cond = np.asarray(rng.random(sc) < 0.5)
    check(lambda c, a, b: lucid.where(c, a, b), torch.where, cond, data(rng, sa), data(rng, sb), rng=rng)
    check(lambda c, a: lucid.where(c, a, 0.0), lambda c, a: torch.where(c, a, 0.0), cond, data(rng, sa), rng=rng)


def test_where_method_and_condition_from_comparison(rng):
    x = data(rng, (3, 4))
    check(lambda t: t.where(t > 0, t * 2), lambda t: t.where(t > 0, t * 2), x, rng=rng)


PROMOTIONS = [  # PyTorch's rules: NumPy scalars are weak like Python's; a 0-d tensor yields to dimensions
    lambda L: L.ones(3) / np.sqrt(4.0),
    lambda L: L.ones(3) * L.tensor(2.0, dtype=L.float64),
    lambda L: L.tensor(2.0, dtype=L.float64) - L.ones(3),
    lambda L: L.maximum(L.ones(3), L.tensor(0.5, dtype=L.float64)),
    lambda L: L.ones(3, dtype=L.int32) + np.int64(2),
    lambda L: L.ones(3, dtype=L.float16) + L.tensor(1.0),
    lambda L: L.ones(3, dtype=L.float16) ** L.tensor(2.0, dtype=L.float64),
    lambda L: L.ones(3, dtype=L.int64) * L.tensor(2.0, dtype=L.float64),  # a higher kind: the 0-d's dtype
    lambda L: L.ones(3) + L.tensor(True),
    lambda L: L.where(L.tensor([True, False]), 1.0, 0.0),
    lambda L: L.where(L.tensor([True, False]), 1, 0),
    lambda L: L.where(L.tensor([True, False]), L.ones(2), L.tensor(0.0, dtype=L.float64)),
    lambda L: L.full((2,), np.float64(1.5)),
]


@pytest.mark.parametrize("case", range(len(PROMOTIONS)))
def test_result_dtypes_of_scalars_and_0d_tensors_as_pytorch(case):
    got, expected = PROMOTIONS[case](lucid), PROMOTIONS[case](torch)
    assert got.dtype == _numpy_dtype(expected.dtype)
    np.testing.assert_array_equal(got.data, expected.numpy())


def test_a_0d_tensor_cast_to_its_partner_gets_a_gradient_of_its_own_dtype():
    x, s = lucid.ones(3, requires_grad=True), lucid.tensor(2.0, dtype=lucid.float64, requires_grad=True)
    y = x * s
    assert y.dtype == lucid.float32
    y.sum().backward()
    assert s.grad.dtype == np.float64 and s.grad == 3.0 and x.grad.dtype == np.float32


def test_relu_of_minus_infinity_is_zero():
    y = lucid.relu(lucid.tensor([-np.inf, np.nan, 2.0]))
    np.testing.assert_array_equal(y.data, [0.0, np.nan, 2.0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_passes_the_gradient_of_a_nan_input_as_pytorch(dtype):
    x = np.array([-np.inf, -1.0, -0.0, 0.0, np.nan, 2.0, np.inf], dtype)
    g = np.arange(1.0, 8.0).astype(dtype)
    t = lucid.tensor(x, requires_grad=True)
    lucid.relu(t).backward(g)
    tt = torch.tensor(x, requires_grad=True)
    torch.relu(tt).backward(torch.tensor(g))
    np.testing.assert_array_equal(t.grad, tt.grad.numpy())
    np.testing.assert_array_equal(t.grad, [0, 0, 0, 0, 5, 6, 7])


# ---- comparisons and logic ---------------------------------------------------------
@pytest.mark.parametrize(
    "op",
    [operator.eq, operator.ne, operator.lt, operator.le, operator.gt, operator.ge],
    ids=["eq", "ne", "lt", "le", "gt", "ge"],
)
def test_comparisons_broadcast_and_carry_no_grad(op, rng):
    sa, sb = _broadcast_pair(rng)
    a = np.round(data(rng, sa))  # rounding makes ties
    b = np.round(data(rng, sb))
    la, lb = lucid.tensor(a, requires_grad=True), lucid.tensor(b, requires_grad=True)
    got = op(la, lb)
    expected = op(torch.tensor(a), torch.tensor(b)).numpy()
    assert got.dtype == lucid.bool_ and not got.requires_grad and got.is_leaf
    np.testing.assert_array_equal(got.data, expected)
    np.testing.assert_array_equal(op(la, 0.0).data, op(torch.tensor(a), 0.0).numpy())
    np.testing.assert_array_equal(op(0.0, la).data, op(0.0, torch.tensor(a)).numpy())


def test_logical_ops():
    a = lucid.tensor([True, True, False, False])
    b = lucid.tensor([True, False, True, False])
    np.testing.assert_array_equal((a & b).data, [True, False, False, False])
    np.testing.assert_array_equal((a | b).data, [True, True, True, False])
    np.testing.assert_array_equal((a ^ b).data, [False, True, True, False])
    np.testing.assert_array_equal((~a).data, [False, False, True, True])
    np.testing.assert_array_equal(lucid.logical_not(b).data, [False, True, False, True])
    np.testing.assert_array_equal(lucid.logical_and(a, b).data, [True, False, False, False])


# ---- reductions ---------------------------------------------------------------------
def _dims(rng, ndim):
    """A random ``dim`` argument: None, an int (maybe negative) or a tuple."""
    choices = [None]
    if ndim:
        choices += [int(rng.integers(-ndim, ndim))]
    if ndim >= 2:
        choices += [tuple(int(d) for d in rng.choice(ndim, 2, replace=False))]
    return choices[rng.integers(len(choices))]


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("name", ["sum", "mean", "var", "std"])
def test_reductions(name, seed, rng):
    shape = _shape(rng, rng.integers(1, 4), lo=3)  # n > correction: at least 3 elements per statistic
    dim, keepdim = _dims(rng, len(shape)), bool(rng.integers(2))
    x = data(rng, shape)
    if name in ("sum", "mean"):
        f = lambda t: getattr(t, name)(dim=dim, keepdim=keepdim)  # noqa: E731
        check(f, f, x, rng=rng)
        return
    for kw in ({}, {"correction": 0}, {"correction": 2}, {"unbiased": False}, {"unbiased": True}):
        if dim is None and "unbiased" in kw:
            f = lambda t: getattr(t, name)(kw["unbiased"])  # noqa: E731  the var(x, unbiased) overload
        else:
            f = lambda t: getattr(t, name)(dim=dim, keepdim=keepdim, **kw)  # noqa: E731
        check(f, f, x, rng=rng, gradcheck=not kw)


def test_reductions_functional_forms(rng):
    x = data(rng, (3, 4))
    check(lambda t: lucid.sum(t, 1), lambda t: torch.sum(t, 1), x, rng=rng, gradcheck=False)
    check(lambda t: lucid.mean(t, (0, 1), True), lambda t: torch.mean(t, (0, 1), True), x, rng=rng, gradcheck=False)
    check(lambda t: lucid.var(t, 0, False), lambda t: torch.var(t, 0, False), x, rng=rng, gradcheck=False)
    check(lambda t: lucid.std(t, 1, True, True), lambda t: torch.std(t, 1, True, True), x, rng=rng, gradcheck=False)
    check(lambda t: lucid.sum(t, axis=0), lambda t: torch.sum(t, 0), x, rng=rng, gradcheck=False)


def test_std_of_constant_input_has_zero_gradient(rng):
    x = np.full((2, 3), 1.5)
    check(lambda t: t.std(1), lambda t: t.std(1), x, rng=rng, gradcheck=False)


@pytest.mark.parametrize("name", ["sum", "mean", "var", "std"])
@pytest.mark.parametrize("dim", [(), []])
@pytest.mark.parametrize("keepdim", [False, True])
def test_an_empty_list_of_dims_reduces_every_dim_as_pytorch(name, dim, keepdim, rng):
    """Values as PyTorch's; gradients as over dim=None (PyTorch's var/std backward gives inf for dim=())."""
    x = data(rng, (2, 3))
    y, ty = (
        getattr(lucid.tensor(x), name)(dim=dim, keepdim=keepdim),
        getattr(torch.tensor(x), name)(dim=dim, keepdim=keepdim),
    )
    assert y.shape == tuple(ty.shape)
    np.testing.assert_allclose(y.data, ty.numpy(), **TOL)
    t, t_all = lucid.tensor(x, requires_grad=True), lucid.tensor(x, requires_grad=True)
    getattr(t, name)(dim=dim, keepdim=keepdim).sum().backward()
    getattr(t_all, name)().backward()
    np.testing.assert_array_equal(t.grad, t_all.grad)


def test_a_dim_named_twice_is_an_error():
    with pytest.raises(RuntimeError, match="dim 0 appears multiple times"):
        lucid.ones(2, 3).sum((0, -2))


def test_division_gradient_where_the_square_of_the_divisor_leaves_the_float_range():
    a = np.array([1e-300, 1e300, 3.0])
    b = np.array([1e-170, 1e170, 2.0])
    lb, tb = lucid.tensor(b, requires_grad=True), torch.tensor(b, requires_grad=True)
    (lucid.tensor(a) / lb).sum().backward()
    (torch.tensor(a) / tb).sum().backward()
    np.testing.assert_allclose(lb.grad, tb.grad.numpy(), rtol=1e-15)
    assert np.all(np.isfinite(lb.grad)) and np.all(lb.grad != 0)


def test_reduction_of_0d_tensor(rng):
    x = np.array(1.25)
    for f in (lambda t: t.sum(), lambda t: t.sum(0), lambda t: t.mean(-1, keepdim=True), lambda t: t.max(0)):
        check(f, f, x, rng=rng, gradcheck=False)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("op", ["max", "min"])
def test_max_min(op, seed, rng):
    shape = _shape(rng, rng.integers(1, 4), lo=2)
    x = data(rng, shape)
    check(lambda t: getattr(t, op)(), lambda t: getattr(t, op)(), x, rng=rng)
    dim = int(rng.integers(-len(shape), len(shape)))
    for keepdim in (False, True):
        lo = check(
            lambda t: getattr(t, op)(dim, keepdim=keepdim), lambda t: getattr(t, op)(dim, keepdim=keepdim), x, rng=rng
        )
        assert lo[1].dtype == lucid.int64 and not lo[1].requires_grad
    check(
        lambda t: getattr(lucid, op)(t, dim=dim), lambda t: getattr(torch, op)(t, dim=dim), x, rng=rng, gradcheck=False
    )


def test_max_min_result_is_a_named_pair():
    x = lucid.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 7.0]])
    r = x.max(dim=1)
    values, indices = r
    assert r.values is values and r.indices is indices
    np.testing.assert_array_equal(values.data, [5.0, 7.0])
    np.testing.assert_array_equal(indices.data, [1, 0])
    assert x.max().shape == () and x.max().item() == 7.0
    assert x.min(0).indices.tolist() == [0, 1, 0]


def test_max_min_ties_and_nan_match_torch(rng):
    # full reduction: ties share the gradient evenly; over a dim: it goes to the (first) index
    x = np.array([[1.0, 3.0, 3.0, 0.0], [3.0, 2.0, 1.0, 2.0]])
    for f in (lambda t: t.max(), lambda t: t.min(), lambda t: t.max(1), lambda t: t.min(1), lambda t: t.max(0)):
        check(f, f, x, rng=rng, gradcheck=False)
    x = np.array([[1.0, np.nan, 3.0], [2.0, 1.0, 0.0]])
    for f in (lambda t: t.max(), lambda t: t.max(1), lambda t: t.min(1)):
        lt, tt = lucid.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        lo, to = _outputs(f(lt)), _outputs(f(tt))
        for l, t in zip(lo, to):
            np.testing.assert_array_equal(l.data, t.detach().numpy())  # NaN propagates
        lo[0].backward(np.ones(lo[0].shape))
        to[0].backward(torch.ones(to[0].shape, dtype=torch.float64))
        np.testing.assert_array_equal(lt.grad, tt.grad.numpy())


@pytest.mark.parametrize("op", ["argmax", "argmin"])
def test_argmax_argmin(op, rng):
    x = np.round(data(rng, (3, 4, 2)) * 2)  # ties
    tx = torch.tensor(x)
    for kw in ({}, {"keepdim": True}, {"dim": 1}, {"dim": -1, "keepdim": True}, {"dim": 0, "keepdim": False}):
        got = getattr(lucid.tensor(x), op)(**kw)
        expected = getattr(tx, op)(**kw).numpy()
        assert got.dtype == lucid.int64 and got.shape == expected.shape and not got.requires_grad
        np.testing.assert_array_equal(got.data, expected)


# ---- matmul ------------------------------------------------------------------------
MATMUL_SHAPES = [
    ((3,), (3,)),
    ((3,), (3, 2)),
    ((2, 3), (3,)),
    ((2, 3), (3, 4)),
    ((4, 2, 3), (3, 2)),
    ((2, 3), (4, 3, 2)),
    ((4, 2, 3), (4, 3, 2)),
    ((2, 1, 2, 3), (4, 3, 2)),
    ((3,), (2, 3, 4)),
    ((2, 2, 3), (3,)),
    ((1, 2, 3), (5, 3, 1)),
]


@pytest.mark.parametrize("sa,sb", MATMUL_SHAPES, ids=[f"{a}@{b}" for a, b in MATMUL_SHAPES])
def test_matmul(sa, sb, rng):
    a, b = data(rng, sa), data(rng, sb)
    check(operator.matmul, operator.matmul, a, b, rng=rng)
    check(lucid.matmul, torch.matmul, a, b, rng=rng, gradcheck=False)


def test_matmul_with_one_operand_constant(rng):
    a, b = data(rng, (2, 3)), data(rng, (3, 2))
    lb = lucid.tensor(b)
    check(lambda x: x @ lb, lambda x: x @ torch.tensor(b), a, rng=rng)
    check(lambda x: a @ x, lambda x: torch.tensor(a) @ x, b, rng=rng)  # ndarray @ Tensor


# ---- shape ops -----------------------------------------------------------------------
SHAPE_OPS = [  # name, input shape, the same lambda works for lucid and torch
    ("reshape", (2, 3, 2), lambda t: t.reshape(3, 4)),
    ("reshape tuple -1", (2, 3, 2), lambda t: t.reshape((-1, 2))),
    ("view", (2, 6), lambda t: t.view(3, 2, 2)),
    ("view_as", (2, 6), lambda t: t.view(4, 3) * 1 + t.reshape_as(t.view(4, 3))),
    ("transpose", (2, 3, 4), lambda t: t.transpose(0, -1)),
    ("permute", (2, 3, 4), lambda t: t.permute(2, 0, 1)),
    ("permute tuple", (2, 3, 4), lambda t: t.permute((1, 2, 0))),
    ("T", (2, 3), lambda t: t.T),
    ("mT", (2, 3, 4), lambda t: t.mT),
    ("flatten", (2, 3, 2), lambda t: t.flatten()),
    ("flatten(1)", (2, 3, 2, 2), lambda t: t.flatten(1)),
    ("flatten(1, 2)", (2, 3, 2, 2), lambda t: t.flatten(1, 2)),
    ("squeeze", (1, 3, 1, 2), lambda t: t.squeeze()),
    ("squeeze(2)", (1, 3, 1, 2), lambda t: t.squeeze(2)),
    ("squeeze(1) noop", (1, 3, 1, 2), lambda t: t.squeeze(1)),
    ("unsqueeze(0)", (2, 3), lambda t: t.unsqueeze(0)),
    ("unsqueeze(-1)", (2, 3), lambda t: t.unsqueeze(-1)),
    ("expand", (3, 1), lambda t: t.expand(2, 3, 4)),
    ("expand -1", (3, 1), lambda t: t.expand(-1, 4)),
    ("expand_as", (1, 2), lambda t: t.expand_as(t.reshape(2, 1) * t)),
    ("int", (3, 4), lambda t: t[1]),
    ("slices", (3, 4), lambda t: t[:, 1:3]),
    ("steps", (5, 4), lambda t: t[::2, 1::2]),
    ("None and ...", (2, 3, 4), lambda t: t[None, ..., 0]),
    ("negative int", (3, 4), lambda t: t[-1, -2]),
]


@pytest.mark.parametrize("name,shape,f", SHAPE_OPS, ids=[s[0] for s in SHAPE_OPS])
def test_shape_ops(name, shape, f, rng):
    check(f, f, data(rng, shape), rng=rng)


def test_shape_functional_forms(rng):
    x = data(rng, (2, 3, 4))
    pairs = [
        (lambda t: lucid.reshape(t, (4, 6)), lambda t: torch.reshape(t, (4, 6))),
        (lambda t: lucid.transpose(t, 1, 2), lambda t: torch.transpose(t, 1, 2)),
        (lambda t: lucid.permute(t, (2, 1, 0)), lambda t: torch.permute(t, (2, 1, 0))),
        (lambda t: lucid.flatten(t, 1), lambda t: torch.flatten(t, 1)),
        (lambda t: lucid.unsqueeze(t, 1), lambda t: torch.unsqueeze(t, 1)),
        (lambda t: lucid.squeeze(lucid.unsqueeze(t, 1), 1), lambda t: torch.squeeze(torch.unsqueeze(t, 1), 1)),
        (lambda t: lucid.expand(t[:, :1, :1], 2, 3, 5), lambda t: t[:, :1, :1].expand(2, 3, 5)),
    ]
    for f, g in pairs:
        check(f, g, x, rng=rng, gradcheck=False)


def test_negative_step_slice(rng):
    # PyTorch has no negative steps: compare with flip, and by finite differences
    x = data(rng, (4, 3))
    check(lambda t: t[::-1, ::-2], lambda t: t.flip(0, 1)[:, ::2], x, rng=rng)


ADVANCED = [  # name, input shape, index (NumPy); torch gets the same index as tensors
    ("repeated rows", (4, 3), [0, 2, 0, 0]),
    ("repeated in a column", (3, 4), (slice(None), [1, 1, 3])),
    ("pairs repeated", (3, 4), ([0, 1, 0, 0], [2, 2, 2, 3])),
    ("2-D index array", (5, 2), np.array([[0, 1], [1, 4], [0, 0]])),
    ("negative indices", (4, 3), [-1, 0, -1]),
    (
        "bool mask",
        (3, 4),
        np.array([[True, False, True, True], [False, False, True, False], [True, True, False, False]]),
    ),
    ("bool rows", (4, 2), np.array([True, False, True, True])),
    ("slice, array, int", (3, 4, 2), (slice(0, 3), [0, 1, 1], 1)),
    ("arrays split by a slice", (3, 2, 4), ([0, 2, 0], slice(None), [1, 1, 3])),
]


def _torch_index(index):
    def conv(i):
        return torch.tensor(np.asarray(i)) if isinstance(i, (list, np.ndarray)) else i

    return tuple(conv(i) for i in index) if isinstance(index, tuple) else conv(index)


@pytest.mark.parametrize("name,shape,index", ADVANCED, ids=[a[0] for a in ADVANCED])
def test_advanced_indexing_accumulates_repeated_indices(name, shape, index, rng):
    check(lambda t: t[index], lambda t: t[_torch_index(index)], data(rng, shape), rng=rng)


def test_indexing_with_tensors(rng):
    x = data(rng, (4, 3))
    idx, mask = lucid.tensor([3, 3, 1]), lucid.tensor([True, False, True, False])
    check(lambda t: t[idx], lambda t: t[torch.tensor([3, 3, 1])], x, rng=rng)
    check(lambda t: t[mask, 1:], lambda t: t[torch.tensor([True, False, True, False]), 1:], x, rng=rng)
    check(lambda t: t[t > 0], lambda t: t[t > 0], x, rng=rng, gradcheck=False)


@pytest.mark.parametrize("seed", SEEDS)
def test_cat_stack(seed, rng):
    shape = _shape(rng, rng.integers(1, 4), lo=1)
    dim = int(rng.integers(-len(shape), len(shape)))
    shapes = []
    for n in (1, 3, 2):
        s = list(shape)
        s[dim] = n
        shapes.append(tuple(s))
    arrays = [data(rng, s) for s in shapes]
    check(lambda *ts: lucid.cat(ts, dim), lambda *ts: torch.cat(ts, dim), *arrays, rng=rng)
    arrays = [data(rng, shape) for _ in range(3)]
    sdim = int(rng.integers(-len(shape) - 1, len(shape) + 1))
    check(lambda *ts: lucid.stack(ts, sdim), lambda *ts: torch.stack(ts, sdim), *arrays, rng=rng)


def test_cat_with_a_constant_and_mixed_dtypes(rng):
    a, b = data(rng, (2, 3)), data(rng, (1, 3))
    check(lambda t: lucid.cat([t, lucid.tensor(b)]), lambda t: torch.cat([t, torch.tensor(b)]), a, rng=rng)
    y = lucid.cat([lucid.ones(2, dtype="float32"), lucid.ones(1, dtype="float64", requires_grad=True)])
    assert y.dtype == lucid.float64


@pytest.mark.parametrize("sections", [2, 3, [1, 4], [2, 0, 3], 5, 7])
def test_split_and_chunk(sections, rng):
    x = data(rng, (2, 5, 3))
    check(lambda t: t.split(sections, 1), lambda t: t.split(sections, 1), x, rng=rng)
    check(
        lambda t: lucid.split(t, sections, dim=-2),
        lambda t: torch.split(t, sections, dim=-2),
        x,
        rng=rng,
        gradcheck=False,
    )


@pytest.mark.parametrize("chunks", [1, 2, 3, 5])
def test_chunk(chunks, rng):
    x = data(rng, (5, 2))
    check(lambda t: t.chunk(chunks), lambda t: t.chunk(chunks), x, rng=rng)
    for shape, dim in (((0,), 0), ((0, 2), 0), ((2, 0), 1)):  # an empty dimension: `chunks` empty pieces
        got, expected = lucid.zeros(*shape).chunk(chunks, dim), torch.zeros(*shape).chunk(chunks, dim)
        assert [p.shape for p in got] == [tuple(p.shape) for p in expected]


def test_split_pieces_used_unevenly(rng):
    # only some pieces reach the loss: the others' gradient is zero
    x = data(rng, (6, 2))
    check(lambda t: t.split(2)[1] * 3, lambda t: t.split(2)[1] * 3, x, rng=rng)


PADS = [  # input shape, pad, mode
    ((2, 5), (1, 2), "constant"),
    ((2, 3, 4), (2, 0, 1, 1), "constant"),
    ((2, 3, 4), (0, 0, 0, 0, 1, 2), "constant"),
    ((2, 3, 5), (2, 3), "reflect"),
    ((1, 2, 4, 5), (1, 2, 3, 1), "reflect"),
    ((2, 3, 4), (3, 2), "replicate"),
    ((1, 2, 3, 4), (1, 2, 2, 1), "replicate"),
    ((2, 3, 4), (2, 4), "circular"),
    ((1, 2, 3, 4), (1, 2, 3, 1), "circular"),
]


@pytest.mark.parametrize("shape,pad,mode", PADS, ids=[f"{m}{p}" for _, p, m in PADS])
def test_pad(shape, pad, mode, rng):
    x = data(rng, shape)
    check(lambda t: lucid.pad(t, pad, mode=mode), lambda t: TF.pad(t, pad, mode=mode), x, rng=rng)
    check(lambda t: t.pad(pad, mode), lambda t: TF.pad(t, pad, mode), x, rng=rng, gradcheck=False)


def test_pad_constant_value(rng):
    check(
        lambda t: lucid.pad(t, (1, 1), value=-2.5), lambda t: TF.pad(t, (1, 1), value=-2.5), data(rng, (2, 2)), rng=rng
    )


def test_astype_and_clone_carry_gradients(rng):
    x = data(rng, (2, 3))
    check(lambda t: t.float().double() * 2, lambda t: t.float().double() * 2, x, rng=rng, gradcheck=False)
    check(lambda t: t.clone() * t, lambda t: t.clone() * t, x, rng=rng)
    check(
        lambda t: lucid.clone(t).to("float32").to(lucid.float64),
        lambda t: torch.clone(t).to(torch.float32).to(torch.float64),
        x,
        rng=rng,
        gradcheck=False,
    )


def test_composite_expression(rng):
    # a small network-like expression: every op feeds several others
    a, w, b = data(rng, (4, 3)), data(rng, (3, 2)), data(rng, (2,))

    def f(a, w, b):
        h = (a @ w + b).tanh()
        z = h - h.mean(0, keepdim=True)
        return (z * z).sum(1).sqrt() + h.max(1)[0] - a[[0, 0, 3]].sum()

    check(f, f, a, w, b, rng=rng)


# ---- errors -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "op",
    [
        operator.add,
        operator.sub,
        operator.mul,
        operator.truediv,
        operator.pow,
        lucid.maximum,
        lucid.minimum,
        operator.lt,
        operator.eq,
    ],
    ids=["add", "sub", "mul", "div", "pow", "maximum", "minimum", "lt", "eq"],
)
def test_broadcast_mismatch_names_both_shapes(op):
    a, b = lucid.ones(2, 3), lucid.ones(4)
    with pytest.raises(ValueError, match=r"\(2, 3\) and \(4,\)"):
        op(a, b)


def test_where_mismatch_names_the_shapes():
    with pytest.raises(ValueError, match=r"\(2,\), \(3,\) and \(\)"):
        lucid.where(lucid.tensor([True, False]), lucid.ones(3), 0.0)


@pytest.mark.parametrize("sa,sb", [((2, 3), (4, 5)), ((3,), (4,)), ((2, 2, 3), (3, 3, 2)), ((3,), (2, 4))])
def test_matmul_mismatch_names_both_shapes(sa, sb):
    with pytest.raises(ValueError, match=rf"{str(sa)[:-1]}\).*{str(sb)[:-1]}\)".replace("(", r"\(")):
        lucid.ones(*sa) @ lucid.ones(*sb)


def test_shape_op_errors():
    x = lucid.ones(2, 3)
    with pytest.raises(ValueError, match=r"shape \(4, 2\) is invalid for input of size 6"):
        x.reshape(4, 2)
    with pytest.raises(IndexError, match="Dimension out of range"):
        x.sum(2)
    with pytest.raises(IndexError, match="Dimension out of range"):
        x.unsqueeze(3)
    with pytest.raises(IndexError, match="Dimension out of range"):
        x.transpose(0, 2)
    with pytest.raises(ValueError, match=r"cat: shapes \[\(2, 3\), \(2, 2\)\]"):
        lucid.cat([x, lucid.ones(2, 2)])
    with pytest.raises(ValueError, match="stack expects each tensor to be equal size"):
        lucid.stack([x, lucid.ones(3, 2)])
    with pytest.raises(ValueError, match=r"do not add up to 3"):
        x.split([1, 1], dim=1)
    with pytest.raises(ValueError, match="cannot be expanded"):
        x.expand(2, 4)
    with pytest.raises(ValueError, match="not a permutation"):
        x.permute(0, 0)
    with pytest.raises(ValueError, match="reflect padding of \\(3, 0\\) is too large for a dimension of size 3"):
        lucid.pad(x, (3, 0), mode="reflect")
    with pytest.raises(ValueError, match="even number"):
        lucid.pad(x, (1,))
    with pytest.raises(ValueError, match="at least one of 'min' or 'max'"):
        x.clip()


@pytest.mark.parametrize("op", ["max", "min"])
def test_max_min_over_a_nonempty_axis_of_an_empty_tensor_is_empty(op):
    """(0, 3) over dim 1: empty values and indices, as PyTorch; over the empty dim 0: PyTorch's error."""
    x = lucid.tensor(np.zeros((0, 3)), requires_grad=True)
    values, indices = getattr(x, op)(1)
    values.sum().backward()
    assert values.shape == (0,) and indices.shape == (0,) and x.grad.shape == (0, 3)
    with pytest.raises(RuntimeError, match="reduction dim 0 to have non-zero size"):
        getattr(x, op)(0)
    with pytest.raises(RuntimeError, match="cannot reduce an empty tensor"):
        getattr(x, op)()


# ---- amax, amin, logsumexp; tests of values; all, any; contiguous ----------------------------
@pytest.mark.parametrize(
    "f",
    [
        lambda t: t.amax(),
        lambda t: t.amax(1),
        lambda t: t.amin((0, 2), keepdim=True),
        lambda t: t.amin(-1),
        lambda t: t.logsumexp(1),
        lambda t: t.logsumexp((0, 2), keepdim=True),
    ],
    ids=["amax", "amax dim", "amin dims keepdim", "amin -1", "logsumexp", "logsumexp dims keepdim"],
)
def test_amax_amin_logsumexp_match_torch(f, rng):
    x = np.round(data(rng, (3, 4, 2)))  # ties: the gradient is shared evenly, as PyTorch
    check(f, f, x, rng=rng, gradcheck=False)
    check(f, f, data(rng, (3, 4, 2)), rng=rng)


def test_logsumexp_at_the_edges_of_the_float_range():
    for x in ([1000.0, 1000.0], [-np.inf, -np.inf], [np.inf, 1.0], [-1000.0, -np.inf], [np.nan, 1.0]):
        y, ty = lucid.tensor(np.array(x)).logsumexp(0), torch.tensor(x, dtype=torch.float64).logsumexp(0)
        np.testing.assert_allclose(y.data, ty.numpy(), rtol=1e-15)
    t = lucid.tensor(np.array([1000.0, 1000.0]), requires_grad=True)
    t.logsumexp(0).backward()
    np.testing.assert_allclose(t.grad, [0.5, 0.5], rtol=1e-15)


def test_amax_of_nan_gives_its_gradient_to_the_nans_as_max():
    t = lucid.tensor(np.array([np.nan, 1.0, np.nan]), requires_grad=True)
    t.amax().backward()
    np.testing.assert_array_equal(t.grad, [0.5, 0.0, 0.5])  # as max() (PyTorch's amax gives NaN)
    with pytest.raises(RuntimeError, match="empty dimension"):
        lucid.zeros(0, 3).amax(0)


@pytest.mark.parametrize("name", ["isnan", "isinf", "isfinite"])
def test_tests_of_values_match_torch(name):
    x = np.array([[1.0, np.nan, -0.0], [np.inf, -np.inf, 2.0]])
    got, expected = getattr(lucid, name)(lucid.tensor(x)), getattr(torch, name)(torch.tensor(x))
    assert got.dtype == np.bool_ and not got.requires_grad
    np.testing.assert_array_equal(got.data, expected.numpy())
    np.testing.assert_array_equal(getattr(lucid.tensor(x), name)().data, expected.numpy())


@pytest.mark.parametrize("name", ["all", "any"])
@pytest.mark.parametrize("kw", [{}, {"dim": 1}, {"dim": 0, "keepdim": True}, {"dim": (0, 1)}, {"dim": -1}])
@pytest.mark.parametrize("dtype", [np.float64, np.int64, np.bool_, np.uint8])
def test_all_and_any_match_torch(name, kw, dtype):
    x = np.array([[1, 0, 2], [3, 4, 5]]).astype(dtype)
    if "dim" in kw and isinstance(kw["dim"], tuple) and dtype == np.uint8:
        return  # PyTorch has no tuple-dim all/any for uint8
    got, expected = getattr(lucid, name)(lucid.tensor(x), **kw), getattr(torch, name)(torch.tensor(x), **kw)
    assert got.dtype == _numpy_dtype(expected.dtype) and got.shape == tuple(expected.shape)
    np.testing.assert_array_equal(got.data, expected.numpy())


def test_contiguous_copies_only_what_is_not(rng):
    x = lucid.tensor(data(rng, (3, 4)), requires_grad=True)
    assert x.contiguous() is x and x.is_contiguous()
    t = x.transpose(0, 1)
    assert not t.is_contiguous()
    c = t.contiguous()
    assert c.is_contiguous() and c.data.flags.c_contiguous
    c.sum().backward()
    np.testing.assert_array_equal(x.grad, np.ones((3, 4)))


def test_functional_pad_is_pads():
    x = np.arange(6.0).reshape(1, 2, 3)
    got = lucid.nn.functional.pad(lucid.tensor(x), (1, 2), mode="reflect")
    np.testing.assert_array_equal(got.data, TF.pad(torch.tensor(x), (1, 2), mode="reflect").numpy())


# ---- log1p, expm1, rounding, remainder, flip, repeat, prod, index_select ----------------------------
@pytest.mark.parametrize(
    "f",
    [
        lambda t: t.log1p(),
        lambda t: t.expm1(),
        lambda t: t.flip(0),
        lambda t: t.flip((0, -1)),
        lambda t: t.repeat(2, 1, 3),
        lambda t: t.repeat(2, 1, 1, 2),
        lambda t: t.prod(),
        lambda t: t.prod(1),
        lambda t: t.prod(-1, keepdim=True),
    ],
    ids=["log1p", "expm1", "flip", "flip dims", "repeat", "repeat more dims", "prod", "prod dim", "prod keepdim"],
)
def test_more_differentiable_ops_match_torch(f, rng):
    x = data(rng, (3, 4, 2), "pos") * 0.9  # log1p's domain; products of moderate size
    check(f, f, x, rng=rng)


def test_prod_gradient_is_exact_where_factors_are_zero(rng):
    x = data(rng, (3, 4))
    x[0, 1] = 0.0  # one zero in a row: only it gets a gradient
    x[1, :2] = 0.0  # two zeros: no gradient at all
    for f in (lambda t: t.prod(1), lambda t: t.prod(), lambda t: t.prod(0)):
        check(f, f, x, rng=rng, gradcheck=False)


@pytest.mark.parametrize("name", ["floor", "ceil", "round", "trunc", "sign"])
def test_rounding_matches_torch_with_zero_gradient(name, rng):
    x = np.concatenate([data(rng, (8,)) * 3, [-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, -0.0, 0.0, np.inf, -np.inf, np.nan]])
    f = lambda t: getattr(t, name)()  # noqa: E731
    if name == "sign":  # a NaN stays NaN (PyTorch's sign gives 0)
        assert np.isnan(lucid.tensor(x).sign().data[-1])
        x = x[:-1]
    check(f, f, x, rng=rng, gradcheck=False)
    i = np.array([-3, 0, 4])
    got, expected = f(lucid.tensor(i)), f(torch.tensor(i))
    assert got.dtype == _numpy_dtype(expected.dtype)
    np.testing.assert_array_equal(got.data, expected.numpy())


def test_round_to_decimals_matches_torch():
    x = np.array([1.2345, -2.5551, 0.125, 123.456])
    for d in (1, 2, -1):
        np.testing.assert_allclose(
            lucid.tensor(x).round(decimals=d).data, torch.tensor(x).round(decimals=d).numpy(), rtol=1e-15
        )


def test_remainder_and_floor_divide_match_torch(rng):
    a = data(rng, (3, 4)) * 5
    b = np.where(rng.random((3, 4)) < 0.5, -1.0, 1.0) * (data(rng, (3, 4), "pos") + 0.5)
    check(lambda x, y: x % y, lambda x, y: x % y, a, b, rng=rng, gradcheck=False)
    check(lambda x: x % 1.5, lambda x: x % 1.5, a, rng=rng, gradcheck=False)
    np.testing.assert_allclose((7.0 % lucid.tensor(b)).data, (7.0 % torch.tensor(b)).numpy(), **TOL)
    with np.errstate(invalid="ignore"):  # at ±inf the divisor's gradient uses the forward's quotient
        edge_a, edge_b = np.array([5.0, np.inf, -7.5]), np.array([-np.inf, 2.0, 2.0])
        check(lambda x, y: x % y, lambda x, y: x % y, edge_a, edge_b, rng=rng, gradcheck=False)
    got, expected = lucid.tensor(a) // lucid.tensor(b), torch.tensor(a) // torch.tensor(b)
    np.testing.assert_array_equal(got.data, expected.numpy())
    assert not (lucid.tensor(a, requires_grad=True) // 2).requires_grad
    i, j = np.array([7, -7, 7, -7]), np.array([2, 2, -2, -2])
    for op in (operator.mod, operator.floordiv):
        got, expected = op(lucid.tensor(i), lucid.tensor(j)), op(torch.tensor(i), torch.tensor(j))
        assert got.dtype == np.int64
        np.testing.assert_array_equal(got.data, expected.numpy())


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_index_select_matches_torch(dim, rng):
    x = data(rng, (3, 4, 2))
    index = np.array([1, 0, 1])  # a repeat: its gradients add up
    check(
        lambda t: lucid.index_select(t, dim, lucid.tensor(index)),
        lambda t: torch.index_select(t, dim, torch.tensor(index)),
        x,
        rng=rng,
    )
    with pytest.raises(IndexError, match="out of range"):
        lucid.index_select(lucid.tensor(x), dim, lucid.tensor(np.array([5])))


# ---- edge cases found by differential probing -----------------------------------------------------
@pytest.mark.parametrize("name", ["exp", "log1p", "sqrt", "sin", "tanh", "sigmoid"])
@pytest.mark.parametrize("dtype", [np.bool_, np.uint8, np.int8])
def test_float_functions_of_small_integers_give_float32_as_pytorch(name, dtype):
    x = np.array([1, 0, 1]).astype(dtype)
    got, expected = getattr(lucid, name)(lucid.tensor(x)), getattr(torch, name)(torch.tensor(x))
    assert got.dtype == np.float32 == _numpy_dtype(expected.dtype)
    np.testing.assert_allclose(got.data, expected.numpy(), rtol=1e-6)


def test_integer_division_by_zero_raises_as_pytorch():
    for op in (operator.floordiv, operator.mod):
        for a, b in (
            (lucid.tensor([7, -7]), 0),
            (lucid.tensor([7, -7]), lucid.tensor([0, 1])),
            (2, lucid.tensor([1, 0])),
        ):
            with pytest.raises(RuntimeError, match="ZeroDivisionError"):
                op(a, b)
    np.testing.assert_array_equal((lucid.tensor([7.0, -7.0]) // 0).data, [np.inf, -np.inf])  # floats: IEEE


@pytest.mark.parametrize(
    "op", ["//=", "%=", "**=", "&=", "|=", "^="], ids=["floordiv", "mod", "pow", "and", "or", "xor"]
)
def test_every_augmented_assignment_writes_in_place(op):
    ints = op in ("&=", "|=", "^=")
    results = []
    for L in (lucid, torch):
        x = L.tensor([5, 6, 7]) if ints else L.tensor([5.0, 7.0, -3.0], dtype=L.float64)
        alias = x
        exec(f"x {op} (3 if ints else 2.0)", {}, {"x": x, "ints": ints})  # noqa: S102
        results.append(np.array(alias.data if L is lucid else alias.numpy()))
    np.testing.assert_array_equal(results[0], results[1])


def test_more_pytorch_conventions_at_the_edges():
    assert lucid.sign(lucid.tensor([True, False])).dtype == np.bool_
    x = lucid.tensor(np.array([2, 3], np.int32))
    assert lucid.prod(x, 0, dtype=lucid.int32).dtype == np.int32 and lucid.prod(x).dtype == np.int64
    assert lucid.ones(2, 3).flip(0, 1).shape == (2, 3) and lucid.ones(2, 3).flip(dims=(1,)).shape == (2, 3)
    z = lucid.zeros(2, 2)
    z[0, 0] = lucid.tensor([42.0])  # one element into one position
    assert z.data[0, 0] == 42.0
    for lo in (np.int64(3), lucid.tensor(3)):
        assert lucid.clamp(lucid.ones(2, dtype=lucid.int32), min=lo).dtype == np.int32
    assert lucid.clamp(lucid.ones(2, dtype=lucid.float16), min=np.float32(1.5)).dtype == np.float16
    t = torch.tensor([[1, 0], [2, 3]])
    for name in ("all", "any"):
        got = getattr(lucid, name)(lucid.tensor(t.numpy()), dim=())
        np.testing.assert_array_equal(got.data, getattr(torch, name)(t, dim=()).numpy())
    assert lucid.index_select(lucid.tensor(3.0), 0, lucid.tensor([0])).shape == ()
    with pytest.raises(NotImplementedError, match="decimals"):
        lucid.tensor([15, 26]).round(decimals=-1)
