"""conv_transpose2d and ConvTranspose2d against PyTorch in float64: output and every gradient to 1e-10."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from compare import close, differential

import lucid
import lucid.nn as nn
import lucid.nn.functional as F
from lucid.autograd import gradcheck

CASES = [  # (N, C_in, H, W), C_out/groups, kernel, kwargs
    ((2, 3, 5, 4), 2, (3, 3), dict()),
    ((2, 4, 4, 5), 3, (2, 3), dict(stride=2)),
    ((1, 2, 3, 3), 2, (3, 2), dict(stride=(2, 3), padding=1, output_padding=(1, 2))),
    ((2, 4, 4, 4), 1, (3, 3), dict(groups=2, dilation=2, padding=(2, 1))),
    ((1, 6, 3, 4), 2, (2, 2), dict(groups=3, stride=3, output_padding=1)),
    ((2, 2, 4, 3), 3, (1, 1), dict(stride=2, dilation=(1, 2), output_padding=(1, 0))),
    ((1, 2, 4, 4), 2, (3, 3), dict(dilation=3, output_padding=2, padding=4)),
]


@pytest.mark.parametrize("shape, cog, kernel, kw", CASES)
@pytest.mark.parametrize("with_bias", [True, False])
def test_conv_transpose2d_matches_torch(shape, cog, kernel, kw, with_bias):
    rng = np.random.default_rng(0)
    groups = kw.get("groups", 1)
    x = rng.standard_normal(shape)
    w = rng.standard_normal((shape[1], cog) + kernel)
    b = rng.standard_normal(cog * groups) if with_bias else None
    differential(
        lambda x, w, b: F.conv_transpose2d(x, w, b, **kw),
        lambda x, w, b: TF.conv_transpose2d(x, w, b, **kw),
        [x, w, b],
        rng,
    )


def test_unbatched_input_and_gradcheck():
    rng = np.random.default_rng(1)
    x, w, b = rng.standard_normal((2, 3, 3)), rng.standard_normal((2, 2, 2, 3)), rng.standard_normal(2)
    differential(
        lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=(0, 1)),
        lambda x, w, b: TF.conv_transpose2d(x, w, b, stride=2, padding=(0, 1)),
        [x, w, b],
        rng,
    )
    xs = [lucid.Tensor(a, requires_grad=True) for a in (x[None], w, b)]
    assert gradcheck(lambda x, w, b: F.conv_transpose2d(x, w, b, stride=(2, 1), output_padding=(1, 0), dilation=2), xs)


def test_conv_transpose_is_the_adjoint_of_conv():
    rng = np.random.default_rng(2)
    x, w = rng.standard_normal((2, 3, 6, 7)), rng.standard_normal((4, 3, 3, 2))
    u = rng.standard_normal((2, 4, 3, 4))
    kw = dict(stride=2, padding=1, dilation=(1, 2))
    conv = TF.conv2d(torch.tensor(x), torch.tensor(w), **kw).numpy()
    assert conv.shape == u.shape
    back = F.conv_transpose2d(lucid.Tensor(u), lucid.Tensor(w), output_padding=(1, 0), **kw).numpy()
    assert back.shape == x.shape
    assert abs((conv * u).sum() - (x * back).sum()) < 1e-10  # <conv x, u> = <x, convᵀ u>


def test_module_matches_torch_and_loads_its_state_dict():
    rng = np.random.default_rng(3)
    torch.manual_seed(0)
    tm = torch.nn.ConvTranspose2d(4, 6, (3, 2), stride=2, padding=1, output_padding=1, groups=2, dilation=1).double()
    m = nn.ConvTranspose2d(4, 6, (3, 2), stride=2, padding=1, output_padding=1, groups=2, dtype="float64")
    assert m.weight.shape == tuple(tm.weight.shape) and m.bias.shape == tuple(tm.bias.shape)
    m.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    x = rng.standard_normal((2, 4, 5, 5))
    close(m(lucid.Tensor(x)), tm(torch.tensor(x)))
    close(m(lucid.Tensor(x), output_size=[10, 9]), tm(torch.tensor(x), output_size=[10, 9]))
    close(m(lucid.Tensor(x), output_size=(2, 6, 9, 8)), tm(torch.tensor(x), output_size=(2, 6, 9, 8)))
    with pytest.raises(ValueError, match="valid sizes range from"):
        m(lucid.Tensor(x), output_size=[12, 9])
    assert repr(m) == repr(tm).replace("torch.nn.", "")


def test_default_initialization_bounds():
    lucid.manual_seed(0)
    m = nn.ConvTranspose2d(8, 4, 3, bias=True)
    bound = 1 / np.sqrt(4 * 9)  # fan_in is weight.size(1)·kH·kW
    assert m.weight.dtype == np.float32 and m.bias is not None
    assert np.abs(m.weight.data).max() <= bound and np.abs(m.weight.data).max() > 0.8 * bound
    assert np.abs(m.bias.data).max() <= bound
    assert nn.ConvTranspose2d(2, 2, 1, bias=False).bias is None


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda x, w: F.conv_transpose2d(x[0, 0], w), RuntimeError, "Expected 3D \\(unbatched\\) or 4D"),
        (lambda x, w: F.conv_transpose2d(x, w[0]), RuntimeError, "4-dimensional weight"),
        (lambda x, w: F.conv_transpose2d(x, w, output_padding=1), RuntimeError, "output padding must be smaller"),
        (lambda x, w: F.conv_transpose2d(x, w, stride=0), RuntimeError, "non-positive stride"),
        (lambda x, w: F.conv_transpose2d(x, w, groups=0), RuntimeError, "non-positive groups"),
        (lambda x, w: F.conv_transpose2d(x, w[:1]), RuntimeError, "to have 1 channels, but got 2 channels"),
        (lambda x, w: F.conv_transpose2d(x, w, padding=3), RuntimeError, "Output size is too small"),
        (lambda x, w: F.conv_transpose2d(x, w, lucid.Tensor(np.ones(2))), RuntimeError, "bias to be 1-dimensional"),
        (lambda x, w: nn.ConvTranspose2d(3, 2, 2), ValueError, None),
        (lambda x, w: nn.ConvTranspose2d(2, 3, 2, groups=2), ValueError, "out_channels must be divisible"),
        (lambda x, w: nn.ConvTranspose2d(2, 2, 2, padding_mode="reflect"), ValueError, "zeros"),
    ],
)
def test_bad_arguments(call, error, message):
    x, w = lucid.Tensor(np.ones((1, 2, 3, 3))), lucid.Tensor(np.ones((2, 3, 2, 2)))
    if message is None:  # a valid construction: no error
        call(x, w)
        return
    with pytest.raises(error, match=message):
        call(x, w)
