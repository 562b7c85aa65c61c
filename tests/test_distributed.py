"""lucid.distributed, SyncBatchNorm, DistributedDataParallel and DistributedSampler in one process.

The multi-process checks are in test_distributed_mpi.py; here: the single-process group,
the errors, SyncBatchNorm against PyTorch's (which is plain BatchNorm on one process), the
cross-rank math by finite differences with a stand-in communicator, and PyTorch's sampler.
"""

import re

import numpy as np
import pytest
import torch
from compare import close

import lucid
import lucid.distributed as dist
import lucid.nn as nn
from lucid.autograd import gradcheck
from lucid.autograd.engine import queue_callback
from lucid.nn.functional.sync_batch_norm import _SyncBatchNorm, chan_merge

NOT_INITIALIZED = "Default process group has not been initialized, please make sure to call init_process_group."
LAUNCH_VARS = ("PMI_RANK", "PMI_SIZE", "PMIX_RANK", "OMPI_COMM_WORLD_SIZE", "MPI_LOCALNRANKS")


@pytest.fixture
def group():
    """The single-process default group, destroyed after the test."""
    dist.init_process_group()
    yield dist.process_group.default_group()
    if dist.is_initialized():
        dist.destroy_process_group()


# ---- process group and collectives ------------------------------------------------------------
def test_without_a_group_every_call_says_to_initialize():
    assert not dist.is_initialized()
    for call in (dist.get_rank, dist.get_world_size, dist.barrier, dist.destroy_process_group):
        with pytest.raises(ValueError, match="^" + NOT_INITIALIZED + "$"):
            call()
    with pytest.raises(ValueError, match="has not been initialized"):
        nn.parallel.DistributedDataParallel(nn.Linear(2, 2))


def test_default_outside_mpiexec_is_one_process_and_collectives_change_nothing(group):
    assert (dist.get_rank(), dist.get_world_size(), dist.get_backend(), dist.is_initialized()) == (0, 1, "single", True)
    t = lucid.Tensor([1.5, -2.0])
    for op in (dist.ReduceOp.SUM, dist.ReduceOp.AVG, dist.ReduceOp.MAX, dist.ReduceOp.PRODUCT):
        dist.all_reduce(t, op=op)
    dist.broadcast(t, src=0)
    out = [lucid.zeros(2)]
    dist.all_gather(out, t)
    dist.barrier()
    assert t.tolist() == [1.5, -2.0] and out[0].tolist() == [1.5, -2.0]
    with pytest.raises(ValueError, match="twice"):
        dist.init_process_group()
    dist.destroy_process_group()
    assert not dist.is_initialized()


def test_mpi_backend_outside_mpiexec_says_how_to_install_and_launch(monkeypatch):
    for name in LAUNCH_VARS:
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(RuntimeError, match=r"not started by mpiexec.*pip install 'lucid\[dist\]'.*mpiexec -n N"):
        dist.init_process_group(backend="mpi")
    assert not dist.is_initialized()


def test_mpi_backend_without_mpi4py_says_how_to_install(monkeypatch):
    monkeypatch.setenv("PMI_RANK", "0")
    monkeypatch.setitem(__import__("sys").modules, "mpi4py", None)
    with pytest.raises(RuntimeError, match=r"needs mpi4py.*pip install 'lucid\[dist\]'"):
        dist.init_process_group(backend="mpi")
    assert not dist.is_initialized()


def test_init_arguments_are_checked():
    with pytest.raises(ValueError, match="expected backend 'mpi' or 'single' \\(got 'nccl'\\)"):
        dist.init_process_group("nccl")
    with pytest.raises(ValueError, match="world_size=4 was asked for, but the launcher gives world_size 1"):
        dist.init_process_group(world_size=4)
    assert not dist.is_initialized()


