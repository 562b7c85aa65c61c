"""The compiled optimizer kernels against their NumPy reference, through the optimizers.

Two copies of the same parameters take the same gradients for several steps, one optimizer on
``backends.use("numpy")`` (the reference), one on the compiled kernels; after every step the
parameters and the whole state (momentum buffer, exp_avg, exp_avg_sq, max_exp_avg_sq, step) must
agree: float64 to 1e-15 relative, float32 to ``F32_ULPS`` units in the last place of float32 of
the size of the array or of the gradient terms it sums (a float32 step rounds each of its terms,
the compiled one only what it stores). Every option combination, odd sizes, a parameter large
enough for the parallel path, and the inputs the compiled kernels leave to the reference.
"""

import itertools

import numpy as np
import pytest

import lucid.nn as nn
from lucid import backends, optim
from lucid._kernels.jit import PARALLEL_MIN
from lucid._kernels.optim import reference

if backends.kernels("optim") is reference:
    pytest.skip("numba is not importable in this environment", allow_module_level=True)

F32_ULPS = 4
SIZES = [(7,), (3, 5, 11), (1,)]
BIG = (PARALLEL_MIN + 1031,)


def sgd_options():
    for momentum, dampening, wd, nesterov, maximize in itertools.product(
        [0, 0.9], [0, 0.3], [0, 0.1], [False, True], [False, True]
    ):
        if nesterov and (momentum == 0 or dampening != 0):
            continue
        if momentum == 0 and dampening != 0:
            continue
        yield dict(
            lr=0.05, momentum=momentum, dampening=dampening, weight_decay=wd, nesterov=nesterov, maximize=maximize
        )


def adam_options():
    for wd, decoupled, amsgrad, maximize in itertools.product([0, 0.1], [False, True], [False, True], [False, True]):
        if wd == 0 and decoupled:
            continue
        kw = dict(lr=0.01, betas=(0.8, 0.95), eps=1e-6, weight_decay=wd, amsgrad=amsgrad, maximize=maximize)
        yield ("AdamW" if decoupled else "Adam"), kw


CASES = [("SGD", kw) for kw in sgd_options()] + list(adam_options())


def name_of(case):
    name, kw = case
    on = [k if v is True else f"{k}={v}" for k, v in kw.items() if v and k not in ("lr", "betas", "eps")]
    return "-".join([name] + on)


def close(actual, expected, dtype, what, terms=0.0):
    """float64: 1e-15 relative; float32: ``F32_ULPS`` of the larger of the array's largest magnitude and
    ``terms``, the size of the terms it sums (where they cancel, the reference's rounding of each counts)."""
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    if dtype == np.float64:
        np.testing.assert_allclose(actual, expected, rtol=1e-15, atol=0, err_msg=what)
    else:
        scale = max(float(np.max(np.abs(expected))), terms, np.finfo(np.float32).tiny)
        tol = F32_ULPS * np.finfo(np.float32).eps * scale
        np.testing.assert_allclose(actual, expected, rtol=0, atol=tol, err_msg=what)


def make(name, params, kw):
    if name == "AdamW":
        kw = {k: v for k, v in kw.items() if k != "decoupled_weight_decay"}
    return getattr(optim, name)(params, **kw)


def step_with(backend, opt, params, grads):
    before = backends.current()
    backends.use(backend)
    try:
        for p, g in zip(params, grads):
            p.grad = g
        opt.step()
    finally:
        backends.use(before)


