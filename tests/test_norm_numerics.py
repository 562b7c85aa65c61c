"""Numerics of the norm family: float16/float32, inputs hard for single precision, NaN containment.

References are computed in float64 from the very same (rounded) input, by PyTorch.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import lucid
import lucid.nn as nn
import lucid.nn.functional as F

# name: (lucid call, torch call, input shape, shape of γ and β, has β), training-mode statistics
FAMILY = {
    "batch_norm": (
        lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
        lambda x, w, b: TF.batch_norm(x, None, None, w, b, training=True),
        (6, 3, 5),
        (3,),
        True,
    ),
    "instance_norm": (
        lambda x, w, b: F.instance_norm(x, None, None, w, b),
        lambda x, w, b: TF.instance_norm(x, None, None, w, b),
        (2, 3, 12),
        (3,),
        True,
    ),
    "layer_norm": (
        lambda x, w, b: F.layer_norm(x, (3, 5), w, b),
        lambda x, w, b: TF.layer_norm(x, (3, 5), w, b),
        (4, 3, 5),
        (3, 5),
        True,
    ),
    "group_norm": (
        lambda x, w, b: F.group_norm(x, 3, w, b),
        lambda x, w, b: TF.group_norm(x, 3, w, b),
        (2, 3, 8),
        (3,),
        True,
    ),
    "rms_norm": (
        lambda x, w, b: F.rms_norm(x, 5, w, eps=1e-5),
        lambda x, w, b: TF.rms_norm(x, (5,), w, eps=1e-5),
        (6, 3, 5),
        (5,),
        False,
    ),
}


def affine(name, dtype, rng):
    """γ near 1 and β for member ``name`` (β None for RMSNorm)."""
    _, _, _, shape, has_bias = FAMILY[name]
    w = rng.uniform(0.5, 1.5, shape).astype(dtype)
    return w, (rng.standard_normal(shape).astype(dtype) if has_bias else None)


def lucid_and_reference(name, x, w=None, b=None, grad=True):
    """lucid on ``x`` in its own dtype, and PyTorch float64 on the same values; outputs and input gradients."""
    fn, tfn = FAMILY[name][:2]
    lx = lucid.Tensor(x, requires_grad=grad)
    lw = None if w is None else lucid.Tensor(w, requires_grad=grad)
    lb = None if b is None else lucid.Tensor(b, requires_grad=grad)
    tx = torch.tensor(x.astype(np.float64), requires_grad=grad)
    tw = None if w is None else torch.tensor(w.astype(np.float64), requires_grad=grad)
    tb = None if b is None else torch.tensor(b.astype(np.float64), requires_grad=grad)
    y, ty = fn(lx, lw, lb), tfn(tx, tw, tb)
    out = dict(y=(y.data, ty.detach().numpy()))
    if grad:
        gy = np.random.default_rng(0).standard_normal(y.shape).astype(x.dtype)
        y.backward(gy)
        ty.backward(torch.tensor(gy.astype(np.float64)))
        out["dx"] = (lx.grad, tx.grad.numpy())
        for k, lt, tt in (("dw", lw, tw), ("db", lb, tb)):
            if lt is not None:
                out[k] = (lt.grad, tt.grad.numpy())
    return out


# ---- float16 / float32 ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(FAMILY))
@pytest.mark.parametrize("dtype", [np.float16, np.float32])
def test_low_precision_dtypes(name, dtype):
    shape = FAMILY[name][2]
    rng = np.random.default_rng(1)
    x = (rng.standard_normal(shape) * 3 + 1).astype(dtype)
    res = lucid_and_reference(name, x, *affine(name, dtype, rng))
    for k, (got, ref) in res.items():
        assert got.dtype == dtype, k  # output and every gradient in the dtype of what it belongs to
        # computed in float64 from the same values and rounded once: within one unit of the last place
        ulp = np.finfo(dtype).eps * np.abs(ref).max()
        np.testing.assert_allclose(got.astype(np.float64), ref, rtol=0, atol=ulp, err_msg=k)


@pytest.mark.parametrize(
    "xdtype,pdtype",
    [(np.float16, np.float32), (np.float32, np.float64), (np.float64, np.float32), (np.float64, np.float16)],
)
def test_output_keeps_the_input_dtype_whatever_the_parameters_dtype(xdtype, pdtype):
    rng = np.random.default_rng(2)
    x = lucid.Tensor((rng.standard_normal((4, 3, 2)) + 2).astype(xdtype), requires_grad=True)
    w = lucid.Tensor(rng.uniform(0.5, 1.5, 3).astype(pdtype), requires_grad=True)
    b = lucid.Tensor(rng.standard_normal(3).astype(pdtype), requires_grad=True)
    rm, rv = lucid.Tensor(np.zeros(3, pdtype)), lucid.Tensor(np.ones(3, pdtype))
    for y in (
        F.batch_norm(x, rm, rv, w, b, training=True),
        F.batch_norm(x, rm, rv, w, b),
        F.instance_norm(x, None, None, w, b),
        F.group_norm(x, 3, w, b),
    ):
        assert y.dtype == xdtype
        y.backward(np.ones(y.shape, dtype=xdtype))
        assert x.grad.dtype == xdtype and w.grad.dtype == pdtype and b.grad.dtype == pdtype
    assert rm.dtype == pdtype and rv.dtype == pdtype


@pytest.mark.parametrize(
    "cls,shape",
    [
        ("BatchNorm2d", (2, 3, 2, 2)),
        ("InstanceNorm1d", (3, 5)),
        ("LayerNorm", (2, 3)),
        ("GroupNorm", (2, 3, 2)),
        ("RMSNorm", (2, 3)),
    ],
)
@pytest.mark.parametrize("dtype", [np.float16, np.float32])
def test_modules_in_low_precision(cls, shape, dtype):
    args = (1, 3) if cls == "GroupNorm" else (3,)
    m = getattr(nn, cls)(*args)
    if dtype == np.float16:
        m.half()
    rng = np.random.default_rng(3)
    x = lucid.Tensor((rng.standard_normal(shape) * 2 + 5).astype(dtype), requires_grad=True)
    y = m(x)
    assert y.dtype == dtype
    y.backward(np.ones(shape, dtype))
    assert x.grad.dtype == dtype and m.weight.grad.dtype == dtype
    tm = getattr(torch.nn, cls)(*args, **(dict(affine=True, track_running_stats=True) if "Inst" in cls else {}))
    ty = tm.double()(torch.tensor(x.data.astype(np.float64)))
    np.testing.assert_allclose(
        y.data.astype(np.float64), ty.detach().numpy(), atol=4e-3 if dtype == np.float16 else 4e-6
    )
    if hasattr(m, "running_mean"):
        np.testing.assert_allclose(
            m.running_mean.data, tm.running_mean.numpy(), rtol=2e-3 if dtype == np.float16 else 1e-6
        )


def test_float16_sums_do_not_overflow():
    # 12 values near 60000: their sum (and every square) overflows float16, not float64
    x = np.linspace(59000, 65000, 12).astype(np.float16).reshape(1, 1, 12)
    y = F.instance_norm(lucid.Tensor(x)).data
    ref = TF.instance_norm(torch.tensor(x.astype(np.float64))).numpy()
    assert y.dtype == np.float16 and np.isfinite(y).all()
    np.testing.assert_allclose(y.astype(np.float64), ref, atol=2e-3)


# ---- hard float32 inputs: lucid must match float64 to 1e-5 -----------------------------------------
def hard_inputs(shape):
    rng = np.random.default_rng(4)
    big_mean = (1e6 + 0.1 * rng.standard_normal(shape)).astype(np.float32)
    constant = np.full(shape, 1e7, dtype=np.float32)
    constant[:, 0] = (rng.standard_normal(constant[:, 0].shape)).astype(np.float32)  # one ordinary channel
    huge = (1e30 * (1 + 0.1 * rng.standard_normal(shape))).astype(np.float32)
    return {"mean 1e6 std 0.1": big_mean, "constant 1e7": constant, "near 1e30": huge}


@pytest.mark.parametrize("case", ["mean 1e6 std 0.1", "constant 1e7", "near 1e30"])
@pytest.mark.parametrize("name", list(FAMILY))
def test_hard_float32_inputs_match_float64(name, case):
    shape = FAMILY[name][2]
    x = hard_inputs(shape)[case]
    res = lucid_and_reference(name, x, *affine(name, np.float32, np.random.default_rng(5)), grad=False)
    y, ref = res["y"]
    assert y.dtype == np.float32 and np.isfinite(y).all()
    np.testing.assert_allclose(y.astype(np.float64), ref, rtol=0, atol=1e-5)


@pytest.mark.parametrize("case", ["mean 1e6 std 0.1", "near 1e30"])
def test_hard_float32_inputs_gradients(case):
    """The backward uses the same float64 statistics: its gradient is float64's, rounded once."""
    x = hard_inputs((6, 3, 5))[case]
    res = lucid_and_reference("batch_norm", x, *affine("batch_norm", np.float32, np.random.default_rng(6)))
    for k, (got, ref) in res.items():
        np.testing.assert_allclose(got.astype(np.float64), ref, rtol=1e-5, atol=1e-5 * np.abs(ref).max(), err_msg=k)