def test_collective_arguments_are_checked(group):
    with pytest.raises(TypeError, match="expected op to be a lucid.distributed.ReduceOp"):
        dist.all_reduce(lucid.zeros(2), op="sum")
    with pytest.raises(TypeError, match="AVG needs a floating point tensor"):
        dist.all_reduce(lucid.Tensor([1, 2]), op=dist.ReduceOp.AVG)
    with pytest.raises(TypeError, match="BXOR needs an integer or bool tensor"):
        dist.all_reduce(lucid.zeros(2), op=dist.ReduceOp.BXOR)
    with pytest.raises(TypeError, match="expected a lucid.Tensor or a numpy array \\(got list\\)"):
        dist.all_reduce([1.0, 2.0])
    with pytest.raises(ValueError, match="expected src to be a rank from 0 to 0 \\(got 1\\)"):
        dist.broadcast(lucid.zeros(2), src=1)
    with pytest.raises(ValueError, match="expected tensor_list to be a list of 1 tensors, one per rank \\(got 2\\)"):
        dist.all_gather([lucid.zeros(2), lucid.zeros(2)], lucid.zeros(2))
    with pytest.raises(ValueError, match=r"tensor_list\[0\] must have the shape and dtype of tensor"):
        dist.all_gather([lucid.zeros(3)], lucid.zeros(2))


