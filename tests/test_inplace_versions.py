"""Version counters: a backward never runs on a tensor changed in place since its forward.

The table below has one entry (or more) for every Function in lucid; each entry is run
in lucid and in PyTorch, and every tensor input and the output is changed in place
between forward and backward. lucid must raise exactly where PyTorch raises, with the
same versions in the message, and where neither raises, lucid's gradients must be
those of an unchanged run: nothing silently wrong.
"""

import importlib
import pkgutil
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import lucid
import lucid.nn.functional as LF
from lucid.autograd import Function
from lucid.nn.functional.conv import pad_mode
from lucid.nn.functional.sync_batch_norm import sync_batch_norm
from lucid.nn.parallel.distributed import _SyncAfterBackward

rng = np.random.default_rng(0)


def R(*shape, low=-2.0, high=2.0):
    return rng.uniform(low, high, shape)


def P(*shape):  # positive values: log, sqrt, division, pow bases
    return rng.uniform(0.5, 2.0, shape)


def probs(n, c):
    p = rng.uniform(0.1, 1.0, (n, c))
    return p / p.sum(1, keepdims=True)


class Fixed:
    """An input that does not require grad (PyTorch refuses gradients for loss weights)."""

    def __init__(self, a):
        self.a = a


def arr(x):
    return x.a if isinstance(x, Fixed) else x


def lib_pad(L, F, x, pads, mode):
    if L is lucid:
        return pad_mode(x, tuple(zip(pads[::2], pads[1::2]))[::-1], mode)
    return F.pad(x, pads, mode=mode)


def sync_bn(L, F, x, w, b):  # lucid's SyncBatchNorm in a group of one; PyTorch's batch norm, its one-rank equal
    if L is lucid:
        return sync_batch_norm(x, None, None, w, b, group=lucid.distributed.ProcessGroup(None, 0, 1, "single"))
    return F.batch_norm(x, None, None, w, b, training=True)


class _NoDDP:  # what _SyncAfterBackward asks of DistributedDataParallel, without one
    def _queue_sync(self):
        pass


def ddp_output(L, a):  # DistributedDataParallel's identity on the model's output; PyTorch's identity
    return _SyncAfterBackward.apply(a, ddp=_NoDDP()) if L is lucid else a.view_as(a)


class Scaled:  # a module with full backward (pre-)hooks: its input and output pass through identity Functions
    def __init__(self, L):
        self.m = _Twice() if L is lucid else _TorchTwice()
        self.m.register_full_backward_pre_hook(lambda m, g: None)
        self.m.register_full_backward_hook(lambda m, gi, go: None)


class _Twice(lucid.nn.Module):
    def forward(self, x):
        return x * 2.0


class _TorchTwice(torch.nn.Module):
    def forward(self, x):
        return x * 2.0


def hooked(L, x):
    return Scaled(L).m(x)


IDX = np.array([[0, 3], [2, 1], [3, 3]])  # gather / scatter_add along dim 1 of (3, 4): values < 4

