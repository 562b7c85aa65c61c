"""Checks run by every rank under ``mpiexec`` (tests/test_distributed_mpi.py launches it).

``python tests/dist_worker.py MODE``; rank 0 prints one line ``RESULT {json}`` that the
test reads. Each rank computes its figures; rank 0 gathers them. The reference is one
process's BatchNorm2d (or model) over the whole batch, computed on every rank from the
same seeded data.
"""

import json
import sys

import numpy as np

import lucid
import lucid.distributed as dist
import lucid.nn as nn
import lucid.nn.functional as F


def split(sizes, rank):
    lo = sum(sizes[:rank])
    return slice(lo, lo + sizes[rank])


def gather_max(value):
    """The max over the ranks of a float."""
    a = np.array([value], dtype=np.float64)
    dist.all_reduce(a, dist.ReduceOp.MAX)
    return float(a[0])


def syncbn_vs_batchnorm(sizes, dtype, seed=0):
    """SyncBatchNorm over the ranks' parts vs one BatchNorm2d over the whole batch: max abs differences
    (and, in float32, max differences in units of float32 spacing of the reference)."""
    rank = dist.get_rank()
    rng = np.random.default_rng(seed)
    N, C, H, W = sum(sizes), 3, 2, 3
    x = (rng.standard_normal((N, C, H, W)) * 3 + 5).astype(dtype)
    g = rng.standard_normal((N, C, H, W)).astype(dtype)
    w, b = rng.standard_normal(C).astype(dtype), rng.standard_normal(C).astype(dtype)
    part = split(sizes, rank)

    def run(module, xs, gs):
        module.weight.data[...], module.bias.data[...] = w, b
        module(lucid.Tensor(xs))  # a first step moves the running statistics
        xt = lucid.Tensor(xs, requires_grad=True)
        y = module(xt)
        (y * lucid.Tensor(gs)).sum().backward()
        return y.data, xt.grad, module.weight.grad, module.bias.grad, module

    ref = run(nn.BatchNorm2d(C, dtype=dtype), x, g)
    got = run(nn.SyncBatchNorm(C, dtype=dtype), x[part], g[part])
    dw, db = got[2].copy(), got[3].copy()
    dist.all_reduce(dw)
    dist.all_reduce(db)
    errs = {
        "y": np.abs(got[0] - ref[0][part]).max(initial=0),
        "dx": np.abs(got[1] - ref[1][part]).max(initial=0),
        "dw": np.abs(dw - ref[2]).max(),
        "db": np.abs(db - ref[3]).max(),
        "running_mean": np.abs(got[4].running_mean.data - ref[4].running_mean.data).max(),
        "running_var": np.abs(got[4].running_var.data - ref[4].running_var.data).max(),
    }
    errs = {k: gather_max(float(v)) for k, v in errs.items()}
    if dtype == np.float32:
        spacing = np.spacing(np.abs(ref[0][part]).astype(np.float32))
        errs["y_ulps"] = gather_max(float((np.abs(got[0] - ref[0][part]) / spacing).max(initial=0)))
    errs["batches_tracked"] = int(got[4].num_batches_tracked.data)
    errs["running_bitwise_equal_across_ranks"] = same_on_all_ranks(
        np.concatenate([got[4].running_mean.data, got[4].running_var.data])
    )
    return errs


def same_on_all_ranks(arr):
    rows = np.empty((dist.get_world_size(),) + arr.shape, arr.dtype)
    dist.all_gather(list(rows), arr)
    return bool(all(np.array_equal(r, rows[0]) for r in rows))


def too_few_values(sizes):
    """A global batch of one value per channel: every rank raises PyTorch's ValueError, state untouched."""
    bn = nn.SyncBatchNorm(2)
    x = np.ones((sizes[dist.get_rank()], 2), np.float32)
    try:
        bn(lucid.Tensor(x))
        return "no error"
    except ValueError as e:
        untouched = int(bn.num_batches_tracked.data) == 0 and np.array_equal(bn.running_mean.data, np.zeros(2))
        return str(e) if untouched else "state changed"


def convnet(norm):
    return nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), norm(4), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 4 * 4, 3))


def ddp_training(steps=5):
    """5 SGD steps of DDP+SyncBatchNorm on halves vs one process on the whole batch."""
    rank, world = dist.get_rank(), dist.get_world_size()
    rng = np.random.default_rng(1)
    N = 4 * world
    x, y = rng.standard_normal((steps, N, 2, 4, 4)), rng.integers(0, 3, (steps, N))
    lucid.manual_seed(100)
    ref = convnet(nn.BatchNorm2d).double()
    lucid.manual_seed(100 + rank)  # different on every rank: DDP must copy rank 0's, which is ref's
    local = convnet(nn.BatchNorm2d).double()
    model = nn.parallel.DistributedDataParallel(nn.SyncBatchNorm.convert_sync_batchnorm(local))
    opt_ref = lucid.optim.SGD(ref.parameters(), lr=0.1, momentum=0.9)
    opt = lucid.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    part = split([4] * world, rank)
    for s in range(steps):
        opt_ref.zero_grad()
        F.cross_entropy(ref(lucid.Tensor(x[s])), lucid.Tensor(y[s])).backward()
        opt_ref.step()
        opt.zero_grad()
        F.cross_entropy(model(lucid.Tensor(x[s][part])), lucid.Tensor(y[s][part])).backward()
        opt.step()
    mine, theirs = model.state_dict(), ref.state_dict()
    err = max(float(np.abs(mine[k].data.astype(np.float64) - theirs[k].data).max()) for k in theirs)
    flat = np.concatenate([p.data.ravel() for p in model.parameters()])
    return {
        "max_err": gather_max(err),
        "bitwise_equal_across_ranks": same_on_all_ranks(flat),
        "keys": sorted(mine) == sorted(theirs),
    }


