"""sin, cos, cumsum, einsum, bmm, baddbmm, sort, argsort, topk, multinomial: against PyTorch in float64
(1e-10), forward and every input's gradient, and by finite differences."""

import numpy as np
import pytest
import torch
from test_ops_indexing import both

import lucid


@pytest.mark.parametrize("fn", ["sin", "cos"])
def test_trig(fn, rng):
    x = rng.standard_normal((3, 4)) * 3
    both(getattr(lucid, fn), getattr(torch, fn), [x], rng)
    both(lambda t: getattr(t, fn)(), lambda t: getattr(t, fn)(), [x], rng)


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cumsum(dim, rng):
    x = rng.standard_normal((3, 4, 2))
    both(lambda t: lucid.cumsum(t, dim), lambda t: torch.cumsum(t, dim), [x], rng)


@pytest.mark.parametrize("dtype", [np.float16, np.float32])
def test_cumsum_keeps_a_wide_running_total_as_pytorch(dtype):
    """Each running sum is the float64 total rounded once (a float32 total of 100,000 0.1s ends 0.3% off).
    PyTorch's total is float64 for float32 (the same results); float32 for float16 (up to 3 units off)."""
    x = np.full(100_000, 0.1, dtype)
    t = lucid.tensor(x, requires_grad=True)
    y = t.cumsum(0)
    assert y.dtype == dtype
    np.testing.assert_array_equal(y.data, np.cumsum(x.astype(np.float64)).astype(dtype))
    if dtype == np.float32:
        np.testing.assert_array_equal(y.data, torch.tensor(x).cumsum(0).numpy())
    y.backward(x)  # the gradient is the running sum from the end
    np.testing.assert_array_equal(t.grad, np.cumsum(x.astype(np.float64))[::-1].astype(dtype))


def test_cumsum_of_integers_is_int64():
    y = lucid.tensor(np.array([True, True, False, True])).cumsum(0)
    assert y.dtype == np.int64
    np.testing.assert_array_equal(y.data, torch.tensor([True, True, False, True]).cumsum(0).numpy())


EINSUMS = [
    ("bhqd,bhkd->bhqk", [(2, 3, 4, 5), (2, 3, 6, 5)]),  # attention scores
    ("bhqk,bhkd->bhqd", [(2, 3, 4, 6), (2, 3, 6, 5)]),  # weights times values
    ("ij,jk", [(3, 4), (4, 2)]),  # implicit output
    ("ij->", [(3, 4)]),  # a full sum
    ("ii->i", [(4, 4)]),  # a diagonal
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]),  # a chain
    ("i,j->ij", [(3,), (4,)]),  # an outer product
    ("...ij,...jk->...ik", [(2, 3, 4), (2, 4, 5)]),  # the ellipsis
    ("bij,bj->bi", [(2, 3, 4), (2, 4)]),
    ("...ij,...jk->...ik", [(1, 3, 4), (2, 4, 5)]),  # the ellipsis, broadcast
]


@pytest.mark.parametrize("equation,shapes", EINSUMS)
def test_einsum(equation, shapes, rng):
    arrays = [rng.standard_normal(s) for s in shapes]
    both(lambda *t: lucid.einsum(equation, *t), lambda *t: torch.einsum(equation, *t), arrays, rng)


def test_einsum_errors():
    with pytest.raises(ValueError, match="2 operand"):
        lucid.einsum("ij,jk->ik", lucid.ones(2, 2))
    with pytest.raises(ValueError, match="do not match"):
        lucid.einsum("ijk->i", lucid.ones(2, 2))


def test_bmm_and_baddbmm(rng):
    a, b, c = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 4, 5)), rng.standard_normal((3, 5))
    both(lucid.bmm, torch.bmm, [a, b], rng)
    both(
        lambda c, a, b: lucid.baddbmm(c, a, b, beta=0.5, alpha=-2.0),
        lambda c, a, b: torch.baddbmm(c, a, b, beta=0.5, alpha=-2.0),
        [c, a, b],
        rng,
    )
    both(lambda c, a, b: c.baddbmm(a, b), lambda c, a, b: c.baddbmm(a, b), [c, a, b], rng)


