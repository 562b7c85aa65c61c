"""``mpiexec -n 2 python -m lucid.demo --distributed``: the demo's ConvNet trained data parallel.

Every rank holds a replica wrapped in ``DistributedDataParallel`` and trains on its share of
each global batch of 64 (``DistributedSampler``). Two variants: BatchNorm2d, whose statistics
are each rank's own (32 images with 2 ranks), and SyncBatchNorm, whose statistics are the
whole global batch's, as on one process. Rank 0 prints the table; at the end every rank
checks that all ranks hold the same parameters, bit for bit, and says whether the running
statistics agree too: SyncBatchNorm's always do; BatchNorm2d's are each rank's own after
its last step (DDP copies rank 0's at the start of every training forward).
"""

import time

import numpy as np

import lucid
import lucid.distributed as dist
import lucid.nn as nn
import lucid.nn.functional as F

from .demo import ConvNet, evaluate, load_data, results_table

VARIANTS = ("BatchNorm2d", "SyncBatchNorm")


def build(variant):
    model = ConvNet("BatchNorm2d")
    return nn.SyncBatchNorm.convert_sync_batchnorm(model) if variant == "SyncBatchNorm" else model


def train_variant(variant, data, epochs, seed, global_batch=64, lr=3e-3):
    """Train one variant data parallel; returns (history, the DDP-wrapped model)."""
    x_train, y_train, x_test, y_test = data
    rank, world = dist.get_rank(), dist.get_world_size()
    lucid.manual_seed(seed)
    model = nn.parallel.DistributedDataParallel(build(variant))
    opt = lucid.optim.Adam(model.parameters(), lr=lr)
    sched = lucid.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    sampler = lucid.data.DistributedSampler(x_train, shuffle=True, seed=seed)
    local_batch = max(1, global_batch // world)
    hist = {"loss": [], "acc": [], "secs": []}
    for epoch in range(epochs):
        sampler.set_epoch(epoch)
        order = np.fromiter(sampler, dtype=np.int64)
        model.train()
        total, start = 0.0, time.perf_counter()
        for lo in range(0, len(order), local_batch):
            idx = order[lo : lo + local_batch]
            loss = F.cross_entropy(model(lucid.Tensor(x_train[idx])), lucid.Tensor(y_train[idx]))
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        sched.step()
        hist["secs"].append(time.perf_counter() - start)
        mean_loss = np.array([total / len(order)])
        dist.all_reduce(mean_loss, dist.ReduceOp.AVG)
        hist["loss"].append(float(mean_loss[0]))
        if rank == 0:
            hist["acc"].append(evaluate(model.module, x_test, y_test)[0])
    if rank == 0:
        print(
            f"{variant:>14}: test accuracy {100 * hist['acc'][-1]:5.1f}%  ({np.mean(hist['secs']):.2f} s/epoch "
            f"on {world} ranks)",
            flush=True,
        )
    return hist, model


def identical_on_all_ranks(tensors):
    """True on every rank when every rank's ``tensors`` are the same bits as rank 0's."""
    mine = np.concatenate([t.data.astype(np.float64).ravel() for t in tensors])
    rows = np.empty((dist.get_world_size(),) + mine.shape)
    dist.all_gather(list(rows), mine)
    return all(np.array_equal(r.view(np.uint64), rows[0].view(np.uint64)) for r in rows)


def main_distributed(args):
    dist.init_process_group()
    rank, world = dist.get_rank(), dist.get_world_size()
    start = time.perf_counter()
    data = load_data(args.seed, args.limit)
    if rank == 0:
        print(
            f"digits: {len(data[1])} training and {len(data[3])} test images, {world} rank(s), global batch 64 "
            f"({64 // world} per rank), {args.epochs} epoch{'s' * (args.epochs != 1)} per variant",
            flush=True,
        )
    histories, same, buffers = {}, {}, {}
    for variant in VARIANTS:
        histories[variant], model = train_variant(variant, data, args.epochs, args.seed)
        same[variant] = identical_on_all_ranks(model.parameters())
        buffers[variant] = identical_on_all_ranks(model.buffers())
    if rank == 0:
        print()
        print(results_table(histories))
    ok = all(same.values())
    verdict = "parameters identical on all" if ok else "parameters DIFFER across"
    print(
        f"rank {rank}: {verdict} {world} ranks ({', '.join(f'{v}: {same[v]}' for v in VARIANTS)}); "
        f"running statistics identical: {', '.join(f'{v}: {buffers[v]}' for v in VARIANTS)}",
        flush=True,
    )
    dist.barrier()
    if rank == 0:
        print(f"total time: {time.perf_counter() - start:.0f} s")
    dist.destroy_process_group()
    return 0 if ok else 1
