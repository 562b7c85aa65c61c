"""lucid.distributed across real processes: each test module launch runs ``mpiexec -n 2`` or ``-n 3``.

Few launches, many checks: ``tests/dist_worker.py`` runs every check of one launch and rank 0
prints the figures as JSON, which these tests assert on. mpiexec comes from the venv
(the ``mpich`` package), next to ``sys.executable``.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WORKER = Path(__file__).resolve().parent / "dist_worker.py"
TIMEOUT = 180  # seconds for one launch: a hang fails the test instead of stalling the suite


def mpiexec():
    here = Path(sys.executable).parent / "mpiexec"
    found = str(here) if here.exists() else shutil.which("mpiexec")
    assert found, "mpiexec not found next to sys.executable nor on PATH: pip install 'lucid[dist]' (mpi4py, mpich)"
    return found


def launch(n, *args):
    """Run ``mpiexec -n n python *args`` with one thread per process; returns the CompletedProcess."""
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", NUMBA_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    return subprocess.run(
        [mpiexec(), "-n", str(n), sys.executable, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


def result(n, mode):
    run = launch(n, str(WORKER), mode)
    assert run.returncode == 0, run.stdout + run.stderr
    lines = [line for line in run.stdout.splitlines() if line.startswith("RESULT ")]
    assert len(lines) == 1, run.stdout + run.stderr
    return json.loads(lines[0][len("RESULT ") :])


@pytest.fixture(scope="module")
def two():
    return result(2, "main")


@pytest.fixture(scope="module")
def three():
    return result(3, "unequal")


def test_collectives_on_two_ranks(two):
    c = two["collectives"]
    assert two["world"] == 2
    assert c["sum"] == [[1.0, 3.0, 5.0], [7.0, 9.0, 11.0]]  # rank 0's 0..5 plus rank 1's 1..6
    assert c["max"] == [1, 0]
    assert c["avg_f16"] == ["float16", 1.5, 1.5, 1.5]
    assert c["strided"] == [[3.0, 0.0, 3.0, 0.0]] * 3  # a strided view is reduced in place, the rest untouched
    assert c["broadcast"] == [1.0, 1.0]
    assert c["all_gather"] == [[0, 0], [1, 10]]


def test_distributed_sampler_takes_the_group_and_partitions_like_pytorch(two):
    # 7 indices on 2 ranks: padded with index 0, rank r takes positions r, r + 2, ...
    assert two["collectives"]["sampler"] == [[0, 2, 4, 6], [1, 3, 5, 0]]


@pytest.mark.parametrize("case", ["two", "three"])
def test_syncbatchnorm_equals_batchnorm_over_the_whole_batch_float64(case, request):
    """forward, dx, dγ, dβ (summed over ranks) and running statistics after two steps, to 1e-10."""
    r = request.getfixturevalue(case)["syncbn64"]
    for key in ("y", "dx", "dw", "db", "running_mean", "running_var"):
        assert r[key] < 1e-10, (key, r[key])
    assert r["batches_tracked"] == 2
    assert r["running_bitwise_equal_across_ranks"]


@pytest.mark.parametrize("case", ["two", "three"])
def test_syncbatchnorm_float32_within_one_rounding(case, request):
    r = request.getfixturevalue(case)["syncbn32"]
    assert r["y_ulps"] <= 1.0
    assert r["dx"] < 1e-5 and r["running_mean"] < 1e-6 and r["running_var"] < 1e-5
    assert r["running_bitwise_equal_across_ranks"]


def test_three_ranks_have_unequal_and_empty_batches(three):
    # batches of 3, 0 and 2 images (float64), 1, 4 and 0 (float32): checked by the two tests above
    assert three["world"] == 3


def test_fewer_than_two_values_over_all_ranks_raises_on_every_rank(three):
    assert three["too_few"] == (
        "Expected more than 1 value per channel when training, got input size (1, 2) "
        "(1 value(s) per channel over all 3 ranks)"
    )


@pytest.mark.parametrize("case", ["two", "three"])
def test_ddp_with_syncbatchnorm_trains_like_one_process_on_the_whole_batch(case, request):
    r = request.getfixturevalue(case)["ddp"]
    assert r["max_err"] < 1e-10  # parameters and running statistics after the SGD steps
    assert r["bitwise_equal_across_ranks"]
    assert r["keys"]


def test_ddp_with_plain_batchnorm_keeps_replicas_identical(two):
    assert two["plain_bn_equal"] is True


def test_ddp_no_sync_accumulates_locally_then_averages_the_sum(two):
    assert two["no_sync"]["local_only_inside"] is True
    assert two["no_sync"]["max_err"] < 1e-12


def test_a_rank_that_raises_ends_the_job_with_an_error():
    """Rank 1 raises while rank 0 waits in a barrier: the abort ends both (launch's timeout bounds it)."""
    run = launch(2, str(WORKER), "fail")
    assert run.returncode != 0
    assert "RuntimeError: rank 1 fails on purpose" in run.stderr
    assert "rank 1 of 2 raised RuntimeError; aborting all ranks" in run.stderr
    assert "RESULT" not in run.stdout


def test_distributed_demo(tmp_path):
    run = launch(2, "-m", "lucid.demo", "--distributed", "--epochs", "1", "--limit", "200", "--out", str(tmp_path))
    assert run.returncode == 0, run.stdout + run.stderr
    text = run.stdout
    rows = [line for line in text.splitlines() if line.startswith("| ") and "%" in line]
    assert [r.split("|")[1].strip() for r in rows] == ["BatchNorm2d", "SyncBatchNorm"]
    assert text.count("parameters identical on all 2 ranks") == 2
    assert "DIFFER" not in text
