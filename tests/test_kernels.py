"""The kernel contract: every backend and every strategy computes what the NumPy reference computes.

lucid/_kernels/norm/reference.py is the specification. Each compiled call is compared with it on the
same input under every compiled build (serial, parallel on 1 and 2 threads: ``norm_builds``), for
views chosen so that every loop strategy runs, in float16/float32/float64, with odd sizes, size-1 and
zero-size dimensions and non-contiguous input. Then threads, start-up and the fallback without numba.
"""

import os
import subprocess
import sys
import textwrap
import threading
from fractions import Fraction

import numpy as np
import pytest
from norm_builds import BUILDS, build

import lucid
import lucid.nn.functional as F
from lucid import backends
from lucid._kernels.norm import compiled
from lucid._kernels.norm import reference as ref
from lucid.backends import startup

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
nb = backends.kernels("norm")
if nb is ref:  # numba missing here: the fallback is tested below, the compiled kernels cannot be
    pytest.skip("numba is not importable in this environment", allow_module_level=True)
COMPILED = [name for name in BUILDS if name != "reference"]

# relative tolerance of an output in each dtype (the reference rounds a float64 result once)
TOL = {np.float16: 2e-3, np.float32: 2e-6, np.float64: 1e-12}


def close(actual, expected, tol, floor=1e-300):
    """Equal to within ``tol`` of the largest magnitude in ``expected``, or of ``floor`` where that is
    larger (None matches None)."""
    if expected is None:
        assert actual is None
        return
    assert actual.shape == expected.shape
    a, e = actual.astype(np.float64), expected.astype(np.float64)
    assert np.array_equal(np.isnan(a), np.isnan(e))
    scale = max(np.nanmax(np.abs(e)) if np.isfinite(e).any() else 0.0, floor)
    np.testing.assert_allclose(a, e, rtol=0, atol=tol * scale)


def check_all(x, P, center=True, weight=None, bias=None, g=None, eps=1e-5, rng=None):
    """forward_train, forward_eval and backward (train and eval, all needs) against the reference, under
    every compiled build."""
    if g is None:
        g = rng.standard_normal(x.shape).astype(x.dtype)
    for name in COMPILED:
        with build(name):
            check_one(x, P, center, weight, bias, g, eps)


@np.errstate(all="ignore")  # empty groups: the reference's mean of nothing is NaN, as the kernels' is
def check_one(x, P, center, weight, bias, g, eps):
    tol = TOL[x.dtype.type]
    y, mean, var, rs = nb.forward_train(x, weight, bias, P, eps, center)
    ye, me, ve, rstd = ref.forward_train(x, weight, bias, P, eps, center)
    assert y.dtype == x.dtype and mean.dtype == var.dtype == rs.dtype == np.float64 and mean.shape == (x.shape[1],)
    close(y, ye, tol)
    close(mean, me, 1e-12)
    close(var, ve, 1e-12)
    close(rs, rstd, 1e-12)
    assert np.array_equal(rs, ref.rstd(var, eps), equal_nan=True)  # the rstd of the kernel's own variance
    close(nb.forward_eval(x, me, rstd, weight, bias, P), ref.forward_eval(x, me, rstd, weight, bias, P), tol)
    for train in (True, False):
        for need_dx, need_affine in ((True, True), (True, False), (False, True)):
            got = nb.backward(g, x, me, rstd, weight, P, center, train, need_dx, need_affine)
            want = ref.backward(g, x, me, rstd, weight, P, center, train, need_dx, need_affine)
            if need_dx:
                assert got[0].dtype == x.dtype
            close(got[0], want[0], tol, floor=1.0)  # dx = α·g − β·(x − μ) − γ cancels to about α·|g|
            close(got[1], want[1], 1e-11)
            close(got[2], want[2], 1e-11)