# (Function, label, forward(L, F, *tensors), input arrays, output is a view of an input)
CASES = [
    ("Add", "a + b", lambda L, F, a, b: a + b, [R(3, 4), R(3, 4)], False),
    ("Sub", "a - b", lambda L, F, a, b: a - b, [R(3, 4), R(4)], False),
    ("Mul", "a * b", lambda L, F, a, b: a * b, [R(3, 4), R(3, 4)], False),
    ("Mul", "a * 3", lambda L, F, a: a * 3.0, [R(3, 4)], False),
    ("Div", "a / b", lambda L, F, a, b: a / b, [R(3, 4), P(3, 4)], False),
    ("Div", "a / 3", lambda L, F, a: a / 3.0, [R(3, 4)], False),
    ("Pow", "a ** b", lambda L, F, a, b: a**b, [P(3, 4), R(3, 4)], False),
    ("Pow", "a ** 3", lambda L, F, a: a**3.0, [R(3, 4)], False),
    ("Pow", "2 ** b", lambda L, F, b: 2.0**b, [R(3, 4)], False),
    ("Neg", "-a", lambda L, F, a: -a, [R(3, 4)], False),
    ("Exp", "exp", lambda L, F, a: a.exp(), [R(3, 4)], False),
    ("Log", "log", lambda L, F, a: a.log(), [P(3, 4)], False),
    ("Sqrt", "sqrt", lambda L, F, a: a.sqrt(), [P(3, 4)], False),
    ("Rsqrt", "rsqrt", lambda L, F, a: a.rsqrt(), [P(3, 4)], False),
    ("Abs", "abs", lambda L, F, a: a.abs(), [R(3, 4)], False),
    (
        "Clip",
        "clamp(a, lo, hi)",
        lambda L, F, a, lo, hi: L.clamp(a, lo, hi),
        [R(3, 4), R(3, 4) - 1, R(3, 4) + 1],
        False,
    ),
    ("Clip", "clamp(a, -1, 1)", lambda L, F, a: L.clamp(a, -1.0, 1.0), [R(3, 4)], False),
    ("Tanh", "tanh", lambda L, F, a: a.tanh(), [R(3, 4)], False),
    ("Sigmoid", "sigmoid", lambda L, F, a: a.sigmoid(), [R(3, 4)], False),
    ("Relu", "relu", lambda L, F, a: a.relu(), [R(3, 4)], False),
    ("Maximum", "maximum", lambda L, F, a, b: L.maximum(a, b), [R(3, 4), R(3, 4)], False),
    ("Minimum", "minimum", lambda L, F, a, b: L.minimum(a, b), [R(3, 4), R(3, 4)], False),
    ("Where", "where", lambda L, F, a, b: L.where(a > 0, a, b), [R(3, 4), R(3, 4)], False),
    ("AsType", "float()", lambda L, F, a: a.float(), [R(3, 4)], False),
    ("Clone", "clone", lambda L, F, a: a.clone(), [R(3, 4)], False),
    ("MatMul", "a @ b", lambda L, F, a, b: a @ b, [R(3, 4), R(4, 2)], False),
    ("Sum", "sum(1)", lambda L, F, a: a.sum(1), [R(3, 4)], False),
    ("Mean", "mean(1)", lambda L, F, a: a.mean(1), [R(3, 4)], False),
    ("Var", "var(1)", lambda L, F, a: a.var(1), [R(3, 4)], False),
    ("Std", "std(1)", lambda L, F, a: a.std(1), [R(3, 4)], False),
    ("MaxMin", "max()", lambda L, F, a: a.max(), [R(3, 4)], False),
    ("MaxMin", "max(1)", lambda L, F, a: a.max(1)[0], [R(3, 4)], False),
    ("Reshape", "reshape", lambda L, F, a: a.reshape(12), [R(3, 4)], True),
    ("Permute", "permute", lambda L, F, a: a.permute(1, 0), [R(3, 4)], True),
    ("Expand", "expand", lambda L, F, a: a.expand(3, 4), [R(3, 1)], True),
    ("GetItem", "a[1:]", lambda L, F, a: a[1:], [R(3, 4)], True),
    ("Cat", "cat", lambda L, F, a, b: L.cat([a, b], 0), [R(3, 4), R(2, 4)], False),
    ("Stack", "stack", lambda L, F, a, b: L.stack([a, b], 0), [R(3, 4), R(3, 4)], False),
    ("Split", "split", lambda L, F, a: a.split(2)[0], [R(3, 4)], True),
    ("Pad", "pad constant", lambda L, F, a: (L.pad if L is lucid else F.pad)(a, (1, 2)), [R(3, 4)], False),
    (
        "Pad",
        "pad reflect",
        lambda L, F, a: (L.pad if L is lucid else F.pad)(a, (1, 2), mode="reflect"),
        [R(2, 3, 4)],
        False,
    ),
    ("ConvNd", "conv2d", lambda L, F, x, w, b: F.conv2d(x, w, b), [R(1, 2, 5, 5), R(3, 2, 3, 3), R(3)], False),
    ("ModePad", "reflect padding", lambda L, F, x: lib_pad(L, F, x, (1, 1, 2, 1), "reflect"), [R(1, 2, 4, 4)], False),
    ("ModePad", "circular padding", lambda L, F, x: lib_pad(L, F, x, (1, 1, 2, 1), "circular"), [R(1, 2, 4, 4)], False),
    ("MaxPoolNd", "max_pool2d", lambda L, F, x: F.max_pool2d(x, 2), [R(1, 2, 4, 4)], False),
    ("AvgPoolNd", "avg_pool2d", lambda L, F, x: F.avg_pool2d(x, 2), [R(1, 2, 4, 4)], False),
    ("AdaptiveAvgPoolNd", "adaptive_avg_pool2d", lambda L, F, x: F.adaptive_avg_pool2d(x, 3), [R(1, 2, 5, 5)], False),
    ("LeakyRelu", "leaky_relu", lambda L, F, x: F.leaky_relu(x, 0.1), [R(3, 4)], False),
    ("Gelu", "gelu", lambda L, F, x: F.gelu(x), [R(3, 4)], False),
    ("GeluTanh", "gelu tanh", lambda L, F, x: F.gelu(x, approximate="tanh"), [R(3, 4)], False),
    ("Silu", "silu", lambda L, F, x: F.silu(x), [R(3, 4)], False),
    ("Softmax", "softmax", lambda L, F, x: F.softmax(x, 1), [R(3, 4)], False),
    ("LogSoftmax", "log_softmax", lambda L, F, x: F.log_softmax(x, 1), [R(3, 4)], False),
    ("MSELoss", "mse_loss", lambda L, F, a, b: F.mse_loss(a, b), [R(3, 4), R(3, 4)], False),
    ("L1Loss", "l1_loss", lambda L, F, a, b: F.l1_loss(a, b), [R(3, 4), R(3, 4)], False),
    (
        "CrossEntropy",
        "cross_entropy, probabilities",
        lambda L, F, x, t: F.cross_entropy(x, t),
        [R(3, 4), probs(3, 4)],
        False,
    ),
    (
        "NLLLoss",
        "nll_loss",
        lambda L, F, x, t, w: F.nll_loss(x, t, weight=w),
        [R(3, 4), np.array([0, 3, 1]), Fixed(P(4))],
        False,
    ),
    (
        "BCEWithLogits",
        "bce_with_logits",
        lambda L, F, x, t, w, pw: F.binary_cross_entropy_with_logits(x, t, weight=w, pos_weight=pw),
        [R(3, 4), Fixed(rng.uniform(0, 1, (3, 4))), Fixed(P(3, 4)), Fixed(P(4))],
        False,
    ),
    (
        "BinaryCrossEntropy",
        "binary_cross_entropy",
        lambda L, F, x, t, w: F.binary_cross_entropy(x, t, weight=w),
        [rng.uniform(0, 1, (3, 4)), rng.uniform(0, 1, (3, 4)), Fixed(P(4))],
        False,
    ),
    ("SmoothL1Loss", "smooth_l1_loss", lambda L, F, a, b: F.smooth_l1_loss(a, b, beta=0.5), [R(3, 4), R(3, 4)], False),
    (
        "HuberLoss",
        "huber_loss, weighted",
        lambda L, F, a, b, w: F.huber_loss(a, b, delta=0.5, weight=w),
        [R(3, 4), R(3, 4), P(3, 4)],
        False,
    ),
    ("KLDiv", "kl_div", lambda L, F, x, t: F.kl_div(x, t, reduction="batchmean"), [R(3, 4), probs(3, 4)], False),
    (
        "KLDiv",
        "kl_div, fixed target",
        lambda L, F, x, t: F.kl_div(x, t, reduction="batchmean"),
        [R(3, 4), Fixed(probs(3, 4))],
        False,
    ),
    (
        "KLDiv",
        "kl_div, log_target",
        lambda L, F, x, t: F.kl_div(x, t, reduction="sum", log_target=True),
        [R(3, 4), R(3, 4)],
        False,
    ),
    (
        "SoftMarginLoss",
        "soft_margin_loss",
        lambda L, F, x, t: F.soft_margin_loss(x, t),
        [R(3, 4), Fixed(rng.choice([-1.0, 1.0], (3, 4)))],
        False,
    ),
    ("Embedding", "embedding", lambda L, F, i, w: F.embedding(i, w), [np.array([[0, 2], [3, 2]]), R(4, 3)], False),
    ("Dropout", "dropout p=0", lambda L, F, x: F.dropout(x, 0.0, training=True), [R(3, 4)], False),
    ("Linear", "linear", lambda L, F, x, w, b: F.linear(x, w, b), [R(3, 4), R(2, 4), R(2)], False),
    (
        "_Normalize",
        "batch_norm",
        lambda L, F, x, w, b: F.batch_norm(x, None, None, w, b, training=True),
        [R(4, 3, 2), P(3), R(3)],
        False,
    ),
    ("_Normalize", "group_norm", lambda L, F, x, w, b: F.group_norm(x, 2, w, b), [R(2, 4, 3), P(4), R(4)], False),
    (  # the kernels normalize a contiguous copy; x is still what backward reads
        "_Normalize",
        "batch_norm, non-contiguous input",
        lambda L, F, x, w, b: F.batch_norm(x.transpose(1, 2), None, None, w, b, training=True),
        [R(4, 2, 3), P(3), R(3)],
        False,
    ),
    ("_Normalize", "rms_norm", lambda L, F, x, w: F.rms_norm(x, (4,), w), [R(3, 4), P(4)], False),
    ("Sin", "sin", lambda L, F, a: a.sin(), [R(3, 4)], False),
    ("Log1p", "log1p", lambda L, F, a: a.log1p(), [P(3, 4)], False),
    ("Expm1", "expm1", lambda L, F, a: a.expm1(), [R(3, 4)], False),
    ("_Stepwise", "floor", lambda L, F, a: a.floor(), [R(3, 4)], False),
    ("Remainder", "remainder", lambda L, F, a, b: a % b, [R(3, 4), P(3, 4)], False),
    ("Flip", "flip", lambda L, F, a: a.flip(1), [R(3, 4)], False),
    ("Repeat", "repeat", lambda L, F, a: a.repeat(2, 1), [R(3, 4)], False),
    ("IndexSelect", "index_select", lambda L, F, a, i: L.index_select(a, 1, i), [R(3, 4), np.array([2, 0, 2])], False),
    ("Cos", "cos", lambda L, F, a: a.cos(), [R(3, 4)], False),
    ("Cumsum", "cumsum(1)", lambda L, F, a: a.cumsum(1), [R(3, 4)], False),
    ("Einsum", "einsum ij,jk->ik", lambda L, F, a, b: L.einsum("ij,jk->ik", a, b), [R(3, 4), R(4, 2)], False),
    (
        "Einsum",
        "einsum of three",
        lambda L, F, a, b, c: L.einsum("bij,bjk,k->bi", a, b, c),
        [R(2, 3, 4), R(2, 4, 5), R(5)],
        False,
    ),
    ("Einsum", "einsum ii->i", lambda L, F, a: L.einsum("ii->i", a), [R(3, 3)], False),
    (
        "Baddbmm",
        "baddbmm",
        lambda L, F, c, a, b: L.baddbmm(c, a, b, beta=0.5, alpha=2.0),
        [R(2, 3, 2), R(2, 3, 4), R(2, 4, 2)],
        False,
    ),
    ("Baddbmm", "bmm", lambda L, F, a, b: L.bmm(a, b), [R(2, 3, 4), R(2, 4, 2)], False),
    ("Triangle", "tril", lambda L, F, a: L.tril(a), [R(3, 4)], False),
    ("Triangle", "triu(1)", lambda L, F, a: a.triu(1), [R(2, 3, 4)], False),
    ("MaskedFill", "masked_fill(mask, 0.5)", lambda L, F, a, m: a.masked_fill(m, 0.5), [R(3, 4), R(3, 4) > 0], False),
    (
        "MaskedFill",
        "masked_fill(mask, value)",
        lambda L, F, a, m, v: a.masked_fill(m, v),
        [R(3, 4), R(1, 4) > 0, R()],
        False,
    ),
    ("ScatterAdd", "scatter_add", lambda L, F, a, i, s: L.scatter_add(a, 1, i, s), [R(3, 4), IDX, R(3, 3)], False),
    ("Pick", "sort", lambda L, F, a: L.sort(a, 1)[0], [R(3, 4)], False),
    ("Pick", "topk", lambda L, F, a: L.topk(a, 2, 0)[0], [R(3, 4)], False),
    ("Resize", "interpolate nearest", lambda L, F, x: F.interpolate(x, scale_factor=2), [R(1, 2, 3, 3)], False),
    (
        "Resize",
        "interpolate bilinear",
        lambda L, F, x: F.interpolate(x, size=(5, 4), mode="bilinear"),
        [R(1, 2, 3, 3)],
        False,
    ),
    (
        "ConvTranspose2d",
        "conv_transpose2d",
        lambda L, F, x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1),
        [R(1, 2, 3, 3), R(2, 3, 3, 3), R(3)],
        False,
    ),
    ("_SyncBatchNorm", "sync_batch_norm, one rank", sync_bn, [R(4, 3, 2), P(3), R(3)], False),
    ("_SyncAfterBackward", "DistributedDataParallel output", lambda L, F, a: ddp_output(L, a), [R(3, 4)], True),
    ("_InputsIdentity", "module with backward hooks", lambda L, F, x: hooked(L, x), [R(3, 4)], False),
    ("_OutputsIdentity", "module with backward hooks", lambda L, F, x: hooked(L, x), [R(3, 4)], False),
]

