"""The ways lucid can compute a norm: the NumPy reference, and the compiled kernels built serial or
parallel, at 1 or 2 threads. Tests run one call under each and compare."""

import contextlib

import lucid
from lucid import backends
from lucid._kernels.norm import compiled

TWO = min(2, backends._pool_size())
# name: (backend, the size below which the serial build runs, threads)
BUILDS = {
    "reference": ("numpy", None, None),
    "serial": ("numba", float("inf"), 1),
    "parallel-1": ("numba", 0, 1),
    f"parallel-{TWO}": ("numba", 0, TWO),
}


@contextlib.contextmanager
def build(name):
    """Run the norm kernels as ``BUILDS[name]`` says, and put everything back afterwards."""
    backend, serial, threads = BUILDS[name]
    saved = backends.current(), compiled.SERIAL, backends.requested_threads()
    backends.use(backend)
    if serial is not None:
        compiled.SERIAL = serial
        lucid.set_num_threads(threads)
    try:
        yield
    finally:
        backends.use(saved[0])
        compiled.SERIAL = saved[1]
        backends._threads = saved[2]