def ddp_plain_batchnorm_stays_equal(steps=3):
    """With plain BatchNorm2d each rank normalizes its own half, yet the replicas stay equal bit for bit."""
    rank = dist.get_rank()
    rng = np.random.default_rng(2 + rank)
    lucid.manual_seed(rank)
    model = nn.parallel.DistributedDataParallel(convnet(nn.BatchNorm2d))
    opt = lucid.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(steps):
        xb = lucid.Tensor(rng.standard_normal((4, 2, 4, 4)).astype(np.float32))
        yb = lucid.Tensor(rng.integers(0, 3, 4))
        opt.zero_grad()
        F.cross_entropy(model(xb), yb).backward()
        opt.step()
    flat = np.concatenate([p.data.ravel() for p in model.parameters()])
    return same_on_all_ranks(flat)


def sq(t):
    return (t * t).sum()


def ddp_no_sync():
    """Two micro-batches, the first under no_sync: the result is the mean over ranks of the summed gradients."""
    rank, world = dist.get_rank(), dist.get_world_size()
    rng = np.random.default_rng(3)
    x = rng.standard_normal((world, 2, 3, 5))
    lucid.manual_seed(0)
    ref = nn.Linear(5, 2).double()
    model = nn.parallel.DistributedDataParallel(nn.Linear(5, 2).double())
    model.load_state_dict(ref.state_dict())
    with model.no_sync():
        sq(model(lucid.Tensor(x[rank, 0]))).backward()
    local_only = not same_on_all_ranks(model.module.weight.grad)
    sq(model(lucid.Tensor(x[rank, 1]))).backward()
    for r in range(world):
        for m in range(2):
            sq(ref(lucid.Tensor(x[r, m]))).backward()
    err = max(
        np.abs(model.module.weight.grad - ref.weight.grad / world).max(),
        np.abs(model.module.bias.grad - ref.bias.grad / world).max(),
    )
    return {"local_only_inside": local_only, "max_err": gather_max(float(err))}


def collectives():
    rank, world = dist.get_rank(), dist.get_world_size()
    out = {}
    t = lucid.Tensor(np.arange(6, dtype=np.float64).reshape(2, 3) + rank)
    dist.all_reduce(t)
    out["sum"] = t.data.tolist()
    t = lucid.Tensor(np.array([rank, -rank], dtype=np.int64))
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    out["max"] = t.data.tolist()
    t = lucid.Tensor(np.full(3, rank + 1.0, dtype=np.float16))
    dist.all_reduce(t, op=dist.ReduceOp.AVG)
    out["avg_f16"] = [t.data.dtype.name] + t.data.tolist()
    a = np.zeros((3, 4))
    a[:, ::2] = rank + 1  # a strided view
    view = a[:, ::2]
    dist.all_reduce(view)
    out["strided"] = a.tolist()
    t = lucid.Tensor(np.full(2, float(rank)))
    dist.broadcast(t, src=world - 1)
    out["broadcast"] = t.data.tolist()
    parts = [lucid.zeros(2, dtype=lucid.int64) for _ in range(world)]
    dist.all_gather(parts, lucid.Tensor(np.array([rank, 10 * rank])))
    out["all_gather"] = [p.data.tolist() for p in parts]
    dist.barrier()
    sampler = lucid.data.DistributedSampler(list(range(7)), shuffle=False)
    mine = np.array(list(sampler), dtype=np.int64)
    rows = np.empty((world, len(mine)), np.int64)
    dist.all_gather(list(rows), mine)
    out["sampler"] = rows.tolist()
    return out


def main(mode):
    dist.init_process_group(backend="mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    if mode == "main":
        result = {
            "world": world,
            "collectives": collectives(),
            "syncbn64": syncbn_vs_batchnorm([3, 2], np.float64),
            "syncbn32": syncbn_vs_batchnorm([3, 2], np.float32),
            "ddp": ddp_training(),
            "plain_bn_equal": ddp_plain_batchnorm_stays_equal(),
            "no_sync": ddp_no_sync(),
        }
    elif mode == "unequal":
        result = {
            "world": world,
            "syncbn64": syncbn_vs_batchnorm([3, 0, 2], np.float64, seed=5),
            "syncbn32": syncbn_vs_batchnorm([1, 4, 0], np.float32, seed=6),
            "too_few": too_few_values([1, 0, 0]),
            "ddp": ddp_training(steps=2),
        }
    elif mode == "fail":
        if rank == 1:
            raise RuntimeError("rank 1 fails on purpose")
        dist.barrier()  # rank 1 never comes: only the abort ends this wait
        result = {"reached": "barrier passed"}
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    if rank == 0:
        print("RESULT " + json.dumps(result), flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1])