# (A, G, K, L), P: every view kind, odd sizes, sizes around the 64-lane blocks, channels 1 and 1000+
VIEWS = {
    "batch_nchw": ((3, 5, 1, 67), 5),  # by group, several segments per group
    "batch_nc": ((9, 1030, 1, 1), 1030),  # by rows, 1000+ channels
    "batch_ncl_short": ((11, 6, 1, 3), 6),  # by rows, short rows
    "batch_one_channel": ((7, 1, 1, 64), 1),  # one group
    "instance": ((1, 2 * 1001, 1, 5), 1001),  # N·C groups, affine shared by the N instances
    "instance_long": ((1, 6, 1, 129), 3),
    "group": ((1, 2 * 4, 3, 65), 4),  # K channels per group, each with its own affine entry
    "group_2d": ((1, 2 * 32, 33, 1), 32),  # GroupNorm on (N, C): L = 1
    "layer": ((1, 7, 1030, 1), 1),
    "layer_tiny": ((1, 5, 3, 1), 1),
    "layer_one_row": ((1, 1, 63, 1), 1),
    "layer_many_rows": ((1, 203, 37, 1), 1),  # more rows than chunks: rows taken two at a time
    "generic_rows": ((6, 4, 3, 5), 2),  # the contract in general, both layouts
    "generic_groups": ((3, 4, 2, 70), 2),
    "generic_groups_l1": ((3, 4, 70, 1), 2),  # several segments per group, one affine entry per element
    "size_one_dims": ((1, 1, 1, 1), 1),  # one value
    "size_one_rows": ((5, 3, 1, 1), 3),  # by rows, one column per group
    "size_one_segment": ((1, 4, 1, 1), 2),  # a group of one value per segment
    "zero_rows": ((0, 3, 1, 4), 3),  # an empty batch
    "zero_groups": ((2, 0, 1, 4), 1),  # no groups
    "zero_segment": ((1, 3, 2, 0), 3),  # empty segments
}


def test_views_reach_every_strategy(monkeypatch, rng):
    """The views above run every kernel of compiled.py, serial and parallel."""
    ran = set()
    run = compiled._run

    def spy(kernel, x, *args):
        ran.add((kernel.parallel.py_func.__name__, x.size < compiled.SERIAL))
        return run(kernel, x, *args)

    monkeypatch.setattr(compiled, "_run", spy)
    for shape, P in VIEWS.values():
        x = rng.standard_normal(shape).astype(np.float32)
        for name in COMPILED:
            with build(name):
                check_one(x, P, True, None, None, x, 1e-5)
    kernels = {
        "forward_rows",
        "forward_segments",
        "forward_groups",
        "forward_fixed",
        "backward_rows",
        "backward_segments",
        "backward_groups",
    }
    assert ran == {(k, serial) for k in kernels for serial in (True, False)}


@pytest.mark.parametrize("view", sorted(VIEWS))
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_every_view_against_reference(view, dtype, rng):
    shape, P = VIEWS[view]
    n = P * shape[2]
    x = (rng.standard_normal(shape) * 3 + 1).astype(dtype)
    w, b = rng.uniform(0.5, 1.5, n).astype(dtype), rng.standard_normal(n).astype(dtype)
    check_all(x, P, True, w, b, rng=rng)


@pytest.mark.parametrize("view", ["batch_nchw", "batch_nc", "instance", "group", "layer", "layer_many_rows"])
def test_not_centered_and_no_affine(view, rng):
    shape, P = VIEWS[view]
    x = (rng.standard_normal(shape) + 0.5).astype(np.float32)
    check_all(x, P, False, None, None, rng=rng)  # RMS, no γ, β
    check_all(x, P, True, rng.uniform(0.5, 1.5, P * shape[2]), None, rng=rng)  # γ without β (γ float64)


@pytest.mark.parametrize("view", ["batch_nchw", "batch_nc", "layer"])
def test_float16_and_mixed_dtypes(view, rng):
    shape, P = VIEWS[view]
    x = rng.standard_normal(shape).astype(np.float16)
    w = rng.uniform(0.5, 1.5, P * shape[2]).astype(np.float32)
    check_all(x, P, True, w, None, rng=rng)
    # a float64 incoming gradient for a float32 input: computed in float64, like the reference
    x32 = x.astype(np.float32)
    g64 = rng.standard_normal(shape)
    mean, rstd = np.zeros(shape[1]), np.full(shape[1], 0.7)
    got = nb.backward(g64, x32, mean, rstd, w, P, True, True, True, True)
    want = ref.backward(g64, x32, mean, rstd, w, P, True, True, True, True)
    for a, e in zip(got, want):
        close(a, e, 1e-12)
    assert got[0].dtype == np.float32