def test_hard_inputs_in_eval_with_running_statistics():
    """Eval mode with running statistics of 1e6: the shift happens in float64 too."""
    x = hard_inputs((6, 3, 5))["mean 1e6 std 0.1"]
    m = nn.BatchNorm1d(3, momentum=None)
    m(lucid.Tensor(x))  # momentum None, first batch: the running statistics are the batch's
    m.eval()
    y = m(lucid.Tensor(x)).data
    rm, rv = m.running_mean.data.astype(np.float64), m.running_var.data.astype(np.float64)
    ref = (x.astype(np.float64) - rm[:, None]) / np.sqrt(rv[:, None] + 1e-5)
    np.testing.assert_allclose(y.astype(np.float64), ref, rtol=0, atol=1e-5)


# ---- NaN stays where it is -----------------------------------------------------------------------
NAN_CASES = {
    # name: (call, torch call, shape, where the NaN is, which outputs share a statistic with it)
    "batch_norm": (
        lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
        lambda x, w, b: TF.batch_norm(x, None, None, w, b, training=True),
        (4, 3, 2),
        (1, 1, 0),
        lambda m: m.__setitem__((slice(None), 1), True),
    ),
    "instance_norm": (
        lambda x, w, b: F.instance_norm(x, None, None, w, b),
        lambda x, w, b: TF.instance_norm(x, None, None, w, b),
        (4, 3, 2),
        (1, 1, 0),
        lambda m: m.__setitem__((1, 1), True),
    ),
    "group_norm": (
        lambda x, w, b: F.group_norm(x, 3, w, b),
        lambda x, w, b: TF.group_norm(x, 3, w, b),
        (2, 6, 2),
        (1, 2, 0),
        lambda m: m.__setitem__((1, slice(2, 4)), True),
    ),
    "layer_norm": (
        lambda x, w, b: F.layer_norm(x, 2),
        lambda x, w, b: TF.layer_norm(x, (2,)),
        (4, 3, 2),
        (1, 1, 0),
        lambda m: m.__setitem__((1, 1), True),
    ),
    "rms_norm": (
        lambda x, w, b: F.rms_norm(x, 2),
        lambda x, w, b: TF.rms_norm(x, (2,)),
        (4, 3, 2),
        (1, 1, 0),
        lambda m: m.__setitem__((1, 1), True),
    ),
    "batch_norm_eval": (
        lambda x, w, b: F.batch_norm(x, lucid.Tensor(np.zeros(3)), lucid.Tensor(np.ones(3)), w, b),
        lambda x, w, b: TF.batch_norm(x, torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64), w, b),
        (4, 3, 2),
        (1, 1, 0),
        lambda m: m.__setitem__((1, 1, 0), True),
    ),
}


