"""The compiled activation, softmax, pooling and convolution kernels against their NumPy reference.

Each call of a family's ``compiled.py`` is compared with ``reference.py`` on the same input: float32
and float64, odd shapes, non-contiguous input, and inputs large enough to take the parallel path.
(PyTorch differential tests and gradchecks of the same ops are in test_nn_layers.py,
test_conv_pool.py and test_losses.py.)
"""

import math
import os
import subprocess
import sys

import numpy as np
import pytest

import lucid
import lucid.nn.functional as F
from lucid import backends
from lucid._kernels.activation import reference as act_ref
from lucid._kernels.conv import reference as conv_ref
from lucid._kernels.pooling import reference as pool_ref
from lucid._kernels.softmax import reference as soft_ref
from lucid.autograd import gradcheck

act = backends.kernels("activation")
if act is act_ref:
    pytest.skip("numba is not importable in this environment", allow_module_level=True)
soft, pool, conv = backends.kernels("softmax"), backends.kernels("pooling"), backends.kernels("conv")

TOL = {np.float32: 2e-6, np.float64: 1e-13}
DTYPES = [np.float32, np.float64]


def close(actual, expected, tol):
    """Same shape and dtype, same NaNs, equal to ``tol`` of the largest magnitude of ``expected``."""
    assert actual.shape == expected.shape and actual.dtype == expected.dtype
    a, e = actual.astype(np.float64), expected.astype(np.float64)
    assert np.array_equal(np.isnan(a), np.isnan(e))
    scale = max(np.nanmax(np.abs(e)) if e.size else 0.0, 1e-300)
    np.testing.assert_allclose(a, e, rtol=0, atol=tol * scale)


def inputs(rng, shape, dtype, scale=3.0):
    """A contiguous array and a non-contiguous view with the same values (every other column)."""
    x = (rng.standard_normal(shape) * scale).astype(dtype)
    wide = np.zeros(shape[:-1] + (2 * shape[-1],), dtype)
    wide[..., ::2] = x
    return x, wide[..., ::2]


UNARY = ["relu", "gelu", "gelu_tanh", "silu", "sigmoid", "tanh"]
FROM_Y = {"relu", "sigmoid", "tanh"}  # backward takes the output


from lucid._kernels.jit import PARALLEL_MIN

BIG = PARALLEL_MIN + 1031  # elements enough for the parallel path