def test_non_contiguous_input_through_the_caller(rng):
    """The functional layer hands the kernels np.ascontiguousarray of its view; the kernels accept any layout too."""
    base = rng.standard_normal((5, 6, 4, 3)).astype(np.float32)
    x = base.transpose(0, 3, 2, 1)[:, :, ::-1, :]  # (5, 3, 4, 6), strided
    assert not x.flags.c_contiguous
    view = (5, 3, 1, 24)
    xc = np.ascontiguousarray(x.reshape(view))
    check_all(xc, 3, rng=rng)
    strided = rng.standard_normal((5, 1, 24, 3)).astype(np.float32).transpose(0, 3, 1, 2)  # given directly
    g = rng.standard_normal((5, 24, 1, 3)).astype(np.float32).transpose(0, 3, 2, 1)
    assert strided.shape == g.shape == view and not strided.flags.c_contiguous and not g.flags.c_contiguous
    check_all(strided, 3, g=g, rng=rng)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_hard_inputs_match_float64(dtype, rng):
    """Large offsets, a constant channel and huge values: the float64 statistics keep them exact."""
    for view, P in (VIEWS["batch_nchw"], VIEWS["batch_nc"], VIEWS["layer"]):
        A, G, K, L = view
        x = (1e6 + 0.1 * rng.standard_normal(view)).astype(dtype)  # mean 1e6, std 0.1
        x[:, 0] = 1e7  # a constant group
        x[:, -1] = (1e30 * rng.uniform(0.5, 2.0, (A, K, L))).astype(dtype)  # values near 1e30
        xd = x.astype(np.float64)  # what the input really holds
        mu = xd.mean(axis=(0, 2, 3), keepdims=True)
        var = ((xd - mu) ** 2).mean(axis=(0, 2, 3), keepdims=True)
        y, mean, v, _ = nb.forward_train(x, None, None, P, 1e-5)
        np.testing.assert_allclose(mean, mu.ravel(), rtol=1e-12)
        np.testing.assert_allclose(v, var.ravel(), rtol=1e-10, atol=1e-30)
        assert v[0] == 0.0 and np.all(y[:, 0] == 0)
        yd = (xd - mu) / np.sqrt(var + 1e-5)
        np.testing.assert_allclose(y.astype(np.float64), yd, rtol=1e-5, atol=1e-5)
        g = rng.standard_normal(view).astype(dtype)
        rstd = 1.0 / np.sqrt(v + 1e-5)
        dx = nb.backward(g, x, mean, rstd, None, P)[0]
        close(dx, ref.backward(g.astype(np.float64), xd, mean, rstd, None, P)[0], 1e-5)


def test_nan_stays_in_its_group(rng):
    for view, P in (VIEWS["batch_nchw"], VIEWS["batch_nc"], VIEWS["layer"]):
        x = rng.standard_normal(view)
        x[0, 1, 0, 0] = np.nan
        y, mean, var, _ = nb.forward_train(x, None, None, P, 1e-5)
        assert np.isnan(mean[1]) and np.isnan(y[:, 1]).all()
        assert not np.isnan(np.delete(y, 1, axis=1)).any()
        dx = nb.backward(np.ones_like(x), x, mean, 1 / np.sqrt(var + 1e-5), None, P)[0]
        assert np.isnan(dx[:, 1]).all() and not np.isnan(np.delete(dx, 1, axis=1)).any()


