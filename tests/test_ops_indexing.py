"""tril, triu, masked_fill, gather, scatter_add, index_add: against PyTorch in float64 (1e-10), forward and
every input's gradient, and by finite differences."""

import numpy as np
import pytest
import torch
from compare import close, differential

import lucid


def both(lucid_fn, torch_fn, arrays, rng, diff=None):
    """The differential check, then a finite-difference gradcheck of the same lucid call."""
    y = differential(lucid_fn, torch_fn, arrays, rng, diff)
    if diff is None:
        diff = [a is not None and np.asarray(a).dtype == np.float64 for a in arrays]
    ts = [None if a is None else lucid.tensor(a, requires_grad=d) for a, d in zip(arrays, diff)]
    assert lucid.autograd.gradcheck(lucid_fn, ts)
    return y


@pytest.mark.parametrize("diagonal", [-1, 0, 2])
@pytest.mark.parametrize("fn", ["tril", "triu"])
def test_triangles(fn, diagonal, rng):
    x = rng.standard_normal((2, 3, 4))
    both(lambda t: getattr(lucid, fn)(t, diagonal), lambda t: getattr(torch, fn)(t, diagonal), [x], rng)
    both(lambda t: getattr(t, fn)(diagonal), lambda t: getattr(t, fn)(diagonal), [x[0].T.copy()], rng)


def test_triangle_needs_two_dims():
    with pytest.raises(RuntimeError, match="at least 2 dimensions"):
        lucid.tril(lucid.ones(3))


def test_masked_fill_number_and_tensor_value(rng):
    x = rng.standard_normal((3, 4))
    mask = rng.random((1, 4)) < 0.5
    both(lambda t: t.masked_fill(lucid.tensor(mask), -2.5), lambda t: t.masked_fill(torch.tensor(mask), -2.5), [x], rng)
    v = np.array(1.5)
    both(
        lambda t, s: lucid.masked_fill(t, lucid.tensor(mask), s),
        lambda t, s: torch.masked_fill(t, torch.tensor(mask), s),
        [x, v],
        rng,
    )


def test_masked_fill_with_minus_inf_keeps_nan(rng):
    x = np.array([[1.0, np.nan, 3.0]])
    mask = np.array([[True, False, False]])
    y = lucid.tensor(x).masked_fill(lucid.tensor(mask), -np.inf)
    t = torch.tensor(x).masked_fill(torch.tensor(mask), -np.inf)
    np.testing.assert_array_equal(y.data, t.numpy())


def test_masked_fill_errors_leave_input_alone():
    x = lucid.ones(2, 3)
    with pytest.raises(RuntimeError, match="only supports boolean masks"):
        x.masked_fill(lucid.ones(2, 3), 0.0)
    with pytest.raises(RuntimeError, match="broadcastable"):
        x.masked_fill(lucid.ones(3, 3).bool(), 0.0)
    np.testing.assert_array_equal(x.data, np.ones((2, 3)))


def test_masked_fill_in_place(rng):
    x = rng.standard_normal((3, 4))
    mask = rng.random(4) < 0.5
    t = lucid.tensor(x.copy())
    assert t.masked_fill_(lucid.tensor(mask), 7.0) is t
    np.testing.assert_array_equal(t.data, torch.tensor(x).masked_fill_(torch.tensor(mask), 7.0).numpy())
    leaf = lucid.tensor(x.copy(), requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Tensor that requires grad"):
        leaf.masked_fill_(lucid.tensor(mask), 0.0)
    np.testing.assert_array_equal(leaf.data, x)


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_gather(dim, rng):
    x = rng.standard_normal((3, 4))
    shape = list(x.shape)
    shape[dim] = 5  # more picks than entries along dim: repeats, so gradients add up
    shape[1 - (dim % 2)] -= 1  # and smaller than x off dim, as PyTorch allows
    idx = rng.integers(0, x.shape[dim], size=shape)
    both(lambda t: lucid.gather(t, dim, lucid.tensor(idx)), lambda t: torch.gather(t, dim, torch.tensor(idx)), [x], rng)


def test_gather_errors():
    x = lucid.ones(2, 3)
    with pytest.raises(RuntimeError, match="int64"):
        x.gather(1, lucid.tensor(np.zeros((2, 1), np.int32)))
    with pytest.raises(IndexError, match="out of bounds"):
        x.gather(1, lucid.tensor(np.array([[3]])))
    with pytest.raises(RuntimeError, match="same number of dimensions"):
        x.gather(1, lucid.tensor(np.array([0])))


@pytest.mark.parametrize("dim", [0, 1])
def test_scatter_add(dim, rng):
    x = rng.standard_normal((3, 4))
    idx_shape = (5, 3) if dim == 0 else (3, 6)  # more sources than slots along dim: they add up
    src = rng.standard_normal(idx_shape)
    idx = rng.integers(0, x.shape[dim], size=idx_shape)
    both(
        lambda a, s: a.scatter_add(dim, lucid.tensor(idx), s),
        lambda a, s: a.scatter_add(dim, torch.tensor(idx), s),
        [x, src],
        rng,
    )


@pytest.mark.parametrize("alpha", [1, -0.5])
def test_index_add(alpha, rng):
    x = rng.standard_normal((5, 3))
    idx = np.array([4, 0, 4, 2])  # a repeated row: both sources add into it
    src = rng.standard_normal((4, 3))
    both(
        lambda a, s: lucid.index_add(a, 0, lucid.tensor(idx), s, alpha=alpha),
        lambda a, s: torch.index_add(a, 0, torch.tensor(idx), s, alpha=alpha),
        [x, src],
        rng,
    )
    both(
        lambda a, s: a.index_add(1, lucid.tensor(idx[:2] % 3), s, alpha=alpha),
        lambda a, s: a.index_add(1, torch.tensor(idx[:2] % 3), s, alpha=alpha),
        [x, rng.standard_normal((5, 2))],
        rng,
    )


def test_index_add_shape_error():
    with pytest.raises(RuntimeError, match="Expected source of shape"):
        lucid.zeros(5, 3).index_add(0, lucid.tensor(np.array([1, 2])), lucid.ones(3, 3))


def test_scatter_add_src_larger_than_index(rng):
    x, src = lucid.tensor(rng.standard_normal((3, 4))), lucid.tensor(rng.standard_normal((4, 5)), requires_grad=True)
    idx = rng.integers(0, 3, size=(2, 3))
    y = x.scatter_add(0, lucid.tensor(idx), src)
    close(y, torch.tensor(x.data).scatter_add(0, torch.tensor(idx), torch.tensor(src.data)))
    assert lucid.autograd.gradcheck(lambda s: x.scatter_add(0, lucid.tensor(idx), s), (src,))