# Where lucid's rule differs from PyTorch's: PyTorch's layer_norm also keeps the bias, its instance_norm
# normalizes a copy of the weight; lucid's one normalization keeps x and γ, for every member.
OTHER_RULE_CASES = [
    ("_Normalize", "layer_norm", lambda L, F, x, w, b: F.layer_norm(x, (4,), w, b), [R(3, 4), P(4), R(4)], False),
    (
        "_Normalize",
        "instance_norm",
        lambda L, F, x, w, b: F.instance_norm(x, weight=w, bias=b),
        [R(2, 3, 4), P(3), R(3)],
        False,
    ),
    # PyTorch's cross_entropy keeps log-probabilities; lucid's fused rows keep the logits (nothing of x's size made)
    (
        "CrossEntropy",
        "cross_entropy, indices",
        lambda L, F, x, t, w: F.cross_entropy(x, t, weight=w),
        [R(3, 4), np.array([0, 3, 1]), Fixed(P(4))],
        False,
    ),
    # PyTorch's logsumexp keeps x and the result; lucid keeps x and its own sums
    ("LogSumExp", "logsumexp(1)", lambda L, F, a: a.logsumexp(1), [R(3, 4)], False),
    # PyTorch's prod keeps x and the result; lucid keeps x (the products of the others come from it)
    ("Prod", "prod(1)", lambda L, F, a: a.prod(1), [R(3, 4)], False),
    # PyTorch's amax keeps x and the result; lucid keeps the mask of the extreme positions
    ("AMaxMin", "amax(1)", lambda L, F, a: a.amax(1), [R(3, 4)], False),
    # PyTorch's gather keeps x (for its size only); lucid keeps the index and x's shape
    ("Gather", "gather", lambda L, F, a, i: L.gather(a, 1, i), [R(3, 4), IDX], False),
    # PyTorch's index_add keeps the source (for its size only); lucid keeps the index
    (
        "IndexAdd",
        "index_add",
        lambda L, F, a, i, s: L.index_add(a, 0, i, s, alpha=2.0),
        [R(3, 4), np.array([2, 0, 2]), R(3, 4)],
        False,
    ),
    # PyTorch's adaptive_max_pool2d keeps x and the indices output; lucid only a copy of the indices
    ("AdaptiveMaxPool2d", "adaptive_max_pool2d", lambda L, F, x: F.adaptive_max_pool2d(x, 3), [R(1, 2, 5, 5)], False),
    # PyTorch's attention keeps scaled copies of q and k (a change of q or k cannot reach it); lucid keeps q, k
    (
        "Attention",
        "scaled_dot_product_attention",
        lambda L, F, q, k, v: F.scaled_dot_product_attention(q, k, v),
        [R(2, 3, 4), R(2, 5, 4), R(2, 5, 3)],
        False,
    ),
    (
        "Attention",
        "scaled_dot_product_attention, float mask",
        lambda L, F, q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m),
        [R(2, 3, 4), R(2, 5, 4), R(2, 5, 3), R(3, 5)],
        False,
    ),
]