@pytest.mark.parametrize("shape", [(7,), (3, 5, 11), (BIG // 509 + 1, 509)])  # the last takes the parallel path
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", UNARY + ["leaky_relu"])
def test_activation_kernels_match_the_reference(rng, name, dtype, shape):
    x, xv = inputs(rng, shape, dtype)
    g, _ = inputs(rng, shape, dtype, 1.0)
    x.flat[0] = np.nan
    extra = (0.1,) if name == "leaky_relu" else ()
    fwd, bwd = name + "_forward", name + "_backward"
    for xin in (x, xv):
        y = getattr(act, fwd)(xin, *extra)
        close(y, getattr(act_ref, fwd)(xin, *extra), TOL[dtype])
        saved = y if name in FROM_Y else xin
        close(getattr(act, bwd)(g, saved, *extra), getattr(act_ref, bwd)(g, saved, *extra), TOL[dtype])
        if name == "gelu":  # Φ(x) = y/x from the output
            close(act.gelu_backward(g, xin, y), act_ref.gelu_backward(g, xin), TOL[dtype])


def test_gelu_kernel_is_accurate_in_float64_far_into_the_tails():
    x = np.concatenate([np.linspace(-37, 37, 20001), [-1e-300, 1e-300, np.inf, -np.inf]])
    with np.errstate(invalid="ignore"):
        want = act_ref.gelu_forward(x)
    got = act.gelu_forward(x)
    tiny = np.abs(want) < 1e-300
    np.testing.assert_allclose(got[~tiny], want[~tiny], rtol=2e-13)
    assert np.all(np.abs(got[tiny]) < 1e-290)
    g = np.ones_like(x)
    # Φ(x) + x·φ(x) crosses zero near x = −0.75, where its terms cancel: an absolute bound there
    want = act_ref.gelu_backward(g[:-2], x[:-2])
    np.testing.assert_allclose(act.gelu_backward(g[:-2], x[:-2]), want, rtol=2e-13, atol=1e-15)
    np.testing.assert_allclose(act.gelu_backward(g[:-2], x[:-2], got[:-2]), want, rtol=2e-13, atol=1e-15)


def test_vectorized_exp_is_within_an_ulp_and_keeps_ieee_edges():
    from numba import njit

    from lucid._kernels.vmath import exp

    @njit
    def each(x, out):
        for i in range(x.size):
            out[i] = exp(x[i])

    x = np.concatenate([np.linspace(-745, 709.7, 100001), [np.nan, np.inf, -np.inf, 710.0, -746.0, 0.0]])
    out = np.empty_like(x)
    each(x, out)
    with np.errstate(over="ignore"):
        want = np.exp(x)
    normal = want > 1e-300
    np.testing.assert_allclose(out[normal], want[normal], rtol=4.5e-16)
    np.testing.assert_array_equal(out[-6:], [np.nan, np.inf, 0.0, np.inf, 0.0, 1.0])


@pytest.mark.parametrize("shape", [(3, 7, 1), (2, 5, 3), (BIG // 257 + 1, 257, 1)])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("which", ["softmax", "log_softmax"])
def test_softmax_kernels_match_the_reference(rng, which, dtype, shape):
    x, xv = inputs(rng, shape, dtype, 5.0)
    g, _ = inputs(rng, shape, dtype, 1.0)
    for xin in (x, xv):
        y = getattr(soft, which + "_forward")(xin)
        close(y, getattr(soft_ref, which + "_forward")(xin), TOL[dtype] * 4)
        close(getattr(soft, which + "_backward")(g, y), getattr(soft_ref, which + "_backward")(g, y), TOL[dtype] * 4)


@pytest.mark.parametrize("N,C", [(5, 3), (BIG // 129 + 1, 129)])
@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy_kernels_match_the_reference(rng, dtype, N, C):
    x, xv = inputs(rng, (N, C), dtype, 4.0)
    target = rng.integers(0, C, N)
    w = rng.random(N)
    w[0] = 0.0  # an ignored row
    g = rng.standard_normal(N)
    for xin in (x, xv):
        loss, lse = soft.cross_entropy_forward(xin, target, w)
        want, want_lse = soft_ref.cross_entropy_forward(xin, target, w)
        close(loss, want, TOL[dtype] * 4)
        close(lse, want_lse, 1e-13)
        close(
            soft.cross_entropy_backward(g, xin, target, w, lse),
            soft_ref.cross_entropy_backward(g, xin, target, w, want_lse),
            TOL[dtype] * 4,
        )


POOLS = [  # spatial, kernel, stride, pads, dilation
    ((9,), (3,), (2,), ((1, 1),), (1,)),
    ((7, 9), (2, 2), (2, 2), ((0, 0), (0, 0)), (1, 1)),
    ((7, 9), (3, 2), (1, 2), ((1, 1), (1, 1)), (2, 1)),
    ((5, 6, 7), (2, 3, 2), (2, 1, 3), ((1, 1), (0, 0), (1, 2)), (1, 1, 2)),
    ((32, 32), (2, 2), (2, 2), ((0, 0), (0, 0)), (1, 1)),  # with B planes below: the parallel path
]


@pytest.mark.parametrize("geometry", POOLS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_pooling_kernels_match_the_reference(rng, dtype, geometry):
    spatial, kernel, stride, pads, dilation = geometry
    B = BIG // 1024 + 1 if spatial == (32, 32) else 5
    x, xv = inputs(rng, (B,) + spatial, dtype)
    x.flat[3] = np.nan
    for xin in (x, xv):
        y, idx = pool.max_pool_forward(xin, kernel, stride, pads, dilation)
        want_y, want_idx = pool_ref.max_pool_forward(xin, kernel, stride, pads, dilation)
        close(y, want_y, 0)
        np.testing.assert_array_equal(idx, want_idx)
        g = rng.standard_normal(y.shape).astype(dtype)
        close(pool.max_pool_backward(g, idx, spatial), pool_ref.max_pool_backward(g, want_idx, spatial), TOL[dtype])
        if dilation == (1,) * len(spatial):
            divisor = rng.integers(1, 9, y.shape[1:]).astype(np.float64)
            close(
                pool.avg_pool_forward(xin, kernel, stride, pads, divisor),
                pool_ref.avg_pool_forward(xin, kernel, stride, pads, divisor),
                TOL[dtype] * 4,
            )
            close(
                pool.avg_pool_backward(g, spatial, kernel, stride, pads, divisor),
                pool_ref.avg_pool_backward(g, spatial, kernel, stride, pads, divisor),
                TOL[dtype] * 4,
            )


QUADS = [  # spatial, kernel, stride, pads, dilation: 2x2 windows, all inside the plane or (last) not
    ((8, 10), (2, 2), (2, 2), ((0, 0), (0, 0)), (1, 1)),
    ((7, 9), (2, 2), (1, 3), ((0, 0), (0, 0)), (2, 1)),
    ((3, 6, 5), (1, 2, 2), (2, 2, 1), ((0, 0), (0, 0), (0, 0)), (1, 1, 3)),
    ((5, 5), (2, 2), (2, 2), ((0, 1), (0, 1)), (1, 1)),  # ceil_mode: the last window hangs over
    # other windows: each tap swept along the output rows, contiguously where the row stride is 1
    ((8, 10), (3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1)),
    ((7, 9), (3, 2), (2, 1), ((1, 1), (0, 1)), (2, 3)),
    ((7, 9), (3, 3), (2, 2), ((1, 1), (1, 1)), (1, 1)),
    ((4, 5, 6), (2, 3, 3), (1, 1, 2), ((1, 0), (1, 1), (1, 1)), (1, 1, 1)),
]


@pytest.mark.parametrize("geometry", QUADS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_max_pool_takes_the_first_largest(rng, dtype, geometry):
    spatial, kernel, stride, pads, dilation = geometry
    x = rng.choice(np.array([-np.inf, -1.0, -0.0, 0.0, 1.0, np.inf], dtype), size=(40,) + spatial)
    x[::7].flat[::5] = np.nan  # a NaN in some planes only
    for xin in (x, np.asfortranarray(x)):
        y, idx = pool.max_pool_forward(xin, kernel, stride, pads, dilation)
        want_y, want_idx = pool_ref.max_pool_forward(np.ascontiguousarray(xin), kernel, stride, pads, dilation)
        np.testing.assert_array_equal(idx, want_idx)
        assert np.array_equal(y, want_y, equal_nan=True) and np.array_equal(np.signbit(y), np.signbit(want_y))


CONVS = [  # x shape, w shape, stride, pads, dilation, groups
    ((2, 3, 11), (4, 3, 3), (2,), ((1, 1),), (1,), 1),
    ((3, 4, 7, 9), (6, 2, 3, 2), (1, 2), ((1, 1), (0, 2)), (2, 1), 2),
    ((2, 3, 5, 6, 7), (4, 3, 2, 3, 2), (1, 1, 2), ((1, 0), (1, 1), (0, 1)), (1, 1, 1), 1),
    ((4, 8, 6, 6), (5, 8, 1, 1), (1, 1), ((0, 0), (0, 0)), (1, 1), 1),  # 1x1: straight to a matrix product
    ((64, 16, 20, 20), (8, 16, 3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), 1),  # several batch chunks
    ((3, 5, 9, 7), (4, 5, 3, 3), (1, 1), ((2, 2), (2, 2)), (2, 2), 1),  # dilated, rows gathered as one run
    ((2, 4, 4, 5, 6), (6, 2, 3, 3, 3), (1, 1, 1), ((1, 1), (1, 1), (1, 1)), (1, 1, 1), 2),  # depth taps in padding
    ((2, 3, 9, 8), (4, 3, 3, 3), (2, 1), ((1, 1), (1, 1)), (1, 1), 1),  # row stride 2: row by row
    ((3, 4, 7, 7), (6, 2, 1, 1), (2, 2), ((0, 0), (0, 0)), (1, 1), 2),  # 1x1 strided: gathered, one tap
    ((32, 8, 40, 40), (6, 4, 3, 3), (2, 1), ((1, 1), (2, 2)), (1, 2), 2),  # strided, dilated, grouped: threads
]


@pytest.mark.parametrize("geometry", CONVS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_conv_kernels_match_the_reference(rng, dtype, geometry):
    xs, ws, stride, pads, dilation, groups = geometry
    x, xv = inputs(rng, xs, dtype, 1.0)
    w = rng.standard_normal(ws).astype(dtype)
    b = rng.standard_normal(ws[0]).astype(dtype)
    tol = TOL[dtype] * 20  # sums of up to a few hundred products, in either order
    for xin in (x, xv):
        close(
            conv.forward(xin, w, None, stride, pads, dilation, groups),
            conv_ref.forward(xin, w, None, stride, pads, dilation, groups),
            tol,
        )
        y = conv.forward(xin, w, b, stride, pads, dilation, groups)
        close(y, conv_ref.forward(xin, w, b, stride, pads, dilation, groups), tol)
        g = rng.standard_normal(y.shape).astype(dtype)
        for need in [
            (True, True, True),
            (True, False, False),
            (False, True, False),
            (False, True, True),
            (True, False, True),
        ]:
            got = conv.backward(g, xin, w, stride, pads, dilation, groups, *need)
            want = conv_ref.backward(g, xin, w, stride, pads, dilation, groups, *need)
            for a, e in zip(got, want):
                assert (a is None) == (e is None)
                if a is not None:
                    close(a, e, tol)


def test_reference_backend_gives_the_same_network_step(rng):
    """A small ConvNet and MLP step on the numpy backend and on the compiled one: same loss and gradients."""
    x = rng.standard_normal((4, 3, 8, 8))
    t = rng.integers(0, 5, 4)

    def step():
        lucid.manual_seed(0)
        model = lucid.nn.Sequential(
            lucid.nn.Conv2d(3, 4, 3, padding=1),
            lucid.nn.ReLU(),
            lucid.nn.MaxPool2d(2),
            lucid.nn.Conv2d(4, 4, 1),
            lucid.nn.GELU(),
            lucid.nn.AvgPool2d(2),
            lucid.nn.Flatten(),
            lucid.nn.Linear(16, 5),
            lucid.nn.SiLU(),
        )
        model.double()
        loss = F.cross_entropy(model(lucid.tensor(x)), lucid.tensor(t))
        loss.backward()
        return loss.item(), [p.grad.copy() for p in model.parameters()]

    before = backends.current()
    try:
        backends.use("numpy")
        want = step()
        backends.use("numba")
        got = step()
    finally:
        backends.use(before)
    assert math.isclose(got[0], want[0], rel_tol=1e-12)
    for a, e in zip(got[1], want[1]):
        np.testing.assert_allclose(a, e, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: F.max_pool2d(x, 2, 1, 1),
        lambda x: F.avg_pool1d(x[0], 3, 2, 1),
        lambda x: F.gelu(x),
        lambda x: F.silu(x),
        lambda x: F.softmax(x, -1),
        lambda x: F.cross_entropy(x.reshape(6, 5), lucid.tensor(np.arange(6) % 5)),
    ],
)
def test_gradcheck_through_the_compiled_kernels(fn):
    x = lucid.Tensor(np.random.default_rng(1).standard_normal((2, 3, 5)), requires_grad=True)
    assert gradcheck(fn, [x])


def test_set_num_threads_governs_the_blas_pool_too():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    before = lucid.get_num_threads()
    try:
        lucid.set_num_threads(1)
        blas = [p for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas"]
        assert blas and all(p["num_threads"] == 1 for p in blas)
        assert lucid.get_num_threads() == 1
    finally:
        lucid.set_num_threads(before)


_SPIN_PROBE = """
import os, time
import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits
import lucid
lucid.backends.kernels("activation")  # the first compiled family: start-up runs here
with threadpool_limits(2, user_api="blas"):
    a = np.ones((256, 256))
    for _ in range(3):
        a @ a
    time.sleep(0.02)
    main = str(os.getpid())
    states = []
    for task in os.listdir("/proc/self/task"):
        if task != main:
            with open(f"/proc/self/task/{task}/stat") as f:
                states.append(f.read().rsplit(")", 1)[1].split()[0])
blas = [p for p in threadpool_info() if p["internal_api"] == "openblas"]
print(len(blas), "".join(sorted(states)), os.environ.get("OPENBLAS_THREAD_TIMEOUT", "-"))
"""


def _spin_probe(env):
    """(OpenBLAS libraries loaded, the state letter of each thread but the main one, the variable after start-up)
    in a new process, 20 ms after a product on two BLAS threads."""
    out = subprocess.run([sys.executable, "-c", _SPIN_PROBE], env=env, capture_output=True, text=True, check=True)
    n, states, var = out.stdout.split()
    return int(n), states, var


@pytest.mark.skipif(not os.path.isdir("/proc/self/task") or (os.cpu_count() or 1) < 2, reason="needs Linux, 2 cores")
def test_blas_threads_sleep_after_a_product():
    pytest.importorskip("threadpoolctl")
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_THREAD_TIMEOUT"}
    n, states, var = _spin_probe(env)
    if n == 0:
        pytest.skip("NumPy's BLAS is not OpenBLAS")
    assert "R" not in states and var == "-"  # asleep; the environment as it was
    # the user's own setting is kept: 2^28 cycles, OpenBLAS's default, and the thread still spins
    n, states, var = _spin_probe({**env, "OPENBLAS_THREAD_TIMEOUT": "28"})
    assert "R" in states and var == "28"


def test_softmax_of_a_0d_tensor_is_one():
    x = lucid.Tensor(np.array(3.5), requires_grad=True)
    y = F.softmax(x, 0)
    assert y.shape == () and y.item() == 1.0
    y.backward()
    assert x.grad == 0.0


@pytest.mark.parametrize("shape, dim", [((0, 4), 1), ((0, 4), 0), ((3, 0), 1), ((2, 0, 3), 1), ((2, 0, 3), -1)])
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_of_an_empty_tensor_is_empty(name, shape, dim):
    """Along an empty axis or across an empty batch: an empty result and gradient, as in PyTorch."""
    x = lucid.Tensor(np.zeros(shape), requires_grad=True)
    y = getattr(F, name)(x, dim)
    y.sum().backward()
    assert y.shape == shape and x.grad.shape == shape


def _exact_f32_targets(name, v):
    """float64 values of forward, backward (g = 1) and the size of the backward's terms, for float32 inputs v
    (σ from e^(−|v|), so these keep their relative accuracy in both tails)."""
    sig = act_ref._sigmoid
    if name == "gelu":
        cdf, pdf = act_ref.normal_cdf(v), np.exp(-0.5 * v * v) * act_ref.INV_SQRT2PI
        return v * cdf, cdf + v * pdf, np.maximum(cdf, np.abs(v * pdf)), 1.0
    if name == "gelu_tanh":
        w = 2 * act_ref.K_TANH * (v + act_ref.C_TANH * v**3)
        s, sm = sig(w), sig(-w)
        t2 = 2 * v * s * sm * act_ref.K_TANH * (1 + 3 * act_ref.C_TANH * v * v)
        return v * s, s + t2, np.maximum(s, np.abs(t2)), np.maximum(1.0, np.abs(w))
    if name == "tanh":
        return np.tanh(v), None, None, 1.0
    s, sm = sig(v), sig(-v)
    if name == "silu":
        return v * s, s * (1 + v * sm), np.maximum(s, np.abs(s * v * sm)), 1.0
    return s, None, None, 1.0


@pytest.mark.parametrize("name", ["gelu", "gelu_tanh", "silu", "sigmoid", "tanh"])
def test_float32_activations_are_within_the_stated_ulps(rng, name):
    """float32 in, float32 arithmetic: within F32_ULPS units in the last place of the float64-exact value
    (backward: of its larger term, where the terms cancel; gelu_tanh: times |2u|, the rounding of its
    argument); results below 1e-37 (subnormals on the way) to 1e-41 absolute."""
    from lucid._kernels.activation.compiled import F32_ULPS

    x = np.concatenate(
        [np.linspace(-20, 20, 200001), rng.standard_normal(100000) * 3, rng.standard_normal(10000) * 1e-3]
    )
    x = x.astype(np.float32)
    v = x.astype(np.float64)
    fwd, bwd, terms, cond = _exact_f32_targets(name, v)
    cond = np.broadcast_to(cond, v.shape)

    def check(got, want, scale):
        ulp = np.spacing(np.abs(scale).astype(np.float32)).astype(np.float64)
        err = np.abs(got.astype(np.float64) - want)
        normal = np.abs(scale) >= 1e-37
        worst = np.max(err[normal] / (cond[normal] * ulp[normal]))
        assert worst <= F32_ULPS, worst
        assert np.max(err[~normal], initial=0) <= 1e-41, np.max(err[~normal], initial=0)

    y = getattr(act, name + "_forward")(x)
    assert y.dtype == np.float32
    check(y, fwd, fwd)
    g = np.ones_like(x)
    if name == "sigmoid":
        y64 = y.astype(np.float64)
        check(act.sigmoid_backward(g, y), y64 * (1 - y64), y64 * (1 - y64))
    elif name == "tanh":  # 1 − y², in ulp of its larger term, 1
        y64 = y.astype(np.float64)
        check(act.tanh_backward(g, y), 1 - y64 * y64, np.ones_like(y64))
    else:
        check(getattr(act, name + "_backward")(g, x), bwd, terms)
    if name == "gelu":  # Φ(x) = y/x from the float32 output
        check(act.gelu_backward(g, x, y), bwd, terms)
