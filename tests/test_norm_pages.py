"""Every example of the four reference pages (shared/seeds), run as written, against ERRATA.md's values.

The pages' signatures are the contract; their formulas and printed outputs are not
(ERRATA.md). Each expected value here is ERRATA's, or an independent NumPy float64
computation of ERRATA's formulas.
"""

import doctest

import numpy as np
import pytest

import lucid.nn as nn
import lucid.nn.modules.normalization
from lucid import Tensor

ROWS = [-1.2247, 0.0, 1.2247]


def assert_4_decimals(actual, printed):
    """``actual`` prints as ``printed`` at 4 decimals (within half a unit of the last digit)."""
    actual = np.asarray(actual, dtype=np.float64)
    assert actual.shape == np.shape(printed)
    np.testing.assert_allclose(actual, printed, rtol=0, atol=5e-5 + 1e-7)


def state(m):
    return {k: np.array(v.data, copy=True) for k, v in m.state_dict().items()}


def assert_same_state(m, before):
    after = state(m)
    assert after.keys() == before.keys()
    for k in before:
        np.testing.assert_array_equal(after[k], before[k], err_msg=k)


def assert_printed_like_the_pages(output, values):
    text = str(output)
    assert text.startswith("Tensor(") and text.endswith("grad=None)"), text
    for v in values:
        assert f"{v:.4f}" in text, (v, text)