# lucid's Functions whose saved tensors are found from save_for_backward instead of declared in ``saves``
# (a user's Function may leave them to be found): none.
INFERRED = set()


def lucid_functions():
    for mod in pkgutil.walk_packages(lucid.__path__, "lucid."):  # every module, those imported lazily too
        if "demo" not in mod.name:
            importlib.import_module(mod.name)
    seen, todo = set(), [Function]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in seen:
                seen.add(sub)
                todo.append(sub)
    return {f for f in seen if f.__module__.startswith("lucid.")}


def test_every_function_is_in_the_table_and_says_what_it_saves():
    names = {f.__name__ for f in lucid_functions()}
    assert len(names) >= 45
    table = {c[0] for c in CASES + OTHER_RULE_CASES}
    assert names <= table, f"not in the table: {sorted(names - table)}"
    for f in lucid_functions():
        assert ("saves" in vars(f)) != (f.__name__ in INFERRED), f.__name__


def _run(lib, fn, arrays, change, seed):
    """Forward, the in-place change (input ``change``, "output" or None), backward: (grads, error text)."""
    F = LF if lib is lucid else TF
    ts = [lib.tensor(arr(a), requires_grad=not isinstance(a, Fixed) and a.dtype.kind == "f") for a in arrays]
    y = fn(lib, F, *ts)
    grad_mode = lucid.no_grad() if lib is lucid else torch.no_grad()
    with grad_mode:
        if change == "output":
            y.copy_(lib.tensor(np.asarray(y.detach().numpy()) * 0.5 + 0.25))
        elif change is not None:
            a = arr(arrays[change])
            new = (a + 1) % a.max() if a.dtype.kind == "i" else ~a if a.dtype.kind == "b" else a * 0.5 + 0.25
            ts[change].copy_(lib.tensor(new))
    try:
        y.backward(lib.tensor(seed))
    except RuntimeError as e:
        return None, str(e)
    grads = [None if t.grad is None else np.asarray(t.grad) for t in ts]
    return grads, None