# ---- the engine's end-of-backward callbacks ---------------------------------------------------
def test_queued_callback_runs_once_after_every_gradient_is_delivered():
    x = lucid.Tensor([1.0, 2.0], requires_grad=True)
    seen = []

    class Probe(lucid.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 1

        @staticmethod
        def backward(ctx, g):
            queue_callback(lambda: seen.append(None if x.grad is None else x.grad.tolist()))
            return g

    (Probe.apply(x) * 3).sum().backward()
    assert seen == [[3.0, 3.0]]  # run after x.grad was filled, once
    lucid.autograd.grad((Probe.apply(x) * 3).sum(), [x])
    assert seen == [[3.0, 3.0]]  # autograd.grad drops the queue


# ---- Chan's merge -------------------------------------------------------------------------------
def test_chan_merge_gives_the_moments_of_the_concatenation(rng):
    """Parts of 5, 0, 1 and 7 values around 1e8: the merged mean and M2 match the whole array's."""
    sizes = [5, 0, 1, 7]
    x = 1e8 + rng.standard_normal((sum(sizes), 2))
    parts, lo = [], 0
    for n in sizes:
        p = x[lo : lo + n]
        mean = p.mean(axis=0) if n else np.zeros(2)
        parts.append([np.full(2, n), mean, ((p - mean) ** 2).sum(axis=0)])
        lo += n
    n, mean, m2 = chan_merge(np.array(parts, dtype=np.float64))
    assert n.tolist() == [13.0, 13.0]
    np.testing.assert_allclose(mean, x.mean(axis=0), rtol=1e-15)
    # the values themselves are only known to ulp(1e8) = 1.5e-8: the variance agrees to that
    np.testing.assert_allclose(m2 / n, x.var(axis=0), rtol=1e-7)
    naive = (x * x).mean(axis=0) - x.mean(axis=0) ** 2  # what merging Σx and Σx² would give
    assert np.abs(naive - x.var(axis=0)).max() > 0.1


# ---- SyncBatchNorm ----------------------------------------------------------------------------
class _OtherRank:
    """A stand-in communicator for rank 0 of 2 whose peer holds ``other`` (N, C, L) and sends zero gradient:
    Allgather adds the peer's (count, mean, M2); Allreduce adds the peer's backward sums, which are 0."""

    def __init__(self, other):
        self.stats = np.stack(
            [
                np.full(other.shape[1], other.shape[0] * other.shape[2]),
                other.mean(axis=(0, 2)),
                ((other - other.mean(axis=(0, 2))[None, :, None]) ** 2).sum(axis=(0, 2)),
            ]
        )

    def Allgather(self, send, out):
        out[0], out[1] = send, self.stats

    def Allreduce(self, _, arr, op):
        pass


def test_sync_batch_norm_gradient_across_ranks_by_finite_differences(rng):
    """The gradient of rank 0's output when the statistics also span another rank's values."""
    peer = dist.ProcessGroup(_OtherRank(rng.standard_normal((3, 2, 4)) + 2), 0, 2, "mpi")
    x = lucid.Tensor(rng.standard_normal((2, 2, 2, 2)), requires_grad=True)
    w = lucid.Tensor(rng.standard_normal(2) + 1, requires_grad=True)
    b = lucid.Tensor(rng.standard_normal(2), requires_grad=True)
    f = lambda x, w, b: _SyncBatchNorm.apply(x, w, b, eps=1e-5, running=None, group=peer)  # noqa: E731
    assert gradcheck(f, (x, w, b))
    # and the values: BatchNorm over the union, restricted to this rank's part
    other = rng.standard_normal((3, 2, 4))
    peer = dist.ProcessGroup(_OtherRank(other), 0, 2, "mpi")
    whole = np.concatenate([x.data.reshape(2, 2, 4), other])
    ref = torch.nn.functional.batch_norm(
        torch.tensor(whole), None, None, torch.tensor(w.data), torch.tensor(b.data), training=True
    )
    y = _SyncBatchNorm.apply(x, w, b, eps=1e-5, running=None, group=peer)
    close(y.reshape(2, 2, 4), ref[:2])


def test_syncbatchnorm_on_one_process_is_pytorch_syncbatchnorm(group, rng):
    """Training and eval, float64: output, gradients and running statistics (PyTorch falls back to
    BatchNorm when no process group is initialized)."""
    ours = nn.SyncBatchNorm(3, momentum=None, dtype=lucid.float64)
    theirs = torch.nn.SyncBatchNorm(3, momentum=None, dtype=torch.float64)
    w, b = rng.standard_normal(3), rng.standard_normal(3)
    ours.weight.data[...], ours.bias.data[...] = w, b
    with torch.no_grad():
        theirs.weight[...], theirs.bias[...] = torch.tensor(w), torch.tensor(b)
    for training in (True, True, False):
        ours.train(training), theirs.train(training)
        x = rng.standard_normal((4, 3, 2, 5)) * 2 + 1
        g = rng.standard_normal(x.shape)
        xl, xt = lucid.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        yl, yt = ours(xl), theirs(xt)
        yl.backward(g), yt.backward(torch.tensor(g))
        close(yl, yt), close(xl.grad, xt.grad)
        close(ours.weight.grad, theirs.weight.grad), close(ours.bias.grad, theirs.bias.grad)
        close(ours.running_mean, theirs.running_mean), close(ours.running_var, theirs.running_var)
    assert int(ours.num_batches_tracked.data) == int(theirs.num_batches_tracked) == 2


def test_syncbatchnorm_state_dict_keys_are_batchnorms_and_pytorchs():
    ours = nn.SyncBatchNorm(4).state_dict()
    assert list(ours) == list(torch.nn.SyncBatchNorm(4).state_dict()) == list(nn.BatchNorm2d(4).state_dict())
    bn = nn.BatchNorm2d(4)
    bn.running_mean.data[...] = [1, 2, 3, 4]
    sync = nn.SyncBatchNorm(4)
    sync.load_state_dict(bn.state_dict())
    assert sync.running_mean.tolist() == [1, 2, 3, 4]


@pytest.mark.parametrize(
    "shape, message",
    [
        ((4,), "expected at least 2D input (got 1D input)"),
        ((4, 0, 3), "SyncBatchNorm number of input channels should be non-zero"),
    ],
)
def test_syncbatchnorm_input_errors_are_pytorchs(shape, message):
    x = np.zeros(shape, np.float32)
    for module, t in ((nn.SyncBatchNorm(3), lucid.Tensor(x)), (torch.nn.SyncBatchNorm(3), torch.tensor(x))):
        with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
            module(t)
    with pytest.raises(ValueError, match="expected input's size at dim=1 to match num_features \\(3\\), but got: 2"):
        nn.SyncBatchNorm(3)(lucid.zeros(4, 2))


def test_convert_sync_batchnorm_shares_parameters_buffers_and_mode():
    model = nn.Sequential(
        nn.Conv2d(1, 3, 3),
        nn.BatchNorm2d(3),
        nn.Sequential(nn.BatchNorm1d(2, affine=False)),
        nn.BatchNorm3d(5, track_running_stats=False),
    )
    model[1].running_mean.data[...] = [1, 2, 3]
    model[1].num_batches_tracked.data[...] = 7
    model.eval()
    bn, bn1, bn3 = model[1], model[2][0], model[3]
    out = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    assert out is model  # the root is no BatchNorm: the same module, children replaced
    assert [type(m).__name__ for m in (out[0], out[1], out[2][0], out[3])] == ["Conv2d"] + ["SyncBatchNorm"] * 3
    assert out[1].weight is bn.weight and out[1].bias is bn.bias and out[1].running_mean is bn.running_mean
    assert out[1].num_batches_tracked is bn.num_batches_tracked and int(out[1].num_batches_tracked.data) == 7
    assert out[2][0].weight is None and out[2][0].running_var is bn1.running_var
    assert out[3].running_mean is None and out[3].track_running_stats is False and bn3.num_features == 5
    assert not out[1].training
    single = nn.SyncBatchNorm.convert_sync_batchnorm(nn.BatchNorm2d(2))
    assert type(single) is nn.SyncBatchNorm


# ---- DistributedDataParallel on one process -----------------------------------------------------
def test_ddp_on_one_process_trains_like_the_bare_module(group, rng):
    x = rng.standard_normal((4, 3))
    lucid.manual_seed(1)
    bare = nn.Linear(3, 2).double()
    lucid.manual_seed(1)
    ddp = nn.parallel.DistributedDataParallel(nn.Linear(3, 2).double())
    for m in (bare, ddp):
        (m(lucid.Tensor(x)) ** 2).sum().backward()
    np.testing.assert_array_equal(ddp.module.weight.grad, bare.weight.grad)
    with ddp.no_sync():
        assert ddp.require_backward_grad_sync is False
    assert ddp.require_backward_grad_sync is True


def test_ddp_state_dict_has_the_modules_keys_and_loads_pytorch_prefixed_ones(group):
    ddp = nn.parallel.DistributedDataParallel(nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2)))
    keys = list(ddp.state_dict())
    assert keys == list(ddp.module.state_dict()) and keys[0] == "0.weight"
    prefixed = {"module." + k: v * 0 + 3 for k, v in ddp.state_dict().items()}
    ddp.load_state_dict(prefixed)
    assert ddp.module[0].weight.data.tolist() == [[3.0, 3.0], [3.0, 3.0]]