def test_scratch_stays_with_its_thread_and_large_scratch_is_lent(rng, monkeypatch):
    """Per chunk scratch: one pair per thread, reused from call to call and grown when a call needs more;
    beyond SCRATCH_KEPT it comes from buffers instead. Garbage left in it never reaches a result."""

    def pair_addresses(rows, cols):
        a, b = nb._scratch_pair(rows, cols)
        assert a.shape == b.shape == (rows, cols) and a.dtype == b.dtype == np.float64
        return a.__array_interface__["data"][0], b.__array_interface__["data"][0]

    first = pair_addresses(8, 100)
    assert pair_addresses(4, 50) == first  # smaller: the same memory
    other = []
    thread = threading.Thread(target=lambda: other.append(pair_addresses(8, 100)))
    thread.start()
    thread.join()
    assert set(other[0]).isdisjoint(first)  # another thread: its own pair
    grown = pair_addresses(64, 1000)  # larger: the thread's pair grows
    assert pair_addresses(8, 100) == grown
    for view, P in (VIEWS["batch_nc"], VIEWS["layer"], VIEWS["group"]):
        x = rng.standard_normal(view).astype(np.float32)
        check_all(x, P, rng=rng)  # kept scratch, left dirty by the calls before
        monkeypatch.setattr(nb, "SCRATCH_KEPT", 0)
        lent = nb._scratch_pair(64, 1000)  # 512 KB each: above buffers.MIN_BYTES
        assert all(a.base is not None and type(a.base).__name__ == "_Lease" for a in lent)
        check_all(x, P, rng=rng)  # lent scratch
        monkeypatch.undo()
    lucid.empty_cache()  # lets this thread's pair go
    assert getattr(nb._here, "scratch", None) is None


def test_rows_layout_merges_blocks_exactly(rng, monkeypatch):
    """Blocks of a few rows merged with Chan's formula give the two-pass statistics."""
    monkeypatch.setattr(nb, "BLOCK_BYTES", 64)
    x = (rng.standard_normal((300, 7, 1, 1)) * 2 + 1e4).astype(np.float32)
    check_all(x, 7, rng=rng)
    x = (rng.standard_normal((150, 5, 1, 3)) * 2 + 1e4).astype(np.float32)  # groups of 3 columns
    check_all(x, 5, rng=rng)


def test_rows_layout_statistics_exact_to_float64_rounding(rng, monkeypatch):
    """By rows, the sums are shifted by a value of the column and means merged as offsets from it.
    Against exact rational arithmetic, σ² is right to float64 rounding even when the spread is
    1e-10 of the mean (a merge of rounded block means lost 7 digits there), when it is a few units
    in the last place of the mean (rounding the mean first gets σ² wrong by percents), and when
    every block starts with an outlier."""
    monkeypatch.setattr(nb, "BLOCK_BYTES", 8 * 5 * 16)  # blocks of 16 rows
    x = 1e4 + 1e-6 * rng.standard_normal((203, 5, 1, 1))
    x[::16, 0] = 1e4 + 1e3  # every block starts with an outlier
    x[:, 1, 0, 0] = 1e4 + 1e-12 * rng.standard_normal(203)  # a few units in the last place of 1e4
    x[:, 2] = 7.0  # constant: exactly zero variance
    x[:, 4, 0, 0] = -3e-200 * (1 + rng.uniform(0, 1, 203))  # tiny values
    _, mean, var, _ = nb.forward_train(x, None, None, 5, 1e-5)
    for j in range(5):
        col = [Fraction(float(v)) for v in x[:, j, 0, 0]]
        mu = sum(col) / len(col)
        assert mean[j] == pytest.approx(float(mu), rel=4e-16)
        assert var[j] == pytest.approx(float(sum((v - mu) ** 2 for v in col) / len(col)), rel=1e-14, abs=0)
    assert var[2] == 0.0