def _versions(message):
    return re.search(r"is at version (\d+); expected version (\d+) instead", message).groups()


def _changes(arrays, view):
    return list(range(len(arrays))) + ([] if view else ["output"])


def _ids(cases):
    return [f"{c[0]}: {c[1]}" for c in cases]


@pytest.mark.parametrize("name, label, fn, arrays, view", CASES, ids=_ids(CASES))
def test_inplace_change_raises_exactly_where_pytorch_raises(name, label, fn, arrays, view):
    y = fn(lucid, LF, *[lucid.tensor(arr(a)) for a in arrays])
    seed = rng.uniform(-1, 1, y.shape)
    unchanged, err = _run(lucid, fn, arrays, None, seed)
    assert err is None
    for change in _changes(arrays, view):
        grads, err = _run(lucid, fn, arrays, change, seed)
        _, torch_err = _run(torch, fn, arrays, change, seed)
        if torch_err is not None and "is at version" not in torch_err:
            torch_err = None  # PyTorch's own rule on outputs of split (views it does not let change)
        assert (err is None) == (torch_err is None), (change, err, torch_err)
        if err is None:
            for g, g0 in zip(grads, unchanged):
                assert (g is None) == (g0 is None)
                if g is not None:
                    np.testing.assert_allclose(g, g0, rtol=1e-12, atol=1e-12, err_msg=f"changed {change}")
        else:
            assert err.startswith(
                "one of the variables needed for gradient computation has been modified by an "
                "inplace operation: [lucid."
            )
            assert f"of {name}Backward," in err
            assert _versions(err) == _versions(torch_err)