def test_baddbmm_beta_zero_ignores_nan(rng):
    a, b = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 4, 5))
    c = np.full((2, 3, 5), np.nan)
    y = lucid.baddbmm(lucid.tensor(c), lucid.tensor(a), lucid.tensor(b), beta=0)
    np.testing.assert_allclose(
        y.data, torch.baddbmm(torch.tensor(c), torch.tensor(a), torch.tensor(b), beta=0).numpy(), rtol=1e-10, atol=1e-10
    )


def test_matmul_broadcasts_batches(rng):
    both(lucid.matmul, torch.matmul, [rng.standard_normal((2, 1, 3, 4)), rng.standard_normal((3, 4, 2))], rng)


def test_bmm_needs_3d():
    with pytest.raises(RuntimeError, match="3D"):
        lucid.bmm(lucid.ones(3, 4), lucid.ones(4, 2))


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("dim", [0, -1])
def test_sort(descending, dim, rng):
    x = rng.standard_normal((4, 5))
    v = both(lambda t: lucid.sort(t, dim, descending).values, lambda t: torch.sort(t, dim, descending).values, [x], rng)
    idx = lucid.sort(lucid.tensor(x), dim=dim, descending=descending).indices
    np.testing.assert_array_equal(idx.data, torch.sort(torch.tensor(x), dim=dim, descending=descending).indices)
    np.testing.assert_array_equal(lucid.tensor(x).argsort(dim, descending=descending).data, idx.data)
    assert v.shape == x.shape


def test_sort_ties_are_stable_and_nan_is_largest():
    x = np.array([2.0, np.nan, 1.0, 2.0, 1.0])
    for descending in (False, True):
        s = lucid.sort(lucid.tensor(x), descending=descending)
        t = torch.sort(torch.tensor(x), descending=descending, stable=True)
        np.testing.assert_array_equal(s.values.data, t.values.numpy())
        np.testing.assert_array_equal(s.indices.data, t.indices.numpy())


@pytest.mark.parametrize("largest", [True, False])
def test_topk(largest, rng):
    x = rng.standard_normal((3, 6))
    both(
        lambda t: lucid.topk(t, 3, largest=largest).values, lambda t: torch.topk(t, 3, largest=largest).values, [x], rng
    )
    both(lambda t: t.topk(2, dim=0, largest=largest)[0], lambda t: t.topk(2, dim=0, largest=largest)[0], [x], rng)
    np.testing.assert_array_equal(
        lucid.topk(lucid.tensor(x), 3, largest=largest).indices.data,
        torch.topk(torch.tensor(x), 3, largest=largest).indices.numpy(),
    )


def test_topk_k_too_large():
    with pytest.raises(RuntimeError, match="out of range"):
        lucid.topk(lucid.ones(3), 4)


def test_multinomial_frequencies():
    w = np.array([[1.0, 0.0, 3.0, 4.0], [0.0, 0.0, 1.0, 0.0]])
    lucid.manual_seed(1)
    s = lucid.multinomial(lucid.tensor(w), 4000, replacement=True)
    assert s.shape == (2, 4000) and s.dtype == np.int64
    freq = np.bincount(s.data[0], minlength=4) / 4000
    np.testing.assert_allclose(freq, w[0] / w[0].sum(), atol=0.03)  # 4 standard errors at most
    assert np.all(s.data[1] == 2)


def test_multinomial_without_replacement():
    lucid.manual_seed(2)
    s = lucid.tensor(np.array([5.0, 1.0, 0.0, 2.0])).multinomial(3)
    assert sorted(s.tolist()) == [0, 1, 3]
    firsts = [int(lucid.multinomial(lucid.tensor(np.array([3.0, 1.0])), 2)[0]) for _ in range(2000)]
    assert abs(np.mean(np.equal(firsts, 0)) - 0.75) < 0.04


@pytest.mark.parametrize(
    "w,replacement,message",
    [
        ([1.0, -1.0], True, "element < 0"),
        ([1.0, np.nan], True, "nan"),
        ([0.0, 0.0], True, "sum of probabilities <= 0"),
        ([1.0, 2.0], False, "without replacement"),
    ],
)
def test_multinomial_errors(w, replacement, message):
    with pytest.raises(RuntimeError, match=message):
        lucid.multinomial(lucid.tensor(np.array(w)), 3, replacement=replacement)
