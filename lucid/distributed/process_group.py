"""The process group: which processes train together, and how one failure stops them all.

lucid runs data parallel on MPI through mpi4py. Launch N copies of a script with
``mpiexec -n N python script.py``; each calls ``init_process_group()`` and learns its
rank (0 … N−1) and the world size N from MPI. Without ``mpiexec`` the same script runs
as one process: ``init_process_group()`` then makes a single-process group whose
collectives leave every tensor as it is.

A rank that raises must not leave the others waiting forever inside a collective: once
the group is made, an uncaught exception prints its traceback and then aborts the whole
MPI job (``MPI_Abort``), so ``mpiexec`` ends with a non-zero exit.
"""

import os
import sys
from typing import Any

__all__ = [
    "ProcessGroup",
    "init_process_group",
    "destroy_process_group",
    "is_initialized",
    "is_available",
    "is_mpi_available",
    "get_rank",
    "get_world_size",
    "get_backend",
]

# environment variables that MPI launchers (MPICH/Hydra, Intel MPI, Open MPI, PMIx, Slurm) give each rank
_LAUNCH_VARS = ("PMI_RANK", "PMI_SIZE", "PMIX_RANK", "OMPI_COMM_WORLD_SIZE", "MPI_LOCALNRANKS")
_BACKENDS = ("mpi", "single")
_HOW = (
    "install the MPI extra with `pip install 'lucid[dist]'` (mpi4py and the mpich runtime, which brings "
    "`mpiexec`), then launch N processes with `mpiexec -n N python script.py`"
)


class ProcessGroup:
    """A set of ranks that run collectives together: ``rank``, ``size`` and the MPI communicator
    (``comm``; None for the single-process group)."""

    def __init__(self, comm: Any, rank: int, size: int, backend: str) -> None:
        self.comm, self.rank, self.size, self.backend = comm, rank, size, backend

    def __repr__(self) -> str:
        return f"ProcessGroup(backend={self.backend!r}, rank={self.rank}, size={self.size})"


_world = None  # the default group, once init_process_group made it
_saved_hook = None  # sys.excepthook from before init_process_group


def is_available() -> bool:
    """True: lucid.distributed is always there (MPI itself needs mpi4py, see ``is_mpi_available``)."""
    return True


def is_mpi_available() -> bool:
    """True when mpi4py can be imported."""
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return False
    return True


def _launched_by_mpiexec():
    return any(name in os.environ for name in _LAUNCH_VARS)


def init_process_group(backend: str | None = None, *, world_size: int = -1, rank: int = -1) -> None:
    """Make the default process group of this process.

    ``backend="mpi"``: rank and world size from MPI (the script must run under ``mpiexec``);
    ``backend="single"``: one process, rank 0 of 1, no MPI; ``None`` (default): ``"mpi"``
    under ``mpiexec``, else ``"single"``. ``world_size`` and ``rank``, when given, must
    agree with what the launcher says.
    """
    global _world, _saved_hook
    if _world is not None:
        raise ValueError("trying to initialize the default process group twice!")
    if backend is None:
        backend = "mpi" if _launched_by_mpiexec() else "single"
    if backend not in _BACKENDS:
        raise ValueError(f"init_process_group: expected backend 'mpi' or 'single' (got {backend!r})")
    if backend == "single":
        group = ProcessGroup(None, 0, 1, "single")
    else:
        if not _launched_by_mpiexec():
            raise RuntimeError(
                "init_process_group(backend='mpi'): this process was not started by mpiexec "
                f"(no MPI launcher variables such as PMI_RANK are set); {_HOW}. "
                "For one process without MPI, call init_process_group() or backend='single'."
            )
        try:
            from mpi4py import MPI
        except ImportError as e:
            raise RuntimeError(
                f"init_process_group(backend='mpi') needs mpi4py, which could not be imported ({e}); {_HOW}"
            ) from None
        comm = MPI.COMM_WORLD.Dup()  # lucid's own communicator: its messages never meet the user's
        group = ProcessGroup(comm, comm.Get_rank(), comm.Get_size(), "mpi")
    for name, asked, got in (("world_size", world_size, group.size), ("rank", rank, group.rank)):
        if asked != -1 and asked != got:
            if group.comm is not None:
                group.comm.Free()
            raise ValueError(f"init_process_group: {name}={asked} was asked for, but the launcher gives {name} {got}")
    _world = group
    if group.size > 1:
        _saved_hook, sys.excepthook = sys.excepthook, _abort_on_exception


def _abort_on_exception(kind, value, tb):
    """Print the exception as Python would, then end every rank of the job (MPI_Abort)."""
    group = _world
    (_saved_hook or sys.__excepthook__)(kind, value, tb)
    if group is not None and group.comm is not None:
        print(
            f"lucid.distributed: rank {group.rank} of {group.size} raised {kind.__name__}; aborting all ranks",
            file=sys.stderr,
            flush=True,
        )
        sys.stdout.flush()
        group.comm.Abort(1)


def destroy_process_group() -> None:
    """Forget the default group (MPI itself stays initialized until the process ends)."""
    global _world, _saved_hook
    group = _world
    if group is None:
        raise ValueError("Default process group has not been initialized, please make sure to call init_process_group.")
    _world = None
    if sys.excepthook is _abort_on_exception:
        sys.excepthook = _saved_hook or sys.__excepthook__
    _saved_hook = None
    if group.comm is not None:
        group.comm.Free()


def is_initialized() -> bool:
    """True once ``init_process_group`` has run (and ``destroy_process_group`` has not)."""
    return _world is not None


def default_group(group: ProcessGroup | None = None) -> ProcessGroup:
    """``group``, or the default group; raises PyTorch's ValueError when there is none."""
    if group is not None:
        if not isinstance(group, ProcessGroup):
            raise TypeError(f"expected a lucid.distributed.ProcessGroup or None (got {type(group).__name__})")
        return group
    if _world is None:
        raise ValueError("Default process group has not been initialized, please make sure to call init_process_group.")
    return _world


def get_rank(group: ProcessGroup | None = None) -> int:
    """This process's rank in ``group`` (default: the default group)."""
    return default_group(group).rank


def get_world_size(group: ProcessGroup | None = None) -> int:
    """The number of processes in ``group`` (default: the default group)."""
    return default_group(group).size


def get_backend(group: ProcessGroup | None = None) -> str:
    """``"mpi"`` or ``"single"``."""
    return default_group(group).backend
