"""Data parallel training across processes, on MPI (mpi4py), with PyTorch's names.

::

    import lucid.distributed as dist
    dist.init_process_group()           # under mpiexec: MPI; alone: one process
    rank, world = dist.get_rank(), dist.get_world_size()
    dist.all_reduce(t)                  # t ← Σ over ranks, in place

Launch with ``mpiexec -n 2 python script.py``. ``lucid.nn.SyncBatchNorm`` and
``lucid.nn.parallel.DistributedDataParallel`` build on these calls.
"""

from .collectives import ReduceOp, all_gather, all_reduce, barrier, broadcast
from .process_group import (
    ProcessGroup,
    destroy_process_group,
    get_backend,
    get_rank,
    get_world_size,
    init_process_group,
    is_available,
    is_initialized,
    is_mpi_available,
)

__all__ = [
    "ReduceOp",
    "all_gather",
    "all_reduce",
    "barrier",
    "broadcast",
    "ProcessGroup",
    "destroy_process_group",
    "get_backend",
    "get_rank",
    "get_world_size",
    "init_process_group",
    "is_available",
    "is_initialized",
    "is_mpi_available",
]