def twin_run(name, kw, dtype, sizes, steps=5, seed=0):
    """Run the reference and the compiled kernels side by side; compare after every step."""
    rng = np.random.default_rng(seed)
    init = [rng.standard_normal(s).astype(dtype) for s in sizes]
    ref_params = [nn.Parameter(a.copy()) for a in init]
    our_params = [nn.Parameter(a.copy()) for a in init]
    ref_opt, our_opt = make(name, ref_params, kw), make(name, our_params, kw)
    for k in range(steps):
        grads = [(np.cos(p.data + k) + 0.3 * rng.standard_normal(p.shape)).astype(dtype) for p in ref_params]
        step_with("numpy", ref_opt, ref_params, grads)
        step_with("numba", our_opt, our_params, [g.copy() for g in grads])
        for i, (ours, ref) in enumerate(zip(our_params, ref_params)):
            assert ours.data.dtype == dtype
            close(ours.data, ref.data, dtype, f"step {k}, parameter {i}")
            ref_state, our_state = ref_opt.state.get(ref, {}), our_opt.state.get(ours, {})
            assert sorted(our_state) == sorted(ref_state)
            for key, value in ref_state.items():
                if key == "step":
                    assert our_state[key] == value
                else:
                    assert our_state[key].dtype == dtype and our_state[key].shape == ours.shape
                    terms = float(np.max(np.abs(grads[i]))) ** (2 if "sq" in key else 1)
                    close(our_state[key], value, dtype, f"step {k}, parameter {i}, {key}", terms)
            np.testing.assert_array_equal(ours.grad, ref.grad)  # the gradient is never written


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES, ids=name_of)
def test_compiled_steps_match_the_reference(case, dtype):
    twin_run(*case, dtype, SIZES)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "case",
    [
        ("SGD", dict(lr=0.05, momentum=0.9, weight_decay=0.1, nesterov=True)),
        ("Adam", dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
        ("AdamW", dict(lr=0.01, weight_decay=0.1)),
    ],
    ids=name_of,
)
def test_large_parameters_take_the_parallel_path(case, dtype):
    twin_run(*case, dtype, [BIG], steps=3)


def test_inputs_the_compiled_kernels_leave_to_the_reference():
    """A non-contiguous float64 parameter and a float16 one: the reference's results, in place."""
    ours = backends.kernels("optim")
    rng = np.random.default_rng(1)
    for dtype, strided in [(np.float64, True), (np.float16, False)]:
        base = rng.standard_normal((6, 8)).astype(dtype)
        p1, p2 = (base.copy()[:, ::2] if strided else base.copy() for _ in range(2))
        g = rng.standard_normal(p1.shape).astype(dtype)
        b1, b2 = np.zeros_like(p1), np.zeros_like(p2)
        reference.sgd(p1, g, b1, 0.1, 0.9, 0, 0.01, True, False, True)
        ours.sgd(p2, g, b2, 0.1, 0.9, 0, 0.01, True, False, True)
        np.testing.assert_array_equal(p2, p1)
        np.testing.assert_array_equal(b2, b1)
        m1, v1, m2, v2 = (np.zeros_like(p1) for _ in range(4))
        reference.adam(p1, g, m1, v1, None, 1, 0.01, 0.9, 0.999, 1e-3, 0, False, False, False)
        ours.adam(p2, g, m2, v2, None, 1, 0.01, 0.9, 0.999, 1e-3, 0, False, False, False)
        np.testing.assert_array_equal(p2, p1)
        np.testing.assert_array_equal(v2, v1)


@np.errstate(all="ignore")
def test_non_finite_values_follow_the_reference():
    """inf and NaN in parameters and gradients land where the reference puts them (amsgrad's max keeps NaN)."""
    ours = backends.kernels("optim")
    p0 = np.array([np.inf, -np.inf, np.nan, 1.0, 2.0, 0.0, 3.0])
    g = np.array([1.0, 0.5, 1.0, np.nan, np.inf, -np.inf, 0.0])
    for wd in [0, 0.1]:
        p1, p2, b1, b2 = p0.copy(), p0.copy(), np.ones(7), np.ones(7)
        reference.sgd(p1, g, b1, 0.1, 0.9, 0, wd, False, False, False)
        ours.sgd(p2, g, b2, 0.1, 0.9, 0, wd, False, False, False)
        np.testing.assert_array_equal(p2, p1)
        np.testing.assert_array_equal(b2, b1)
        p1, p2 = p0.copy(), p0.copy()
        state1 = [np.zeros(7), np.zeros(7), np.array([0.0, np.nan, 1.0, 0, 0, 0, np.nan])]
        state2 = [a.copy() for a in state1]
        reference.adam(p1, g, *state1, 2, 0.01, 0.9, 0.999, 1e-8, wd, True, True, False)
        ours.adam(p2, g, *state2, 2, 0.01, 0.9, 0.999, 1e-8, wd, True, True, False)
        np.testing.assert_array_equal(p2, p1)
        for a, b in zip(state2, state1):
            np.testing.assert_array_equal(a, b)
