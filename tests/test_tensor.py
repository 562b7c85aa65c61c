"""The Tensor itself: construction, dtypes and promotion, properties, printing, creation functions, seeding."""

import numpy as np
import pytest
import torch

import lucid


# ---- construction and dtypes -------------------------------------------------------------
@pytest.mark.parametrize(
    "data,dtype",
    [
        (1.5, np.float32),
        ([1.0, 2.0], np.float32),
        ([[1, 2.5]], np.float32),
        (3, np.int64),
        ([1, 2], np.int64),
        (True, np.bool_),
        ([True, False], np.bool_),
    ],
)
def test_python_data_dtypes(data, dtype):
    t = lucid.Tensor(data)
    assert t.dtype == dtype
    np.testing.assert_array_equal(t.data, np.array(data))


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.int32, np.int64, np.bool_])
def test_numpy_array_keeps_its_dtype_and_memory(dtype):
    a = np.ones((2, 2), dtype=dtype)
    t = lucid.Tensor(a)
    assert t.dtype == dtype and t.data is a
    assert lucid.tensor(a).data is not a  # lucid.tensor copies


def test_numpy_scalars_and_lists_of_arrays_keep_float64():
    assert lucid.Tensor(np.float64(2.0)).dtype == np.float64
    assert lucid.Tensor([np.float64(1.0), np.float64(2.0)]).dtype == np.float64
    t = lucid.tensor([1.0, 2.0], dtype="float64")
    assert lucid.Tensor([t, t]).dtype == np.float64 and lucid.Tensor([t, t]).shape == (2, 2)


@pytest.mark.parametrize(
    "spec,expected",
    [
        (lucid.float16, np.float16),
        (lucid.float32, np.float32),
        (lucid.float64, np.float64),
        (lucid.int32, np.int32),
        (lucid.int64, np.int64),
        (lucid.bool_, np.bool_),
        (np.float64, np.float64),
        (np.dtype("int32"), np.int32),
        ("float64", np.float64),
        ("int64", np.int64),
        ("float16", np.float16),
        ("bool", np.bool_),
        ("float", np.float32),
        ("double", np.float64),
        ("half", np.float16),
        ("long", np.int64),
        ("int", np.int32),
        (lucid.double, np.float64),
        (lucid.half, np.float16),
        (lucid.long, np.int64),
    ],
)
def test_dtype_argument_takes_lucid_numpy_or_name(spec, expected):
    assert lucid.Tensor([1, 0], dtype=spec).dtype == expected
    assert lucid.zeros(2, dtype=spec).dtype == expected
    assert lucid.tensor(np.ones(2), dtype=spec).dtype == expected


def test_bad_dtype_and_bad_data():
    with pytest.raises(TypeError, match="expected a dtype"):
        lucid.Tensor([1.0], dtype="not_a_dtype")
    with pytest.raises(TypeError, match="cannot make a Tensor"):
        lucid.Tensor([[1.0, 2.0], [3.0]])
    with pytest.raises(TypeError, match="cannot make a Tensor"):
        lucid.Tensor({"a": 1})


PROMOTION_OPERANDS = [
    np.ones(2, np.float16),
    np.ones(2, np.float32),
    np.ones(2, np.float64),
    np.ones(2, np.int32),
    np.ones(2, np.int64),
    np.ones(2, np.bool_),
    2.5,
    3,
    np.float64(2.0),
    np.int32(2),
]


@pytest.mark.parametrize("a", PROMOTION_OPERANDS[:6], ids=lambda a: str(a.dtype))
def test_type_promotion_follows_numpy(a):
    # NumPy 2 rules: a Python scalar never widens a tensor's float type, arrays do; a NumPy scalar counts
    # as a Python scalar (as in PyTorch: x / np.sqrt(d) keeps x's dtype)
    ta = lucid.Tensor(a)
    for b in PROMOTION_OPERANDS:
        tb = lucid.Tensor(b) if isinstance(b, np.ndarray) else b
        if a.dtype == np.bool_ and (not isinstance(b, np.ndarray) or b.dtype == np.bool_):
            continue  # NumPy has no bool - bool
        weak = b.item() if isinstance(b, np.generic) else b
        assert (ta + tb).dtype == (a + weak).dtype, (a.dtype, b)
        assert (tb * ta).dtype == (weak * a).dtype, (a.dtype, b)
    assert (lucid.Tensor(np.ones(2, np.float32)) * 2.5).dtype == np.float32