@pytest.mark.parametrize("name, label, fn, arrays, view", OTHER_RULE_CASES, ids=_ids(OTHER_RULE_CASES))
def test_where_the_rule_differs_from_pytorch_lucid_is_never_silently_wrong(name, label, fn, arrays, view):
    y = fn(lucid, LF, *[lucid.tensor(arr(a)) for a in arrays])
    seed = rng.uniform(-1, 1, y.shape)
    unchanged, _ = _run(lucid, fn, arrays, None, seed)
    for change in _changes(arrays, view):
        grads, err = _run(lucid, fn, arrays, change, seed)
        _, torch_err = _run(torch, fn, arrays, change, seed)
        if err is not None and torch_err is not None:
            assert _versions(err) == _versions(torch_err)
        if err is None:
            for g, g0 in zip(grads, unchanged):
                assert (g is None) == (g0 is None)
                if g is not None:
                    np.testing.assert_allclose(g, g0, rtol=1e-12, atol=1e-12, err_msg=f"changed {change}")


# ---- the three cases of the issue, and where versions come from ------------------------------------
def _bn_pair():
    x = R(4, 3, 2)
    bn, tbn = lucid.nn.BatchNorm1d(3).double(), torch.nn.BatchNorm1d(3).double()
    return (lucid.tensor(x), bn), (torch.tensor(x), tbn)