@pytest.mark.parametrize("name", list(NAN_CASES))
def test_nan_stays_in_its_group(name):
    fn, tfn, shape, where, mark = NAN_CASES[name]
    rng = np.random.default_rng(7)
    x = rng.standard_normal(shape)
    x[where] = np.nan
    C = shape[1]
    w, b = rng.uniform(0.5, 1.5, C), rng.standard_normal(C)
    affine_ok = name in ("batch_norm", "instance_norm", "group_norm", "batch_norm_eval")
    lx = lucid.Tensor(x, requires_grad=True)
    lw, lb = (lucid.Tensor(w, requires_grad=True), lucid.Tensor(b, requires_grad=True)) if affine_ok else (None, None)
    y = fn(lx, lw, lb)
    affected = np.zeros(shape, bool)
    mark(affected)
    np.testing.assert_array_equal(np.isnan(y.data), affected)
    tx = torch.tensor(x, requires_grad=True)
    tw, tb = (torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True)) if affine_ok else (None, None)
    ty = tfn(tx, tw, tb)
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-10, atol=1e-10, equal_nan=True)
    gy = rng.standard_normal(shape)
    y.backward(gy)
    ty.backward(torch.tensor(gy))
    np.testing.assert_array_equal(np.isnan(lx.grad), affected if name != "batch_norm_eval" else np.zeros(shape, bool))
    np.testing.assert_allclose(lx.grad, tx.grad.numpy(), rtol=1e-10, atol=1e-10, equal_nan=True)
    if affine_ok:
        channels = affected.any(axis=(0,) + tuple(range(2, len(shape))))
        np.testing.assert_array_equal(np.isnan(lw.grad), channels)
        np.testing.assert_array_equal(np.isnan(lb.grad), np.zeros(C, bool))
        np.testing.assert_allclose(lw.grad, tw.grad.numpy(), rtol=1e-10, atol=1e-10, equal_nan=True)


@pytest.mark.parametrize("cls,shape", [("BatchNorm1d", (4, 3, 2)), ("InstanceNorm1d", (4, 3, 2))])
def test_nan_stays_in_its_channel_of_the_running_statistics(cls, shape):
    m = getattr(nn, cls)(3).double()
    x = np.random.default_rng(8).standard_normal(shape)
    x[1, 1, 0] = np.nan
    y = m(lucid.Tensor(x))
    assert np.isnan(y.data[:, 0]).sum() == 0 and np.isnan(y.data[:, 2]).sum() == 0
    np.testing.assert_array_equal(np.isnan(m.running_mean.data), [False, True, False])
    np.testing.assert_array_equal(np.isnan(m.running_var.data), [False, True, False])