# ---- properties and conversions ---------------------------------------------------------
def test_properties():
    a = np.arange(6.0).reshape(2, 3)
    t = lucid.Tensor(a)
    assert t.shape == (2, 3) and t.ndim == 2 and t.dim() == 2 and t.dtype == np.float64
    assert t.size == 6 and t.numel() == 6
    assert t.size() == (2, 3) and t.size(1) == 3 and t.size(-2) == 2
    assert len(t) == 2
    assert t.numpy() is a and np.asarray(t) is a
    assert np.asarray(t, dtype=np.float32).dtype == np.float32
    assert t.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    np.testing.assert_array_equal(t.T.data, a.T)
    assert t[1, 2].item() == 5.0 and float(t[0, 1]) == 1.0 and int(t[1, 1]) == 4 and f"{t[1, 2]:.2f}" == "5.00"
    assert [r.tolist() for r in t] == a.tolist()
    assert t.is_leaf and t.grad_fn is None and t.grad is None and not t.requires_grad
    assert t.device == "cpu" and t.cpu() is t


def test_data_is_writable_and_shared():
    t = lucid.zeros(3)
    t.data[1] = 5.0
    assert t.tolist() == [0.0, 5.0, 0.0]
    d = t.detach()
    d.data[0] = 1.0
    assert t.data[0] == 1.0


def test_item_bool_len_errors():
    with pytest.raises(ValueError, match="cannot be converted to a Python scalar"):
        lucid.ones(2).item()
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(lucid.ones(2))
    with pytest.raises(TypeError, match="0-d"):
        len(lucid.tensor(1.0))
    assert bool(lucid.tensor([1.0])) is True


def test_requires_grad_and_detach():
    t = lucid.ones(2)
    assert t.requires_grad_() is t and t.requires_grad
    d = t.detach()
    assert not d.requires_grad and d.data is t.data
    t.requires_grad_(False)
    assert not t.requires_grad


@pytest.mark.parametrize(
    "method,dtype",
    [
        ("float", np.float32),
        ("double", np.float64),
        ("half", np.float16),
        ("long", np.int64),
        ("int", np.int32),
        ("bool", np.bool_),
    ],
)
def test_conversions(method, dtype):
    t = lucid.tensor([0.0, 1.5, -2.0])
    assert getattr(t, method)().dtype == dtype
    np.testing.assert_array_equal(getattr(t, method)().data, t.data.astype(dtype))


def test_to_and_astype():
    t = lucid.tensor([1.0, 2.0])
    assert t.to("cpu") is t and t.to(lucid.float32) is t
    assert t.to(lucid.float64).dtype == np.float64 and t.to("float16").dtype == np.float16
    assert t.to(lucid.ones(1, dtype="int32")).dtype == np.int32
    assert t.to("cpu", dtype=lucid.float64).dtype == np.float64
    assert t.astype(np.int64).dtype == np.int64 and t.type(lucid.float64).dtype == np.float64


# ---- printing -------------------------------------------------------------------------------
def test_repr_in_the_reference_style():
    # the style of the reference pages: Tensor([[...]], grad=None), 4 decimals
    x = lucid.Tensor([[[-1.22474487, 0.0, 1.22474487], [-1.2247, 1e-9, -1e-9]]])
    assert repr(x) == ("Tensor([[[-1.2247, 0.0, 1.2247],\n         [-1.2247, 0.0, 0.0]]], grad=None)")
    assert str(x) == repr(x)
    assert repr(lucid.Tensor([1.0, 2.5], requires_grad=True)) == "Tensor([1.0, 2.5], requires_grad=True, grad=None)"
    assert repr(lucid.tensor(3.0)) == "Tensor(3.0, grad=None)"
    assert repr(lucid.tensor([1, 20])) == "Tensor([1, 20], grad=None)"
    assert repr(lucid.tensor([True, False])) == "Tensor([True, False], grad=None)"
    assert repr(lucid.tensor([0.5], dtype="float64")) == "Tensor([0.5], dtype=lucid.float64, grad=None)"
    assert repr(lucid.tensor([1, 2], dtype="int32")) == "Tensor([1, 2], dtype=lucid.int32, grad=None)"
    assert repr(lucid.tensor([np.nan, np.inf, -np.inf])) == "Tensor([nan, inf, -inf], grad=None)"
    assert repr(lucid.tensor([123456.75, 2e9])) == "Tensor([123456.75, 2.0000e+09], grad=None)"


def test_repr_of_non_leaf_and_after_backward():
    x = lucid.Tensor([1.0, -2.0], requires_grad=True)
    y = x * 3
    assert repr(y) == "Tensor([3.0, -6.0], grad=None)"  # no requires_grad on a non-leaf, as in the pages
    y.sum().backward()
    assert repr(x) == "Tensor([1.0, -2.0], requires_grad=True, grad=[3.0, 3.0])"


