"""scaled_dot_product_attention and MultiheadAttention against PyTorch in float64 (1e-10): outputs, the
gradient of every input and parameter, masks of every kind (rows with every key masked included), and
finite differences."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from compare import close, differential

import lucid
import lucid.nn as nn
import lucid.nn.functional as F

TOL = dict(rtol=1e-10, atol=1e-10)


def qkv(rng, batch=(2, 3), L=4, S=5, E=6, Ev=3):
    return [
        rng.standard_normal(batch + (L, E)),
        rng.standard_normal(batch + (S, E)),
        rng.standard_normal(batch + (S, Ev)),
    ]


def sdpa_check(rng, arrays, diff=None, **kw):
    """lucid against PyTorch (outputs and gradients), then finite differences; ``kw`` goes to both."""
    differential(
        lambda *t: F.scaled_dot_product_attention(*t, **kw),
        lambda *t: TF.scaled_dot_product_attention(*t, **kw),
        arrays,
        rng,
        diff,
    )
    if diff is None:
        diff = [a is not None and np.asarray(a).dtype == np.float64 for a in arrays]
    ts = [None if a is None else lucid.tensor(a, requires_grad=d) for a, d in zip(arrays, diff)]
    assert lucid.autograd.gradcheck(lambda *t: F.scaled_dot_product_attention(*t, **kw), ts)


def test_sdpa_plain_and_scaled(rng):
    sdpa_check(rng, qkv(rng))
    sdpa_check(rng, qkv(rng, batch=(2,)), scale=0.3)


def test_sdpa_broadcasts_batch_dimensions(rng):
    q, k, v = qkv(rng)
    sdpa_check(rng, [q, k[:1], v[:1]])


def test_sdpa_float_mask_gets_its_gradient(rng):
    q, k, v = qkv(rng)
    mask = rng.standard_normal((4, 5))
    sdpa_check(rng, [q, k, v, mask])


def test_sdpa_bool_mask(rng):
    q, k, v = qkv(rng)
    mask = rng.random((2, 1, 4, 5)) < 0.6
    mask[..., 0] = True
    sdpa_check(rng, [q, k, v, mask], diff=[True, True, True, False])


@pytest.mark.parametrize("L,S", [(4, 4), (3, 5), (5, 3)])
def test_sdpa_causal(L, S, rng):
    sdpa_check(rng, qkv(rng, L=L, S=S), is_causal=True)


def test_sdpa_rows_with_every_key_masked(rng):
    q, k, v = qkv(rng)
    bool_mask = rng.random((4, 5)) < 0.6
    bool_mask[1] = False  # query 1 may look at nothing
    sdpa_check(rng, [q, k, v, bool_mask], diff=[True, True, True, False])
    float_mask = np.where(bool_mask, 0.0, -np.inf)
    sdpa_check(rng, [q, k, v, float_mask], diff=[True, True, True, False])
    y = F.scaled_dot_product_attention(*[lucid.tensor(a) for a in (q, k, v)], attn_mask=lucid.tensor(bool_mask))
    assert not np.isnan(y.data).any()


def test_sdpa_large_scores_do_not_overflow(rng):
    q, k, v = qkv(rng)
    differential(
        lambda *t: F.scaled_dot_product_attention(*t),
        lambda *t: TF.scaled_dot_product_attention(*t),
        [q * 300, k * 300, v],
        rng,
    )


def test_sdpa_nan_propagates(rng):
    q, k, v = qkv(rng)
    q[0, 0, 1, 2] = np.nan
    y = F.scaled_dot_product_attention(*[lucid.tensor(a) for a in (q, k, v)]).data
    assert np.isnan(y[0, 0, 1]).all() and not np.isnan(np.delete(y[0, 0], 1, axis=0)).any()


def test_sdpa_dropout(rng):
    q, k, v = [lucid.tensor(a, requires_grad=True) for a in qkv(rng)]

    def f(*t):
        lucid.manual_seed(3)  # the same dropout mask on every call
        return F.scaled_dot_product_attention(*t, dropout_p=0.4)

    assert lucid.autograd.gradcheck(f, (q, k, v))
    lucid.manual_seed(4)
    w = F.attention.attention(q, k, v, dropout_p=0.4)[1].data
    kept = w != 0
    assert 0.45 < kept.mean() < 0.75  # 60% kept, on 120 weights
    np.testing.assert_allclose(F.scaled_dot_product_attention(q, k, v, dropout_p=1.0).data, 0)


def test_sdpa_errors(rng):
    q, k, v = [lucid.tensor(a) for a in qkv(rng)]
    with pytest.raises(RuntimeError, match="should not be set when is_causal"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=lucid.ones(4, 5).bool(), is_causal=True)
    with pytest.raises(RuntimeError, match=r"\(\.\.\., S, Ev\)"):
        F.scaled_dot_product_attention(q, k, q)
    with pytest.raises(RuntimeError, match="same floating dtype"):
        F.scaled_dot_product_attention(q, k.float(), v)
    with pytest.raises(RuntimeError, match="does not broadcast to the scores"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=lucid.ones(5, 4).bool())
    with pytest.raises(RuntimeError, match="attn_mask dtype"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=lucid.ones(4, 5).long())


# ---- MultiheadAttention -----------------------------------------------------------------------------
def twin_mha(batch_first, bias=True, E=8, H=2):
    theirs = torch.nn.MultiheadAttention(E, H, bias=bias, batch_first=batch_first, dtype=torch.float64)
    ours = nn.MultiheadAttention(E, H, bias=bias, batch_first=batch_first, dtype=lucid.float64)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    return ours, theirs


def mha_check(ours, theirs, arrays, rng, self_attention, **kw):
    """Outputs (and weights) and the gradients of the inputs and of every parameter, lucid against PyTorch."""
    ls = [lucid.tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    lq, lk, lv = (ls[0], ls[0], ls[0]) if self_attention else ls
    tq, tk, tv = (ts[0], ts[0], ts[0]) if self_attention else ts
    to_l = {k: lucid.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    to_t = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    (ly, lw), (ty, tw) = ours(lq, lk, lv, **to_l), theirs(tq, tk, tv, **to_t)
    close(ly, ty)
    assert (lw is None) == (tw is None)
    if lw is not None:
        close(lw, tw)
    gy = rng.standard_normal(ly.shape)
    loss_l, loss_t = (ly * lucid.tensor(gy)).sum(), (ty * torch.tensor(gy)).sum()
    if lw is not None:
        gw = rng.standard_normal(lw.shape)
        loss_l, loss_t = loss_l + (lw * lucid.tensor(gw)).sum(), loss_t + (tw * torch.tensor(gw)).sum()
    loss_l.backward()
    loss_t.backward()
    for l, t in zip(ls, ts):
        close(l.grad, t.grad)
    for (name, p), (_, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        close(p.grad, tp.grad)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("need_weights,average", [(False, True), (True, True), (True, False)])
def test_mha_self_attention(batch_first, need_weights, average, rng):
    ours, theirs = twin_mha(batch_first)
    shape = (2, 5, 8) if batch_first else (5, 2, 8)
    mha_check(
        ours, theirs, [rng.standard_normal(shape)], rng, True, need_weights=need_weights, average_attn_weights=average
    )


@pytest.mark.parametrize("bias", [True, False])
def test_mha_cross_attention_and_masks(bias, rng):
    ours, theirs = twin_mha(True, bias=bias)
    q, k, v = rng.standard_normal((2, 4, 8)), rng.standard_normal((2, 6, 8)), rng.standard_normal((2, 6, 8))
    attn_mask = rng.random((4, 6)) < 0.3  # True: may not attend
    attn_mask[:, 0] = False
    pad = np.zeros((2, 6), bool)
    pad[1, 4:] = True
    mha_check(ours, theirs, [q, k, v], rng, False, attn_mask=attn_mask, key_padding_mask=pad)
    mha_check(ours, theirs, [q, k, v], rng, False, attn_mask=rng.standard_normal((2 * 2, 4, 6)), need_weights=False)


def test_mha_rows_with_every_key_masked(rng):
    ours, theirs = twin_mha(True)
    x = rng.standard_normal((2, 5, 8))
    pad = np.zeros((2, 5), bool)
    pad[0] = True  # the first sequence is all padding
    mha_check(ours, theirs, [x], rng, True, key_padding_mask=pad, need_weights=False)


def test_mha_weights_of_rows_with_every_key_masked_are_zero(rng):
    ours, _ = twin_mha(True)
    x = lucid.tensor(rng.standard_normal((2, 5, 8)))
    pad = np.zeros((2, 5), bool)
    pad[0] = True
    y, w = ours(x, x, x, key_padding_mask=lucid.tensor(pad))
    assert not np.isnan(y.data).any()
    np.testing.assert_array_equal(w.data[0], 0)
    np.testing.assert_allclose(w.data[1].sum(-1), 1, **TOL)


def test_mha_unbatched(rng):
    ours, theirs = twin_mha(False)
    mha_check(ours, theirs, [rng.standard_normal((5, 8))], rng, True)


def test_mha_checks():
    with pytest.raises(AssertionError, match="divisible"):
        nn.MultiheadAttention(10, 3)
    m = nn.MultiheadAttention(8, 2)
    with pytest.raises(AssertionError, match="embedding dimension of 8"):
        m(lucid.ones(3, 2, 6), lucid.ones(3, 2, 6), lucid.ones(3, 2, 6))
    x = lucid.ones(3, 2, 8)
    with pytest.raises(RuntimeError, match=r"expected a 2D mask of shape \(3, 3\)"):
        m(x, x, x, attn_mask=lucid.ones(3, 4))
    with pytest.raises(RuntimeError, match="key_padding_mask of shape"):
        m(x, x, x, key_padding_mask=lucid.ones(3, 2).bool())


@pytest.mark.parametrize("L, S", [(0, 0), (3, 0), (0, 3)])
def test_attention_with_no_queries_or_no_keys_is_empty_or_zero_like_torch(L, S):
    """No keys: each query's weights are an empty softmax and its output 0; no queries: an empty output."""
    rng = np.random.default_rng(0)
    q, k, v = rng.standard_normal((1, 2, L, 4)), rng.standard_normal((1, 2, S, 4)), rng.standard_normal((1, 2, S, 4))
    ours = [lucid.tensor(a, requires_grad=True) for a in (q, k, v)]
    theirs = [torch.tensor(a, requires_grad=True) for a in (q, k, v)]
    y = F.scaled_dot_product_attention(*ours)
    yt = TF.scaled_dot_product_attention(*theirs)
    y.sum().backward()
    yt.sum().backward()
    np.testing.assert_array_equal(y.numpy(), yt.detach().numpy())
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a.grad, b.grad.numpy())