@pytest.mark.parametrize("change", ["x += 1", "x.copy_(other)", "opt.step()"])
def test_batchnorm_backward_after_an_inplace_change_raises_as_pytorch(change):
    messages = []
    for lib, (x, bn) in zip((lucid, torch), _bn_pair()):
        opt = (lucid.optim if lib is lucid else torch.optim).SGD(bn.parameters(), lr=0.1)
        y = bn(x)
        if change == "x += 1":
            x += 1
        elif change == "x.copy_(other)":
            x.copy_(lib.tensor(R(4, 3, 2)))
        else:
            for p in bn.parameters():
                p.grad = lib.tensor(np.ones(3)) if lib is torch else np.ones(3)
            opt.step()
            for p in bn.parameters():
                p.grad = None
        weight_before = np.array(bn.weight.detach().numpy())
        with pytest.raises(RuntimeError, match="modified by an inplace operation") as info:
            y.backward(lib.tensor(np.ones((4, 3, 2))))
        assert bn.weight.grad is None and bn.bias.grad is None  # nothing accumulated before the error
        np.testing.assert_array_equal(bn.weight.detach().numpy(), weight_before)
        messages.append(str(info.value))
    assert _versions(messages[0]) == _versions(messages[1])
    assert "_NormalizeBackward" in messages[0]


def test_versions_count_every_inplace_write_as_pytorch():
    seq = [
        lambda t, L: t.add_(1),
        lambda t, L: t.mul_(2),
        lambda t, L: t.sub_(1),
        lambda t, L: t.div_(2),
        lambda t, L: t.zero_(),
        lambda t, L: t.fill_(3.0),
        lambda t, L: t.copy_(L.tensor(np.ones((2, 3)))),
        lambda t, L: t.__setitem__(0, 5.0),
        lambda t, L: t.__iadd__(1),
        lambda t, L: t.__isub__(1),
        lambda t, L: t.__imul__(2),
        lambda t, L: t.__itruediv__(2),
    ]
    t, tt = lucid.tensor(R(2, 3)), torch.tensor(R(2, 3))
    for op in seq:
        op(t, lucid), op(tt, torch)
        assert t._version == tt._version
    assert t._version == len(seq)


def test_views_share_the_counter_and_data_writes_are_not_counted():
    x = lucid.tensor(R(3, 4))
    views = [x.reshape(12), x[1:], x.T, x.detach(), lucid.Tensor(x), x.split(2)[1]]
    views[1] += 1
    assert x._version == 1 and all(v._version == 1 for v in views)
    copy = x.clone()
    x.data[0, 0] = 7.0  # the array itself: not counted, as writes through .data in PyTorch
    assert x._version == 1 and copy._version == 0


def test_init_optimizers_and_load_state_dict_bump_versions():
    lin = lucid.nn.Linear(3, 2)
    v = lin.weight._version
    lucid.nn.init.zeros_(lin.weight)
    assert lin.weight._version == v + 1
    lin.load_state_dict(lin.state_dict())
    assert lin.weight._version == v + 2
    lin.weight.grad = np.ones((2, 3), np.float32)
    lucid.optim.Adam(lin.parameters()).step()
    assert lin.weight._version == v + 3 and lin.bias._version == 2  # bias: no grad, no step