# ---- creation -------------------------------------------------------------------------------
def test_zeros_ones_full_empty():
    for fn, value in ((lucid.zeros, 0.0), (lucid.ones, 1.0)):
        for args in ((2, 3), ((2, 3),), ([2, 3],)):
            t = fn(*args)
            assert t.shape == (2, 3) and t.dtype == np.float32 and (t.data == value).all()
        assert fn().shape == () and fn(0).shape == (0,)
        assert fn(2, dtype="int64").dtype == np.int64
        assert fn(2, requires_grad=True).requires_grad
    assert lucid.full((2, 2), 1.5).dtype == np.float32 and (lucid.full((2, 2), 1.5).data == 1.5).all()
    assert lucid.full(3, 7).dtype == np.int64 and lucid.full(3, 7).tolist() == [7, 7, 7]
    assert lucid.full([2], True).dtype == np.bool_
    assert lucid.full((2,), 1, dtype=lucid.float64).dtype == np.float64
    assert lucid.empty(2, 4).shape == (2, 4) and lucid.empty(2, dtype="float16").dtype == np.float16


@pytest.mark.parametrize("args", [(5,), (2, 7), (1, 2, 0.25), (0.0, 1.0, 0.3), (5, 0, -2)])
def test_arange_matches_torch(args):
    got, expected = lucid.arange(*args), torch.arange(*args)
    assert got.dtype == expected.numpy().dtype
    np.testing.assert_allclose(got.data, expected.numpy(), rtol=1e-6)


def test_linspace_and_eye_match_torch():
    for args in ((0, 1, 5), (-2.0, 3.0, 11), (1, 1, 1)):
        got, expected = lucid.linspace(*args), torch.linspace(*args)
        assert got.dtype == np.float32
        np.testing.assert_allclose(got.data, expected.numpy(), rtol=1e-6)
    np.testing.assert_array_equal(lucid.eye(3).data, torch.eye(3).numpy())
    np.testing.assert_array_equal(lucid.eye(2, 4).data, torch.eye(2, 4).numpy())
    assert lucid.eye(2, dtype="float64").dtype == np.float64


def test_random_functions():
    r = lucid.rand(200, 3)
    assert r.shape == (200, 3) and r.dtype == np.float32 and (r.data >= 0).all() and (r.data < 1).all()
    n = lucid.randn((400,), dtype=lucid.float64)
    assert n.dtype == np.float64 and abs(n.data.mean()) < 0.3 and 0.7 < n.data.std() < 1.3
    i = lucid.randint(3, 7, (50,))
    assert i.dtype == np.int64 and i.data.min() >= 3 and i.data.max() <= 6
    assert lucid.randint(5, size=4).shape == (4,) and lucid.randint(5, size=4).data.max() < 5
    assert lucid.randn(2, 2, requires_grad=True).requires_grad
    with pytest.raises(TypeError, match="floating point dtype"):
        lucid.rand(2, dtype="int64")


def test_like_functions():
    t = lucid.ones(2, 3, dtype=lucid.float64)
    for fn in (lucid.zeros_like, lucid.ones_like, lucid.empty_like, lucid.rand_like, lucid.randn_like):
        r = fn(t)
        assert r.shape == (2, 3) and r.dtype == np.float64 and not r.requires_grad
    assert lucid.zeros_like(t, dtype="float32").dtype == np.float32
    assert lucid.ones_like(t, requires_grad=True).requires_grad
    assert lucid.full_like(t, 2.5).tolist() == [[2.5] * 3] * 2 and lucid.full_like(t, 2).dtype == np.float64
    ri = lucid.randint_like(lucid.zeros(4, dtype="int64"), 0, 3)
    assert ri.shape == (4,) and ri.dtype == np.int64
    np.testing.assert_array_equal(lucid.zeros_like(t).data, np.zeros((2, 3)))
    np.testing.assert_array_equal(lucid.ones_like(t).data, np.ones((2, 3)))


def test_tensor_function_copies_and_takes_requires_grad():
    a = np.ones(3)
    t = lucid.tensor(a, requires_grad=True)
    t.data[0] = 5
    assert a[0] == 1 and t.requires_grad and t.dtype == np.float64
    assert lucid.is_tensor(t) and not lucid.is_tensor(a)


def test_seed_makes_every_random_function_reproducible():
    def draw():
        return [
            lucid.rand(3).data,
            lucid.randn(2, 2).data,
            lucid.randint(0, 100, (4,)).data,
            lucid.rand_like(lucid.ones(2)).data,
            lucid.randn_like(lucid.ones(2)).data,
        ]

    lucid.manual_seed(123)
    first = draw()
    lucid.random.seed(123)
    second = draw()
    lucid.manual_seed(124)
    third = draw()
    for a, b, c in zip(first, second, third):
        np.testing.assert_array_equal(a, b)
        assert not np.array_equal(a, c)
    assert isinstance(lucid.random.generator(), np.random.Generator)
