"""nn.utils against torch.nn.utils in float64: clipping by total norm and by value, flat parameter vectors."""

import math
import warnings

import numpy as np
import pytest
import torch
from compare import close

import lucid
import lucid.nn as nn

SHAPES = [(3, 4), (5,), (2, 1, 3)]


def pair(rng, scale=1.0, without_grad=()):
    """Parameters with gradients, lucid and torch, equal; indices in ``without_grad`` get no gradient."""
    ours, theirs = [], []
    for i, s in enumerate(SHAPES):
        a = rng.standard_normal(s)
        p, t = nn.Parameter(a.copy()), torch.tensor(a, requires_grad=True)
        if i not in without_grad:
            g = scale * rng.standard_normal(s)
            p.grad, t.grad = g.copy(), torch.tensor(g)
        ours.append(p)
        theirs.append(t)
    return ours, theirs


@pytest.mark.parametrize("norm_type", [2.0, 1, 3.5, 0.5, 0, math.inf, -math.inf, "inf"])
@pytest.mark.parametrize("max_norm, scale", [(1.0, 1.0), (100.0, 1.0), (0.5, 1e-3)])
def test_clip_grad_norm_matches_torch(norm_type, max_norm, scale):
    rng = np.random.default_rng(0)
    ours, theirs = pair(rng, scale, without_grad=(1,))
    total = nn.utils.clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    ttotal = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    assert isinstance(total, lucid.Tensor) and total.shape == ()
    close(total, ttotal)
    for p, t in zip(ours, theirs):
        assert (p.grad is None) == (t.grad is None)
        if p.grad is not None:
            close(p.grad, t.grad)


def test_clip_grad_norm_clips_to_max_norm_and_takes_a_single_tensor():
    rng = np.random.default_rng(1)
    ours, _ = pair(rng, scale=10.0)
    before = math.sqrt(sum(float((p.grad**2).sum()) for p in ours))
    total = nn.utils.clip_grad_norm_(iter(ours), 2.0)
    assert abs(total.item() - before) < 1e-12
    after = math.sqrt(sum(float((p.grad**2).sum()) for p in ours))
    assert abs(after - 2.0 * before / (before + 1e-6)) < 1e-12
    p = nn.Parameter(np.array([3.0, 4.0]))
    p.grad = np.array([3.0, 4.0])
    assert nn.utils.clip_grad_norm_(p, 1.0).item() == 5.0
    np.testing.assert_allclose(p.grad, np.array([3.0, 4.0]) / (5.0 + 1e-6))


def test_clip_grad_norm_nonfinite():
    rng = np.random.default_rng(2)
    ours, theirs = pair(rng)
    ours[0].grad[0, 0] = np.nan
    theirs[0].grad[0, 0] = math.nan
    saved = [p.grad.copy() for p in ours]
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.clip_grad_norm_(ours, 1.0, error_if_nonfinite=True)
    for p, g in zip(ours, saved):  # the error leaves the gradients as they were
        np.testing.assert_array_equal(p.grad, g)
    total = nn.utils.clip_grad_norm_(ours, 1.0)
    ttotal = torch.nn.utils.clip_grad_norm_(theirs, 1.0)
    assert math.isnan(total.item()) and math.isnan(ttotal.item())
    for p, t in zip(ours, theirs):
        np.testing.assert_array_equal(np.isnan(p.grad), t.grad.isnan().numpy())
    ours, theirs = pair(rng)
    ours[2].grad[0, 0, 1] = np.inf
    theirs[2].grad[0, 0, 1] = math.inf
    close(
        nn.utils.clip_grad_norm_(ours, 1.0, norm_type=math.inf), torch.nn.utils.clip_grad_norm_(theirs, 1.0, math.inf)
    )
    for p, t in zip(ours, theirs):
        np.testing.assert_array_equal(p.grad, t.grad.numpy())


def test_clip_grad_norm_without_gradients():
    p = nn.Parameter(np.ones(3))
    total = nn.utils.clip_grad_norm_([p], 1.0)
    assert total.item() == 0.0 and total.dtype == np.float32 and p.grad is None
    with pytest.warns(UserWarning, match="empty generator"):
        nn.utils.clip_grad_norm_((q for q in []), 1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nn.utils.clip_grad_norm_([], 1.0)  # an empty list is not a generator: no warning
    with pytest.raises(TypeError, match="foreach"):
        nn.utils.clip_grad_norm_([p], 1.0, foreach="yes")


def test_get_total_norm_and_clip_grads_with_norm():
    rng = np.random.default_rng(3)
    ours, theirs = pair(rng)
    total = nn.utils.get_total_norm([p.grad for p in ours], 3.0)
    ttotal = torch.nn.utils.get_total_norm([t.grad for t in theirs], 3.0)
    close(total, ttotal)
    nn.utils.clip_grads_with_norm_(ours, 0.7, total)
    torch.nn.utils.clip_grads_with_norm_(theirs, 0.7, ttotal)
    for p, t in zip(ours, theirs):
        close(p.grad, t.grad)


@pytest.mark.parametrize("clip_value", [0.5, 2.0, 0])
def test_clip_grad_value_matches_torch(clip_value):
    rng = np.random.default_rng(4)
    ours, theirs = pair(rng, without_grad=(2,))
    ours[0].grad[0, 1] = theirs[0].grad[0, 1] = np.nan
    assert nn.utils.clip_grad_value_(ours, clip_value) is None
    torch.nn.utils.clip_grad_value_(theirs, clip_value)
    for p, t in zip(ours, theirs):
        assert (p.grad is None) == (t.grad is None)
        if p.grad is not None:
            np.testing.assert_array_equal(p.grad, t.grad.numpy())


def test_parameters_to_vector_and_back():
    rng = np.random.default_rng(5)
    ours, theirs = pair(rng)
    v, tv = nn.utils.parameters_to_vector(ours), torch.nn.utils.parameters_to_vector(theirs)
    close(v, tv)
    gv = rng.standard_normal(v.shape)
    v.backward(gv)
    tv.backward(torch.tensor(gv))
    for p, t in zip(ours, theirs):
        close(p.grad, t.grad)
    new = rng.standard_normal(v.shape)
    nn.utils.vector_to_parameters(lucid.Tensor(new), ours)
    torch.nn.utils.vector_to_parameters(torch.tensor(new), theirs)
    for p, t in zip(ours, theirs):
        close(p.data, t)
    with pytest.raises(TypeError, match="expected Tensor"):
        nn.utils.vector_to_parameters(new, ours)
    before = [p.data.copy() for p in ours]
    with pytest.raises(RuntimeError, match="at least 23 elements"):
        nn.utils.vector_to_parameters(lucid.Tensor(new[:5]), ours)
    for p, b in zip(ours, before):
        np.testing.assert_array_equal(p.data, b)
