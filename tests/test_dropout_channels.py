"""Dropout1d and Dropout2d: whole channels dropped, the rest scaled, the backward through the same mask."""

import warnings

import numpy as np
import pytest
import torch

import lucid
import lucid.nn as nn
import lucid.nn.functional as F


@pytest.mark.parametrize(
    "fn, module, shape, planes",
    [
        (F.dropout1d, nn.Dropout1d, (40, 30, 7), (40, 30)),
        (F.dropout1d, nn.Dropout1d, (50, 9), (50,)),
        (F.dropout2d, nn.Dropout2d, (30, 40, 3, 4), (30, 40)),
    ],
)
@pytest.mark.parametrize("p", [0.25, 0.6])
def test_whole_channels_are_dropped_and_the_rest_scaled(fn, module, shape, planes, p):
    lucid.manual_seed(0)
    x = lucid.Tensor(np.random.default_rng(0).uniform(1.0, 2.0, shape), requires_grad=True)
    y = fn(x, p)
    ratio = (y.data / x.data).reshape(planes + (-1,))
    kept = ratio[..., 0] != 0
    np.testing.assert_allclose(ratio[kept], 1 / (1 - p), rtol=1e-15)  # every element of a kept plane scaled
    assert (ratio[~kept] == 0).all()
    assert abs((~kept).mean() - p) < 0.08  # about p of the planes dropped
    g = np.random.default_rng(1).standard_normal(shape)
    y.backward(g)
    mask = np.where(kept, 1 / (1 - p), 0.0).reshape(planes + (1,) * (len(shape) - len(planes)))
    np.testing.assert_allclose(x.grad, g * mask, rtol=1e-15)
    m = module(p)
    assert repr(m) == repr(getattr(torch.nn, module.__name__)(p))
    m.eval()
    assert m(x) is x
    assert fn(x, p, training=False) is x and fn(x, 0.0) is x


def test_p_one_drops_everything_and_nan_propagates():
    x = lucid.Tensor(np.full((2, 3, 4), np.nan))
    lucid.manual_seed(1)
    y = F.dropout1d(x, 0.5)  # a dropped NaN is NaN·0 = NaN, as in PyTorch
    assert np.isnan(y.data).all() and torch.nn.functional.dropout1d(torch.tensor(x.data), 0.5).isnan().all()
    np.testing.assert_array_equal(F.dropout1d(lucid.Tensor(np.ones((2, 3, 4))), 1.0).data, 0)


def test_errors_and_warnings():
    with pytest.raises(RuntimeError, match="dropout1d: Expected 2D or 3D input, but received a 4D input"):
        F.dropout1d(lucid.Tensor(np.ones((1, 2, 3, 4))))
    with pytest.raises(ValueError, match="between 0 and 1, but got 1.5"):
        F.dropout2d(lucid.Tensor(np.ones((1, 2, 3, 4))), 1.5)
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout1d(-0.1)
    with pytest.warns(UserWarning, match="Received a 3D input to dropout2d"):
        F.dropout2d(lucid.Tensor(np.ones((2, 3, 4))))
    with pytest.warns(UserWarning, match="Received a 5-D input to dropout2d"):
        F.dropout2d(lucid.Tensor(np.ones((2, 3, 4, 1, 1))))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F.dropout2d(lucid.Tensor(np.ones((2, 3, 4, 5))))