@pytest.mark.parametrize("view", [(1, 5, 4000, 1), (4, 5, 1, 1000), (1, 130, 200, 1), (1, 130, 4, 50)])
def test_groups_statistics_one_pass_exact_to_float64_rounding(view, rng):
    """By group, Σd and Σd² of d = x − s (s the group's first value) come from one pass. Against exact
    rational arithmetic σ² is right to float64 rounding: for a spread 1e-10 of the mean, for a few
    units in the last place, for a constant group, and when s is an outlier (Σd² is then mostly
    (s − μ)²; the guard takes the squares around μ in a second pass). With more groups than chunks
    (130), groups 1 to 4 of (1, 130, 4, 50) have their sums taken in the loop that normalizes the group
    before."""
    A, G, K, L = view
    x = 1e4 + 1e-6 * rng.standard_normal(view)
    x[0, 1, 0, 0] = 1e4 + 1e3  # the first value of group 1 is an outlier
    x[:, 2] = 1e4 + 1e-12 * rng.standard_normal((A, K, L))  # a few units in the last place of 1e4
    x[:, 3] = 7.0  # constant: exactly zero variance
    x[:, 4] = -3e-150 * (1 + rng.uniform(0, 1, (A, K, L)))  # tiny values
    _, mean, var, _ = nb.forward_train(x, None, None, G, 1e-5)
    for j in range(G):
        grp = [Fraction(float(v)) for v in x[:, j].ravel()]
        mu = sum(grp) / len(grp)
        assert mean[j] == pytest.approx(float(mu), rel=4e-16)
        assert var[j] == pytest.approx(float(sum((v - mu) ** 2 for v in grp) / len(grp)), rel=1e-14, abs=0)
    assert var[3] == 0.0


def test_empty_input_goes_to_the_reference():
    x = np.zeros((3, 0, 1, 4), np.float32)
    y, mean, var, _ = nb.forward_train(x, None, None, 1, 1e-5)
    assert y.shape == x.shape and y.dtype == np.float32 and mean.shape == (0,)


# ---- through the layers: the same call with the compiled kernels and with the reference --------

LAYERS = {
    "batch_norm": (lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), (6, 3, 5, 4), 3),
    "batch_norm_2d": (lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), (40, 1100), 1100),
    "instance_norm": (lambda x, w, b: F.instance_norm(x, None, None, w, b), (2, 3, 9, 4), 3),
    "layer_norm": (lambda x, w, b: F.layer_norm(x, (3, 4), w.reshape(3, 4), b.reshape(3, 4)), (5, 2, 3, 4), 12),
    "group_norm": (lambda x, w, b: F.group_norm(x, 2, w, b), (3, 4, 5, 2), 4),
    "rms_norm": (lambda x, w, b: F.rms_norm(x, 4, w[:4], eps=1e-6), (5, 3, 4), 12),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layers_same_with_compiled_and_reference_kernels(name, rng, monkeypatch):
    fn, shape, n = LAYERS[name]
    base = rng.standard_normal(shape[::-1])
    x_arr = base.transpose(*range(len(shape) - 1, -1, -1))  # non-contiguous, as a permuted tensor would be
    w_arr, b_arr, g = rng.uniform(0.5, 1.5, n), rng.standard_normal(n), rng.standard_normal(shape)

    def run():
        x, w, b = (lucid.Tensor(a, requires_grad=True, dtype=lucid.float64) for a in (x_arr, w_arr, b_arr))
        y = fn(x, w, b)
        y.backward(g)
        return [y.data, x.grad] + [t.grad for t in (w, b) if t.grad is not None]

    compiled = run()
    monkeypatch.setattr(backends, "_active", "numpy")
    reference = run()
    assert len(compiled) == len(reference)
    for a, e in zip(compiled, reference):
        close(a, e, 1e-12)


# ---- threads, start-up, fallback ---------------------------------------------------------------


def run_python(code, **env):
    e = dict(os.environ, PYTHONPATH=ROOT)
    e.update(env)
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=e, cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


def test_set_num_threads_validates(monkeypatch):
    monkeypatch.setattr(backends, "_threads", backends._threads)  # put back afterwards
    top = backends._pool_size()
    for bad in (0, -1, top + 1):
        with pytest.raises(ValueError, match=rf"between 1 and {top} \(got {bad}\)"):
            lucid.set_num_threads(bad)
    for bad in (1.5, "2", True):
        with pytest.raises(TypeError, match="expected an int"):
            lucid.set_num_threads(bad)
    assert lucid.get_num_threads() == (top if backends._threads is None else backends._threads)
    lucid.set_num_threads(1)
    assert lucid.get_num_threads() == 1 and backends.requested_threads() == 1


