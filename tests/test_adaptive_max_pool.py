"""adaptive_max_pool2d and AdaptiveMaxPool2d against PyTorch in float64 (values, indices, gradients)."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from compare import close, differential

import lucid
import lucid.nn as nn
import lucid.nn.functional as F
from lucid.autograd import gradcheck


@pytest.mark.parametrize(
    "shape, out",
    [((2, 3, 7, 5), (3, 2)), ((2, 3, 4, 4), 4), ((1, 2, 5, 9), (None, 4)), ((3, 6, 5), (4, 7)), ((2, 1, 3, 3), 1)],
)
def test_matches_torch(shape, out):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape)
    differential(lambda x: F.adaptive_max_pool2d(x, out), lambda x: TF.adaptive_max_pool2d(x, out), [x], rng)
    y, i = F.adaptive_max_pool2d(lucid.Tensor(x), out, return_indices=True)
    ty, ti = TF.adaptive_max_pool2d(torch.tensor(x), out, return_indices=True)
    np.testing.assert_array_equal(i.data, ti.numpy())
    close(nn.AdaptiveMaxPool2d(out)(lucid.Tensor(x)), torch.nn.AdaptiveMaxPool2d(out)(torch.tensor(x)))


def test_ties_overlaps_nan_and_gradcheck():
    x = np.zeros((1, 1, 5, 5))  # all ties: the first element of each window takes the gradient
    differential(
        lambda x: F.adaptive_max_pool2d(x, (3, 3)),
        lambda x: TF.adaptive_max_pool2d(x, (3, 3)),
        [x],
        np.random.default_rng(1),
    )
    x = np.random.default_rng(2).standard_normal((1, 2, 4, 4))
    x[0, 0, 1, 2] = np.nan
    y, ty = F.adaptive_max_pool2d(lucid.Tensor(x), 2), TF.adaptive_max_pool2d(torch.tensor(x), 2)
    np.testing.assert_array_equal(np.isnan(y.data), ty.isnan().numpy())
    close(y.data[~np.isnan(y.data)], ty.numpy()[~np.isnan(y.data)])
    xs = [lucid.Tensor(np.random.default_rng(3).standard_normal((2, 2, 5, 6)), requires_grad=True)]
    assert gradcheck(lambda t: F.adaptive_max_pool2d(t, (3, 4)), xs)


def test_errors():
    with pytest.raises(RuntimeError, match="Expected 3D or 4D tensor"):
        F.adaptive_max_pool2d(lucid.Tensor(np.ones((2, 3))), 1)
    with pytest.raises(RuntimeError, match="positive ints"):
        F.adaptive_max_pool2d(lucid.Tensor(np.ones((1, 2, 3))), 0)
    with pytest.raises(RuntimeError, match="non-zero size"):
        F.adaptive_max_pool2d(lucid.Tensor(np.ones((1, 0, 3, 3))), 2)
    assert repr(nn.AdaptiveMaxPool2d((2, 3))) == "AdaptiveMaxPool2d(output_size=(2, 3))"