def test_ddp_arguments_are_checked(group):
    with pytest.raises(TypeError, match="expected a lucid.nn.Module \\(got int\\)"):
        nn.parallel.DistributedDataParallel(3)
    with pytest.raises(ValueError, match="device_ids must be None on the CPU"):
        nn.parallel.DistributedDataParallel(nn.Linear(2, 2), device_ids=[0])
    with pytest.raises(ValueError, match="bucket_cap_mb must be positive"):
        nn.parallel.DistributedDataParallel(nn.Linear(2, 2), bucket_cap_mb=0)


def test_ddp_buckets_are_capped_and_in_reverse_order():
    from lucid.nn.parallel.distributed import _buckets

    params = [nn.Parameter(np.zeros(n, np.float32)) for n in (10, 20, 30)] + [nn.Parameter(np.zeros(4))]
    buckets = _buckets(list(reversed(params)), cap_bytes=200)  # 50 float32 values per bucket
    assert [[p.data.size for p in b.params] for b in buckets] == [[4], [30, 20], [10]]
    assert [b.flat.dtype.name for b in buckets] == ["float64", "float32", "float32"]


# ---- DistributedSampler -----------------------------------------------------------------------
@pytest.mark.parametrize("n", [7, 8, 10, 2])
@pytest.mark.parametrize("replicas", [2, 3])
@pytest.mark.parametrize("drop_last", [False, True])
def test_distributed_sampler_partitions_like_pytorch(n, replicas, drop_last):
    data = list(range(n))
    for rank in range(replicas):
        ours = lucid.data.DistributedSampler(data, replicas, rank, shuffle=False, drop_last=drop_last)
        theirs = torch.utils.data.DistributedSampler(data, replicas, rank, shuffle=False, drop_last=drop_last)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)


def test_distributed_sampler_shuffles_the_same_way_on_every_rank_and_per_epoch():
    samplers = [lucid.data.DistributedSampler(range(12), 3, r, seed=4) for r in range(3)]
    first = [list(s) for s in samplers]
    assert sorted(sum(first, [])) == list(range(12)) and first[0] != [0, 3, 6, 9]
    for s in samplers:
        s.set_epoch(1)
    second = [list(s) for s in samplers]
    assert sorted(sum(second, [])) == list(range(12)) and second != first


def test_distributed_sampler_errors():
    with pytest.raises(ValueError, match=r"^Invalid rank 3, rank should be in the interval \[0, 2\]$"):
        lucid.data.DistributedSampler(range(5), 3, 3)
    with pytest.raises(ValueError, match=r"Invalid rank 3, rank should be in the interval \[0, 2\]"):
        torch.utils.data.DistributedSampler(range(5), 3, 3)
    with pytest.raises(RuntimeError, match="give num_replicas and rank, or call"):
        lucid.data.DistributedSampler(range(5))
