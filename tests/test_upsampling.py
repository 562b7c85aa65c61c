"""interpolate and Upsample against PyTorch in float64: values and gradients to 1e-10."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from compare import close, differential

import lucid
import lucid.nn as nn
import lucid.nn.functional as F
from lucid.autograd import gradcheck

CASES = [
    ((2, 3, 4, 5), dict(scale_factor=2, mode="nearest")),
    ((2, 3, 4, 5), dict(size=(7, 3), mode="nearest")),
    ((1, 2, 5), dict(scale_factor=1.7, mode="nearest")),
    ((1, 2, 3, 4, 2), dict(size=(5, 6, 3), mode="nearest")),
    ((2, 3, 4, 5), dict(scale_factor=2, mode="bilinear", align_corners=False)),
    ((2, 3, 4, 5), dict(scale_factor=2, mode="bilinear", align_corners=True)),
    ((2, 2, 6, 7), dict(size=(3, 10), mode="bilinear", align_corners=False)),
    ((2, 2, 6, 7), dict(size=(1, 9), mode="bilinear", align_corners=True)),
    ((1, 2, 5, 4), dict(scale_factor=(1.5, 0.7), mode="bilinear")),
    ((1, 2, 5, 4), dict(scale_factor=(1.5, 0.7), mode="bilinear", recompute_scale_factor=True)),
    ((2, 3, 6), dict(size=11, mode="linear", align_corners=True)),
    ((2, 3, 6), dict(scale_factor=0.5, mode="linear")),
    ((1, 1, 3), dict(scale_factor=1.1, mode="linear")),  # an axis that keeps its length is copied
    ((1, 2, 3, 4), dict(scale_factor=(1.2, 2.0), mode="bilinear")),
]


@pytest.mark.parametrize("shape, kw", CASES)
def test_interpolate_matches_torch(shape, kw):
    rng = np.random.default_rng(0)
    differential(lambda x: F.interpolate(x, **kw), lambda x: TF.interpolate(x, **kw), [rng.standard_normal(shape)], rng)


def test_module_gradcheck_and_nan():
    for kw in (dict(scale_factor=2.0), dict(size=(3, 5), mode="bilinear", align_corners=True)):
        m, tm = nn.Upsample(**kw), torch.nn.Upsample(**kw)
        assert repr(m) == repr(tm)
        x = np.random.default_rng(1).standard_normal((1, 2, 4, 3))
        close(m(lucid.Tensor(x)), tm(torch.tensor(x)))
    xs = [lucid.Tensor(np.random.default_rng(2).standard_normal((1, 2, 3, 4)), requires_grad=True)]
    assert gradcheck(lambda t: F.interpolate(t, size=(5, 7), mode="bilinear"), xs)
    x = np.ones((1, 1, 3, 3))
    x[0, 0, 1, 1] = np.nan
    y, ty = (
        F.interpolate(lucid.Tensor(x), scale_factor=2, mode="bilinear"),
        TF.interpolate(torch.tensor(x), scale_factor=2, mode="bilinear"),
    )
    np.testing.assert_array_equal(np.isnan(y.data), ty.isnan().numpy())


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda x: F.interpolate(x, scale_factor=2, align_corners=True), ValueError, "align_corners option"),
        (lambda x: F.interpolate(x, size=3, scale_factor=2), ValueError, "only one of size or scale_factor"),
        (lambda x: F.interpolate(x), ValueError, "either size or scale_factor"),
        (lambda x: F.interpolate(x[0], scale_factor=2, mode="bilinear"), NotImplementedError, "needs 4D input"),
        (lambda x: F.interpolate(x, size=(2, 3, 4)), ValueError, "same number of spatial dimensions"),
        (lambda x: F.interpolate(x, scale_factor=2, mode="bicubic"), NotImplementedError, "not supported"),
    ],
)
def test_errors(call, error, message):
    with pytest.raises(error, match=message):
        call(lucid.Tensor(np.ones((1, 2, 3, 3))))