def test_threads_honour_numba_num_threads_and_do_not_change_results():
    out = run_python(
        """
        import numpy as np, numba, lucid
        print(lucid.get_num_threads())
        try:
            lucid.set_num_threads(4)
        except ValueError:
            print("refused")
        k = lucid.backends.kernels("norm")
        x = np.random.default_rng(0).standard_normal((1, 300, 70, 1)).astype(np.float32)
        runs = []
        for n in (1, 3):
            lucid.set_num_threads(n)
            y, m, v, _ = k.forward_train(x, None, None, 1, 1e-5)
            dx, dw, db = k.backward(x, x, m, 1 / np.sqrt(v + 1e-5), None, 1)
            print(numba.get_num_threads())
            runs.append((y, m, v, dx, dw, db))
        print(all(np.array_equal(a, b) for a, b in zip(*runs)))
    """,
        NUMBA_NUM_THREADS="3",
    )
    assert out == ["3", "refused", "1", "3", "True"]


def test_import_lucid_does_not_import_numba():
    out = run_python("""
        import sys, lucid
        print("numba" in sys.modules, lucid.get_num_threads() >= 1, "numba" in sys.modules)
    """)
    assert out == ["False", "True", "False"]


def test_scipy_blas_found_on_disk_as_import_finds_it():
    try:
        import scipy.linalg.cython_blas  # noqa: F401

        importable = True
    except ImportError:
        importable = False
    assert startup._scipy_blas_installed() is importable


def test_answered_blas_probe_gives_numba_the_same_answer_without_importing_scipy():
    # numba's own probe, in a process of its own, against the answer it gets through lucid's first
    # call; then numba's linear algebra and np.correlate still compile and give the right values
    probe = "import numba.np.arraymath as m; print(m._HAVE_BLAS)"
    (own,) = run_python(probe)
    out = run_python("""
        import sys, numpy as np, numba, lucid
        lucid.backends.kernels("norm")
        import numba.np.arraymath as m, numba.np.linalg as la
        print("scipy.linalg" in sys.modules, m._HAVE_BLAS, m.ensure_blas is la.ensure_blas)
        a, b = np.arange(5.0), np.arange(1.0, 6.0)
        print(numba.njit(lambda a, b: np.correlate(a, b)[0])(a, b))
        if lucid.backends.startup._scipy_blas_installed():  # numba's np.dot needs SciPy's BLAS
            print(numba.njit(lambda a, b: np.dot(a, b))(a, b))
    """)
    # with SciPy, its BLAS stays unimported until code that needs it compiles; without, numba's probe ran
    assert out[:3] == ["False", own, "True"]
    assert out[3:] == (["40.0", "40.0"] if startup._scipy_blas_installed() else ["40.0"])
    hidden = run_python("""
        import sys
        sys.modules["scipy"] = None  # as if SciPy were not installed
        import lucid
        lucid.backends.kernels("norm")
        import numba.np.arraymath as m
        print(lucid.backends.startup._scipy_blas_installed(), m._HAVE_BLAS)
    """)
    assert hidden == ["False", "False"]


def test_fallback_without_numba_warns_once():
    out = run_python("""
        import sys, warnings
        sys.modules["numba"] = None  # as if numba were not installed: `import numba` raises ImportError
        import numpy as np, lucid
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            first, second = lucid.backends.kernels("norm"), lucid.backends.kernels("norm")
            m = lucid.nn.BatchNorm2d(3)
            x = lucid.randn(4, 3, 5, 5, requires_grad=True)
            m(x).backward(lucid.randn(4, 3, 5, 5))
        print(first.__name__, second is first, len(caught), "numba" in str(caught[0].message))
        lucid.set_num_threads(1)
        print(lucid.get_num_threads(), x.grad.shape == (4, 3, 5, 5))
    """)
    assert out == ["lucid._kernels.norm.reference", "True", "1", "True", "1", "True"]