# ---- BatchNorm1d page ---------------------------------------------------------------------------
def test_batchnorm1d_simple_input():
    input_tensor = Tensor([[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]], requires_grad=True)  # Shape: (1, 2, 3)
    batch_norm = nn.BatchNorm1d(num_features=2)
    output = batch_norm(input_tensor)  # Shape: (1, 2, 3)
    assert output.shape == (1, 2, 3)
    assert_4_decimals(output.data, [[ROWS, ROWS]])
    assert_printed_like_the_pages(output, [-1.2247, 1.2247])

    output.backward(Tensor([[[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]]))
    # ERRATA 3: a gradient of ones gives Σg = M and Σ(g·x̂) = 0, so ∂L/∂x is 0, not ±0.6124
    assert isinstance(input_tensor.grad, np.ndarray)  # printed as a plain array
    np.testing.assert_allclose(input_tensor.grad, np.zeros((1, 2, 3)), atol=1e-6)
    # ERRATA 2: ∂L/∂γ = Σ g·x̂ = 0 and ∂L/∂β = Σ g = 3 per channel
    np.testing.assert_allclose(batch_norm.weight.grad, [0.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(batch_norm.bias.grad, [3.0, 3.0])
    # ERRATA 9: running_var from the unbiased variance (1 for 1, 2, 3), momentum 0.1
    np.testing.assert_allclose(batch_norm.running_mean.data, [0.2, 0.5], rtol=1e-6)
    np.testing.assert_allclose(batch_norm.running_var.data, [1.0, 1.0], rtol=1e-6)
    assert int(batch_norm.num_batches_tracked.data) == 1


class BatchNorm1dModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(in_features=3, out_features=2)
        self.batch_norm = nn.BatchNorm1d(num_features=2)

    def forward(self, x):
        x = self.linear(x)
        x = self.batch_norm(x)
        return x


def test_batchnorm1d_within_a_network():
    model = BatchNorm1dModel()
    input_data = Tensor([[1.0, 2.0, 3.0]], requires_grad=True)  # Shape: (1, 3)
    before = state(model)
    # ERRATA 6: Linear(3, 2) on (1, 3) is (1, 2), one value per channel: no batch statistics
    with pytest.raises(ValueError) as err:
        model(input_data)
    assert str(err.value) == "Expected more than 1 value per channel when training, got input size (1, 2)"
    assert_same_state(model, before)
    assert int(model.batch_norm.num_batches_tracked.data) == 0
    # the same network on a batch of two trains, and in eval a single sample is fine
    output = model(Tensor([[1.0, 2.0, 3.0], [0.0, -1.0, 2.0]], requires_grad=True))
    np.testing.assert_allclose(np.abs(output.data), 1.0, rtol=1e-3)  # two values: ±1/√(1 + ε/σ²)
    output.backward(Tensor([[-1.0, 1.0], [1.0, -1.0]]))
    model.eval()
    assert model(input_data).shape == (1, 2)


# ---- InstanceNorm1d page -------------------------------------------------------------------------
def test_instancenorm1d_simple_input():
    input_tensor = Tensor([[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]], requires_grad=True)  # Shape: (1, 2, 3)
    instance_norm = nn.InstanceNorm1d(num_features=2)
    output = instance_norm(input_tensor)  # Shape: (1, 2, 3)
    assert_4_decimals(output.data, [[ROWS, ROWS]])
    assert_printed_like_the_pages(output, [-1.2247, 1.2247])

    output.backward()  # seeds with ones
    assert isinstance(input_tensor.grad, np.ndarray)
    np.testing.assert_allclose(input_tensor.grad, np.zeros((1, 2, 3)), atol=1e-6)  # ERRATA 3
    np.testing.assert_allclose(instance_norm.running_mean.data, [0.2, 0.5], rtol=1e-6)
    np.testing.assert_allclose(instance_norm.running_var.data, [1.0, 1.0], rtol=1e-6)


class InstanceNorm1dModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(in_features=3, out_features=2)
        self.instance_norm = nn.InstanceNorm1d(num_features=2)

    def forward(self, x):
        x = self.linear(x)
        x = self.instance_norm(x)
        return x


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_instancenorm1d_within_a_network(mode):
    model = getattr(InstanceNorm1dModel(), mode)()
    input_data = Tensor([[1.0, 2.0, 3.0]], requires_grad=True)  # Shape: (1, 3)
    before = state(model)
    # ERRATA 7: (1, 2) is an unbatched (C=1, L=2) input, and C=1 is not num_features=2
    with pytest.raises(ValueError) as err:
        model(input_data)
    assert str(err.value) == "expected input's size at dim=0 to match num_features (2), but got: 1."
    assert_same_state(model, before)


# ---- InstanceNorm2d page -------------------------------------------------------------------------
def test_instancenorm2d_simple_input():
    input_tensor = Tensor(
        [[[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], [[7.0, 8.0, 9.0], [10.0, 11.0, 12.0]]]], requires_grad=True
    )  # Shape: (1, 2, 2, 3)
    instance_norm = nn.InstanceNorm2d(num_features=2)
    output = instance_norm(input_tensor)  # Shape: (1, 2, 2, 3)
    # ERRATA 4: each channel normalizes over its 6 values
    six = np.array([-1.4638, -0.8783, -0.2928, 0.2928, 0.8783, 1.4638]).reshape(2, 3)
    assert_4_decimals(output.data, [[six, six]])
    assert_printed_like_the_pages(output, [-1.4638, -0.8783, -0.2928, 0.2928, 0.8783, 1.4638])

    output.backward()
    np.testing.assert_allclose(input_tensor.grad, np.zeros((1, 2, 2, 3)), atol=1e-6)  # ERRATA 3
    # means 3.5 and 9.5, unbiased variance 3.5 for both
    np.testing.assert_allclose(instance_norm.running_mean.data, [0.35, 0.95], rtol=1e-6)
    np.testing.assert_allclose(instance_norm.running_var.data, [1.25, 1.25], rtol=1e-6)


# ---- InstanceNorm3d page -------------------------------------------------------------------------
def test_instancenorm3d_example_as_printed_is_a_4d_input():
    input_tensor = Tensor(
        [[[[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, 8.0]]]], requires_grad=True
    )  # the page says (1, 2, 2, 2, 2); it is (1, 2, 2, 2)
    assert input_tensor.shape == (1, 2, 2, 2)
    instance_norm = nn.InstanceNorm3d(num_features=2)
    before = state(instance_norm)
    # ERRATA 5: an unbatched (C, D, H, W) volume with C=1, against num_features=2
    with pytest.raises(ValueError) as err:
        instance_norm(input_tensor)
    assert str(err.value) == "expected input's size at dim=0 to match num_features (2), but got: 1."
    assert_same_state(instance_norm, before)


def test_instancenorm3d_correct_5d_example():
    input_tensor = Tensor(np.arange(1.0, 9.0).reshape(1, 1, 2, 2, 2), requires_grad=True)
    instance_norm = nn.InstanceNorm3d(num_features=1)
    output = instance_norm(input_tensor)
    assert output.shape == (1, 1, 2, 2, 2)
    assert_4_decimals(output.data.reshape(-1), [-1.5275, -1.0911, -0.6547, -0.2182, 0.2182, 0.6547, 1.0911, 1.5275])
    output.backward()
    np.testing.assert_allclose(input_tensor.grad, np.zeros((1, 1, 2, 2, 2)), atol=1e-6)
    # the same volume unbatched (C, D, H, W) gives the same values
    unbatched = instance_norm(Tensor(np.arange(1.0, 9.0).reshape(1, 2, 2, 2)))
    np.testing.assert_array_equal(unbatched.data, output.data[0])


# ---- ERRATA 1, 2: the gradients, against the corrected formulas in NumPy float64 -----------------
def errata_gradients(x, g, gamma, axes, eps):
    """ERRATA 1 and 2: ∂L/∂x = γ·rstd/M·(M·g − Σg − x̂·Σ(g·x̂)), ∂L/∂γ = Σ g·x̂, ∂L/∂β = Σ g."""
    M = np.prod([x.shape[a] for a in axes])
    mu = x.mean(axis=axes, keepdims=True)
    rstd = 1 / np.sqrt(((x - mu) ** 2).mean(axis=axes, keepdims=True) + eps)
    xhat = (x - mu) * rstd
    gam = gamma.reshape(1, -1, *([1] * (x.ndim - 2)))
    dx = gam * rstd / M * (M * g - g.sum(axis=axes, keepdims=True) - xhat * (g * xhat).sum(axis=axes, keepdims=True))
    channel_axes = (0,) + tuple(range(2, x.ndim))
    return dx, (g * xhat).sum(axis=channel_axes), g.sum(axis=channel_axes)


@pytest.mark.parametrize(
    "cls,shape,axes",
    [
        ("BatchNorm1d", (4, 3, 5), (0, 2)),
        ("BatchNorm1d", (6, 3), (0,)),
        ("InstanceNorm1d", (4, 3, 5), (2,)),
        ("InstanceNorm2d", (2, 3, 2, 3), (2, 3)),
        ("InstanceNorm3d", (2, 3, 2, 2, 2), (2, 3, 4)),
    ],
)
def test_training_gradients_are_errata_formulas(cls, shape, axes):
    rng = np.random.default_rng(0)
    x, g = rng.standard_normal(shape) * 3 + 2, rng.standard_normal(shape)
    m = getattr(nn, cls)(3).double()
    m.weight.data[...] = [0.5, 2.0, -1.5]
    m.bias.data[...] = [0.1, 0.2, 0.3]
    xt = Tensor(x, requires_grad=True)
    m(xt).backward(g)
    dx, dgamma, dbeta = errata_gradients(x, g, m.weight.data, axes, m.eps)
    np.testing.assert_allclose(xt.grad, dx, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(m.weight.grad, dgamma, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(m.bias.grad, dbeta, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("cls,shape", [("BatchNorm1d", (4, 3, 5)), ("InstanceNorm2d", (2, 3, 2, 3))])
def test_eval_gradient_is_errata_formula(cls, shape):
    """ERRATA 1, eval mode with running statistics: ∂L/∂x = g·γ/√(running_var + ε)."""
    rng = np.random.default_rng(1)
    x, g = rng.standard_normal(shape), rng.standard_normal(shape)
    m = getattr(nn, cls)(3).double().eval()
    m.weight.data[...] = [0.5, 2.0, -1.5]
    m.running_mean.data[...] = [0.3, -1.0, 2.0]
    m.running_var.data[...] = [0.5, 4.0, 1.5]
    xt = Tensor(x, requires_grad=True)
    m(xt).backward(g)
    b = (1, 3) + (1,) * (len(shape) - 2)
    scale = (m.weight.data / np.sqrt(m.running_var.data + m.eps)).reshape(b)
    np.testing.assert_allclose(xt.grad, g * scale, rtol=1e-12)
    xhat = (x - m.running_mean.data.reshape(b)) / np.sqrt(m.running_var.data.reshape(b) + m.eps)
    axes = (0,) + tuple(range(2, len(shape)))
    np.testing.assert_allclose(m.weight.grad, (g * xhat).sum(axis=axes), rtol=1e-10)
    np.testing.assert_allclose(m.bias.grad, g.sum(axis=axes), rtol=1e-10)


# ---- the examples in lucid's own docstrings run and print what they show -----------------------
def test_docstring_examples():
    result = doctest.testmod(lucid.nn.modules.normalization, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
