"""Collectives on Tensors and arrays: every rank of the group calls them, in the same order.

Arrays go through mpi4py's buffer interface (``Allreduce``, ``Bcast``, ``Allgather``:
the bytes of the array, no pickling). float16 travels as float32 (MPI has no standard
half type) and is rounded back once. On the single-process group every call leaves its
tensors as they are.
"""

import enum

import numpy as np

from .._tensor import Tensor
from .process_group import ProcessGroup, default_group

__all__ = ["ReduceOp", "all_reduce", "broadcast", "all_gather", "barrier"]


class ReduceOp(enum.Enum):
    """How ``all_reduce`` combines the ranks' values, element by element."""

    SUM = "SUM"
    AVG = "AVG"  # SUM, then divided by the world size (floating point only)
    PRODUCT = "PROD"
    MIN = "MIN"
    MAX = "MAX"
    BAND = "BAND"
    BOR = "BOR"
    BXOR = "BXOR"


def _array(fn, tensor):
    if isinstance(tensor, Tensor):
        return tensor.data
    if isinstance(tensor, np.ndarray):
        return tensor
    raise TypeError(f"{fn}: expected a lucid.Tensor or a numpy array (got {type(tensor).__name__})")


def _wire(arr):
    """A contiguous array MPI can send: ``arr`` itself when possible, else a copy (float16 → float32)."""
    if arr.dtype == np.float16:
        return arr.astype(np.float32)
    return arr if arr.flags.c_contiguous and arr.flags.writeable else np.ascontiguousarray(arr).copy()


def allreduce_(arr: np.ndarray, group: ProcessGroup, op: ReduceOp = ReduceOp.SUM) -> None:
    """Reduce the contiguous array ``arr`` across ``group`` in place (lucid's own calls use this)."""
    if group.comm is None:
        return
    from mpi4py import MPI

    mpi_op = MPI.SUM if op is ReduceOp.AVG else getattr(MPI, op.value)
    group.comm.Allreduce(MPI.IN_PLACE, arr, op=mpi_op)
    if op is ReduceOp.AVG:
        arr /= group.size


def allgather(arr: np.ndarray, group: ProcessGroup) -> np.ndarray:
    """``arr`` of every rank stacked in rank order: shape ``(size, *arr.shape)``."""
    send = np.ascontiguousarray(arr)
    if group.comm is None:
        return send[None].copy()
    out = np.empty((group.size,) + send.shape, dtype=send.dtype)
    group.comm.Allgather(send, out)
    return out


def all_reduce(tensor: Tensor, op: ReduceOp = ReduceOp.SUM, group: ProcessGroup | None = None) -> None:
    """Replace ``tensor`` on every rank with ``op`` over all ranks' tensors (in place)."""
    group = default_group(group)
    arr = _array("all_reduce", tensor)
    if not isinstance(op, ReduceOp):
        raise TypeError(f"all_reduce: expected op to be a lucid.distributed.ReduceOp (got {op!r})")
    if op is ReduceOp.AVG and arr.dtype.kind not in "fc":
        raise TypeError(f"all_reduce: ReduceOp.AVG needs a floating point tensor (got {arr.dtype})")
    if op in (ReduceOp.BAND, ReduceOp.BOR, ReduceOp.BXOR) and arr.dtype.kind not in "iub":
        raise TypeError(f"all_reduce: ReduceOp.{op.name} needs an integer or bool tensor (got {arr.dtype})")
    if group.comm is None:
        return
    buf = _wire(arr)
    allreduce_(buf, group, op)
    if buf is not arr:
        arr[...] = buf


def broadcast(tensor: Tensor, src: int, group: ProcessGroup | None = None) -> None:
    """Copy rank ``src``'s ``tensor`` into ``tensor`` on every rank (in place)."""
    group = default_group(group)
    arr = _array("broadcast", tensor)
    if isinstance(src, bool) or not isinstance(src, (int, np.integer)) or not 0 <= src < group.size:
        raise ValueError(f"broadcast: expected src to be a rank from 0 to {group.size - 1} (got {src!r})")
    if group.comm is None:
        return
    buf = _wire(arr)
    group.comm.Bcast(buf, root=int(src))
    if buf is not arr:
        arr[...] = buf


def all_gather(tensor_list: list[Tensor], tensor: Tensor, group: ProcessGroup | None = None) -> None:
    """Fill ``tensor_list[r]`` with rank r's ``tensor``, on every rank. Every rank's tensor must have
    the same shape and dtype (MPI cannot check that: a mismatch garbles the result)."""
    group = default_group(group)
    arr = _array("all_gather", tensor)
    if not isinstance(tensor_list, list) or len(tensor_list) != group.size:
        got = len(tensor_list) if isinstance(tensor_list, list) else type(tensor_list).__name__
        raise ValueError(
            f"all_gather: expected tensor_list to be a list of {group.size} tensors, one per rank (got {got})"
        )
    outs = [_array("all_gather", t) for t in tensor_list]
    for i, o in enumerate(outs):
        if o.shape != arr.shape or o.dtype != arr.dtype:
            raise ValueError(
                f"all_gather: tensor_list[{i}] must have the shape and dtype of tensor, "
                f"{tuple(arr.shape)} {arr.dtype} (got {tuple(o.shape)} {o.dtype})"
            )
    gathered = allgather(_wire(arr), group)
    for o, g in zip(outs, gathered):
        o[...] = g


def barrier(group: ProcessGroup | None = None) -> None:
    """Wait until every rank of the group has called ``barrier``."""
    group = default_group(group)
    if group.comm is not None:
        group.comm.Barrier()
