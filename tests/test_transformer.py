"""TransformerEncoderLayer and TransformerEncoder: a PyTorch state dict loads and gives the same output and
gradients to 1e-10 (norm_first both ways, batch_first both ways, masks); lucid's norm choice (RMSNorm, none);
the positional encoding."""

import math

import numpy as np
import pytest
import torch
from compare import close

import lucid
import lucid.nn as nn

D, H, FF = 8, 2, 16


def twin_layer(norm_first, batch_first, activation="relu"):
    kw = dict(dim_feedforward=FF, dropout=0.0, activation=activation, batch_first=batch_first, norm_first=norm_first)
    theirs = torch.nn.TransformerEncoderLayer(D, H, dtype=torch.float64, **kw)
    ours = nn.TransformerEncoderLayer(D, H, dtype=lucid.float64, **kw)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    return ours, theirs


def run_both(ours, theirs, x, rng, **masks):
    """Output, input gradient and every parameter's gradient, lucid against PyTorch."""
    lx, tx = lucid.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    to_l = {k: lucid.tensor(v) for k, v in masks.items()}
    to_t = {k: torch.tensor(v) for k, v in masks.items()}
    ly, ty = ours(lx, **to_l), theirs(tx, **to_t)
    close(ly, ty)
    g = rng.standard_normal(ly.shape)
    ly.backward(g)
    ty.backward(torch.tensor(g))
    close(lx.grad, tx.grad)
    for (name, p), (tname, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert name == tname
        close(p.grad, tp.grad)


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
def test_encoder_layer_loads_pytorch_state_dict(norm_first, batch_first, rng):
    ours, theirs = twin_layer(norm_first, batch_first)
    x = rng.standard_normal((2, 5, D) if batch_first else (5, 2, D))
    run_both(ours, theirs, x, rng)


@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_layer_masks_and_gelu(norm_first, rng):
    ours, theirs = twin_layer(norm_first, True, activation="gelu")
    x = rng.standard_normal((2, 5, D))
    pad = np.zeros((2, 5), bool)
    pad[0, 3:] = True
    run_both(ours, theirs, x, rng, src_mask=np.triu(np.ones((5, 5), bool), 1), src_key_padding_mask=pad)
    run_both(ours, theirs, x, rng, src_mask=np.triu(np.full((5, 5), -np.inf), 1))


def test_encoder_layer_eval_mode(rng):
    ours, theirs = twin_layer(True, True)
    ours.eval()
    theirs.eval()
    x = rng.standard_normal((2, 5, D))
    with torch.no_grad():
        expected = theirs(torch.tensor(x))
    close(ours(lucid.tensor(x)), expected)


@pytest.mark.parametrize("final_norm", ["layer", "rms", None])
def test_encoder_stack_with_final_norm(final_norm, rng):
    layer_t = torch.nn.TransformerEncoderLayer(
        D, H, FF, dropout=0.0, batch_first=True, norm_first=True, dtype=torch.float64
    )
    layer_l = nn.TransformerEncoderLayer(D, H, FF, dropout=0.0, batch_first=True, norm_first=True, dtype=lucid.float64)
    norm_t = {
        "layer": torch.nn.LayerNorm(D, dtype=torch.float64),
        "rms": torch.nn.RMSNorm(D, dtype=torch.float64),
        None: None,
    }[final_norm]
    norm_l = {"layer": nn.LayerNorm(D, dtype=lucid.float64), "rms": nn.RMSNorm(D, dtype=lucid.float64), None: None}[
        final_norm
    ]
    theirs = torch.nn.TransformerEncoder(layer_t, 2, norm=norm_t, enable_nested_tensor=False)
    ours = nn.TransformerEncoder(layer_l, 2, norm=norm_l)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    assert ours.layers[0].linear1.weight is not ours.layers[1].linear1.weight
    x = rng.standard_normal((2, 5, D))
    mask = np.triu(np.full((5, 5), -np.inf), 1)
    lx, tx = lucid.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ly = ours(lx, mask=lucid.tensor(mask), is_causal=True)
    ty = theirs(tx, mask=torch.tensor(mask), is_causal=True)
    close(ly, ty)
    g = rng.standard_normal(ly.shape)
    ly.backward(g)
    ty.backward(torch.tensor(g))
    close(lx.grad, tx.grad)
    for p, tp in zip(ours.parameters(), theirs.parameters()):
        close(p.grad, tp.grad)


def test_rms_and_no_norm_variants_are_what_they_say(rng):
    rms = nn.TransformerEncoderLayer(
        D, H, FF, dropout=0.0, batch_first=True, norm_first=True, dtype=lucid.float64, norm="rms"
    )
    assert isinstance(rms.norm1, nn.RMSNorm) and rms.norm1.eps == 1e-5
    bare = nn.TransformerEncoderLayer(
        D, H, FF, dropout=0.0, batch_first=True, norm_first=True, dtype=lucid.float64, norm=None
    )
    assert isinstance(bare.norm1, nn.Identity) and not any("norm" in k for k in bare.state_dict())
    x = lucid.tensor(rng.standard_normal((2, 3, D)), requires_grad=True)
    assert lucid.autograd.gradcheck(rms, (x,))
    with pytest.raises(ValueError, match="norm must be"):
        nn.TransformerEncoderLayer(D, H, norm="batch")
    with pytest.raises(RuntimeError, match="relu/gelu"):
        nn.TransformerEncoderLayer(D, H, activation="tanh")


def test_encoder_layer_gradcheck(rng):
    layer = nn.TransformerEncoderLayer(D, H, FF, dropout=0.0, batch_first=True, dtype=lucid.float64)
    x = lucid.tensor(rng.standard_normal((1, 3, D)), requires_grad=True)
    mask = nn.generate_square_subsequent_mask(3, dtype=lucid.float64)
    assert lucid.autograd.gradcheck(lambda t: layer(t, src_mask=mask), (x,))


def test_sinusoidal_positional_encoding():
    pe = nn.sinusoidal_positional_encoding(7, 6, dtype=lucid.float64).data
    assert pe.shape == (7, 6)
    for t in range(7):
        for i in range(3):
            angle = t / 10000 ** (2 * i / 6)
            assert pe[t, 2 * i] == pytest.approx(math.sin(angle), abs=1e-15)
            assert pe[t, 2 * i + 1] == pytest.approx(math.cos(angle), abs=1e-15)
    assert nn.sinusoidal_positional_encoding(4, 5).shape == (4, 5)  # odd width: the last column is a sine


def test_square_subsequent_mask_matches_pytorch():
    close(
        nn.generate_square_subsequent_mask(4, dtype=lucid.float64),
        torch.nn.Transformer.generate_square_subsequent_mask(4, dtype=torch.float64),
    )