def test_state_dict_entries_are_views_of_the_parameters():
    lin = lucid.nn.Linear(3, 2)
    x = lucid.tensor(R(4, 3).astype(np.float32))
    y = lin(x)
    with lucid.no_grad():
        lin.state_dict()["weight"].mul_(2)
    with pytest.raises(RuntimeError, match=r"\[lucid.float32 \[2, 3\]\], which is input 1 of LinearBackward"):
        y.sum().backward()


class Square(Function):  # says nothing: what it saves is found from save_for_backward
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 2 * x * g


class Shifted(Function):  # keeps only a copy: a later change of x cannot make its gradient stale
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x + 1)
        return x + 1

    @staticmethod
    def backward(ctx, g):
        return g


def test_user_functions_are_checked_through_what_they_save():
    x = lucid.tensor(R(3), requires_grad=True)
    y = Square.apply(x)
    with lucid.no_grad():
        x += 1
    with pytest.raises(RuntimeError, match="input 0 of SquareBackward, is at version 1; expected version 0"):
        y.sum().backward()
    assert x.grad is None
    z = Shifted.apply(x)
    with lucid.no_grad():
        x += 1
    z.sum().backward()
    np.testing.assert_array_equal(x.grad, np.ones(3))


class Cube(Function):
    """y = x³; backward takes 3x² as 3y/x from the output while it is unchanged."""

    saves = (0,)
    spare_output = True
    used_output = []

    @staticmethod
    def forward(ctx, x):
        y = x**3
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        Cube.used_output.append(ctx.output_unchanged())
        return g * (3 * y / x if Cube.used_output[-1] else 3 * x * x)


@pytest.mark.parametrize("change", [False, True])
def test_a_spare_output_is_read_only_while_unchanged(change):
    x = lucid.tensor(R(4) + 3.0, requires_grad=True)
    y = Cube.apply(x)
    if change:
        with lucid.no_grad():
            y.mul_(0.5)  # no error: backward does not need the output
    y.sum().backward()
    assert Cube.used_output[-1] is not change
    np.testing.assert_allclose(x.grad, 3 * x.data**2, rtol=1e-14)


@pytest.mark.parametrize("op", ["sort", "topk", "adaptive_max_pool2d"])
def test_a_change_of_the_indices_an_op_returns_leaves_its_gradient_right(op):
    """sort, topk and adaptive_max_pool2d return the indices their backward reads: it keeps its own copy."""
    x0 = R(2, 3, 4, 4)
    calls = {
        "sort": lambda x: lucid.sort(x, -1),
        "topk": lambda x: lucid.topk(x, 2, -1),
        "adaptive_max_pool2d": lambda x: LF.adaptive_max_pool2d(x, 2, return_indices=True),
    }
    grads = []
    for change in (False, True):
        x = lucid.tensor(x0, requires_grad=True)
        y, idx = calls[op](x)
        if change:
            with lucid.no_grad():
                idx.copy_(lucid.tensor(np.zeros(idx.shape, np.int64)))
        y.backward(lucid.tensor(np.arange(y.numel(), dtype=np.float64).reshape(y.shape)))
        grads.append(np.asarray(x.grad))
    np.testing.assert_array_equal(grads[1], grads[0])


class _Square(lucid.nn.Module):
    def forward(self, x):
        return x * x  # keeps x: the view _InputsIdentity gives of the module's input


def test_identity_functions_give_views_that_share_the_version_counter():
    x = lucid.tensor(R(3, 4), requires_grad=True)
    h = x.sigmoid()  # keeps its output
    sig = lucid.nn.Sigmoid()
    sig.register_full_backward_hook(lambda m, gi, go: None)
    for y in (ddp_output(lucid, h), sig(x)):  # identity on DDP's output; on a hooked module's output
        with lucid.no_grad():
            y.mul_(2)
        assert y._ctx.inputs[0]._version == y._version == 1
        with pytest.raises(RuntimeError, match="output 0 of SigmoidBackward, is at version 1; expected version 0"):
            y.sum().backward()
    sq = _Square()
    sq.register_full_backward_hook(lambda m, gi, go: None)
    h = x.tanh()
    y = sq(h)  # the identity on a hooked module's input
    with lucid.no_grad():
        h.mul_(2)
    with pytest.raises(RuntimeError, match="input 0 of MulBackward, is at version 1; expected version 0"):
        y.sum().backward()
