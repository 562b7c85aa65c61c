"""Checkpoints: ``lucid.save(state_dict, path)`` and ``lucid.load(path)`` in the safetensors format.

A safetensors file is a small JSON header (each name's dtype, shape and byte
range) followed by the raw little-endian bytes of every array. It holds no code,
so loading one cannot run anything, and the same file opens in any framework
that reads safetensors (``safetensors.torch.load_file`` gives PyTorch tensors).

Saving is atomic: the bytes go to a hidden file beside the target,
``.<name>.lucid-tmp``, which is read back and then renamed over the target. A
save that returns has written a file that ``load`` reads; a save that fails (or
is killed) leaves the old file untouched, and a temp file left by a killed save
is removed by the next save to the same path. A new file gets the permissions
the umask gives (0644 under umask 022), an overwritten one keeps its own.

bfloat16 and the float8 formats (files written by PyTorch) are decoded with
``ml_dtypes`` and returned as float32, which holds every one of their values
exactly; lucid has no tensors of these dtypes yet.
"""

import errno
import json
import os
import stat

import ml_dtypes
import numpy as np
from safetensors import SafetensorError, safe_open
from safetensors.numpy import save as _serialize

from ._tensor import Tensor

__all__ = ["save", "load"]

_RESERVED = "__metadata__"  # the header's own entry: safetensors cannot hold a tensor of that name
_TMP_SUFFIX = ".lucid-tmp"
# safetensors dtype name -> the ml_dtypes type that decodes it (returned upcast to float32)
_UPCAST = {
    "BF16": ml_dtypes.bfloat16,
    "F8_E4M3": ml_dtypes.float8_e4m3fn,
    "F8_E5M2": ml_dtypes.float8_e5m2,
    "F8_E4M3FNUZ": ml_dtypes.float8_e4m3fnuz,
    "F8_E5M2FNUZ": ml_dtypes.float8_e5m2fnuz,
    "F8_E8M0": ml_dtypes.float8_e8m0fnu,
}
_NUMPY = {"BOOL", "U8", "I8", "U16", "I16", "F16", "U32", "I32", "F32", "U64", "I64", "F64", "C64"}


def _array(name, value):
    """The contiguous little-endian array safetensors stores for ``value``."""
    if isinstance(value, Tensor):
        arr = value.data
    elif isinstance(value, (np.ndarray, np.generic)):
        arr = np.asarray(value)
    else:
        raise TypeError(
            f"lucid.save stores a flat dict of name -> Tensor (or array); "
            f"the value for {name!r} is a {type(value).__name__}"
        )
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"lucid.save: the array for {name!r} has dtype {arr.dtype}, which safetensors cannot store")
    # (not np.ascontiguousarray: it turns a 0-d array, like num_batches_tracked, into shape (1,))
    return arr.astype(arr.dtype.newbyteorder("<"), order="C", copy=False)


def _tmp_path(path):
    head, tail = os.path.split(path)
    return os.path.join(head, "." + tail + _TMP_SUFFIX)


def _os_error(e, path):
    """The same OSError subclass, naming the target rather than the temp file."""
    return type(e)(e.errno, f"lucid.save: {e.strerror}", path) if e.errno else e


def save(state_dict: dict[str, Tensor], path: str | os.PathLike, metadata: dict[str, str] | None = None) -> None:
    """Write ``state_dict`` (name -> Tensor) to ``path`` as safetensors; ``metadata`` is an optional str -> str dict.

    Everything is checked before anything is written; the write is atomic (see the module doc).
    Errors from the file system are the usual ``OSError`` subclasses (``PermissionError``,
    ``FileNotFoundError``, ``IsADirectoryError``, ``OSError`` with ``errno.ENOSPC``).
    """
    if not isinstance(state_dict, dict):
        raise TypeError(f"lucid.save expects a dict of name -> Tensor (got {type(state_dict).__name__})")
    for name in state_dict:
        if not isinstance(name, str):
            raise TypeError(f"lucid.save: every name must be a str (got {name!r})")
        if name == _RESERVED:
            raise ValueError(
                f"lucid.save: the name {name!r} is reserved by the safetensors format for the "
                "file's metadata; rename that entry"
            )
    if metadata is not None and not (
        isinstance(metadata, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items())
    ):
        raise TypeError(f"lucid.save: metadata must be a dict of str -> str (got {metadata!r:.80})")
    data = _serialize({name: _array(name, value) for name, value in state_dict.items()}, metadata=metadata)

    path = os.fspath(path)
    if os.path.isdir(path):
        raise IsADirectoryError(errno.EISDIR, "lucid.save: is a directory", path)
    tmp = _tmp_path(path)
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)  # an overwritten file keeps its permissions
    except FileNotFoundError:
        mode = None
    except OSError as e:
        raise _os_error(e, path) from None
    try:
        try:
            os.unlink(tmp)  # left by a save that was killed
        except FileNotFoundError:
            pass
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # 0o666 & ~umask
        with os.fdopen(fd, "wb") as f:
            if mode is not None:
                os.fchmod(f.fileno(), mode)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        with safe_open(tmp, framework="np") as f:  # what was written is what load reads
            f.keys()
        os.replace(tmp, path)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, OSError):
            raise _os_error(e, path) from None
        raise


def _header(path):
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        return 8 + n, json.loads(f.read(n))


def _decode(path, name, info, start):
    """An entry numpy cannot read: the ml_dtypes formats, as float32; anything else is an error."""
    dtype = info["dtype"]
    if dtype not in _UPCAST:
        raise ValueError(
            f"lucid.load: {path!r}: the entry {name!r} has dtype {dtype}, which lucid cannot "
            f"read (it reads {', '.join(sorted(_NUMPY | set(_UPCAST)))})"
        )
    lo, hi = info["data_offsets"]
    with open(path, "rb") as f:
        f.seek(start + lo)
        raw = f.read(hi - lo)
    return np.frombuffer(raw, dtype=_UPCAST[dtype]).reshape(info["shape"]).astype(np.float32)


def load(path: str | os.PathLike) -> dict[str, Tensor]:
    """Read a safetensors file into a dict of name -> Tensor. A damaged file raises ValueError naming it.

    bfloat16 and float8 entries come back as float32 (exactly their values); an entry of
    another dtype lucid cannot hold raises ValueError naming the file, the entry and the dtype.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        raise IsADirectoryError(errno.EISDIR, "lucid.load: is a directory, not a checkpoint file", path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"lucid.load: no such file: {path!r}")
    out, header = {}, None
    try:
        with safe_open(path, framework="np") as f:
            for name in f.keys():
                dtype = f.get_slice(name).get_dtype()
                if dtype in _NUMPY:
                    arr = f.get_tensor(name)
                    out[name] = arr if arr.flags.writeable else arr.copy()
                    continue
                if header is None:
                    header = _header(path)
                out[name] = _decode(path, name, header[1][name], header[0])
    except SafetensorError as e:
        raise ValueError(f"lucid.load: {path!r} is not a valid safetensors file (corrupt or truncated?): {e}") from None
    return {name: Tensor(arr) for name, arr in out.items()}
