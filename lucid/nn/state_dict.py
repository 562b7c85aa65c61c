"""State dicts: a Module's parameters and persistent buffers by dotted name, saved and loaded.

``StateDict`` is the part of ``Module`` that writes and reads them, with PyTorch's keys, its
``_metadata`` versions and its ``_load_from_state_dict`` hook (which here returns its writes, so
that nothing changes until every module has passed its checks).
"""

from __future__ import annotations

from collections import OrderedDict, namedtuple
from collections.abc import Mapping

import numpy as np

from .._tensor import Tensor, _to_array

__all__ = ["StateDict"]


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What ``load_state_dict`` returns: the keys it could not fill, and the keys it did not use."""

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


class StateDict:
    """``state_dict`` and ``load_state_dict`` for ``Module``, which keeps the tables they walk."""

    # The form of a module's state dict; a layer whose state dict changed form bumps it and upgrades
    # older checkpoints in ``_load_from_state_dict`` (BatchNorm: 2, which added num_batches_tracked).
    _version = 1

    def _own_entries(self):
        """``(name, tensor)`` for this module's own parameters, then its persistent buffers."""
        for name, p in self._parameters.items():
            if p is not None:
                yield name, p
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent_buffers_set:
                yield name, b

    def _prefixed_modules(self, prefix=""):
        """``(prefix, module)`` for this module and every descendant, in the state dict's order."""
        yield prefix, self
        for name, m in self._modules.items():
            if m is not None:
                yield from m._prefixed_modules(prefix + name + ".")

    def state_dict(
        self, destination: dict | None = None, prefix: str = "", keep_vars: bool = False
    ) -> OrderedDict[str, Tensor]:
        """An ordered ``{name: Tensor}`` of every parameter and persistent buffer.

        Keys are the dotted paths PyTorch uses (``"0.weight"``, ``"bn.running_mean"``). The
        values share memory with the module; ``keep_vars=True`` gives the Parameter objects themselves.
        ``state_dict._metadata[path] = {"version": module._version}``, as in PyTorch.
        """
        out = OrderedDict() if destination is None else destination
        metadata = getattr(out, "_metadata", None)
        if metadata is None and hasattr(out, "__dict__"):
            metadata = out._metadata = OrderedDict()
        for mprefix, m in self._prefixed_modules(prefix):
            if metadata is not None:
                metadata[mprefix[:-1]] = {"version": m._version}
            for name, t in m._own_entries():
                out[mprefix + name] = t if keep_vars else t.detach()
        return out

    def _load_from_state_dict(
        self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
    ):
        """Check this module's own entries in ``state_dict``; returns the ``(tensor, array)`` writes to make.

        PyTorch's hook, with one difference: nothing is written here; ``load_state_dict`` writes
        once every module has been checked. A layer overrides it to upgrade an older checkpoint
        (``local_metadata["version"]`` below its ``_version``, or None) and then calls this.
        """
        writes = []
        for name, t in self._own_entries():
            key = prefix + name
            if key not in state_dict:
                missing_keys.append(key)
                continue
            try:
                arr = _to_array(state_dict[key])
            except (TypeError, ValueError) as e:
                error_msgs.append(f'could not read "{key}": {e}')
                continue
            if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
                error_msgs.append(f'could not read "{key}": expected numbers (got dtype {arr.dtype})')
            elif arr.shape != t.shape:
                error_msgs.append(
                    f"size mismatch for {key}: copying a param with shape {tuple(arr.shape)} from "
                    f"checkpoint, the shape in current model is {tuple(t.shape)}."
                )
            else:
                writes.append((t, arr))
        return writes

    def load_state_dict(self, state_dict: Mapping[str, Tensor | np.ndarray], strict: bool = True) -> _IncompatibleKeys:
        """Copy the values of ``state_dict`` (Tensors or arrays) into this module's parameters and buffers.

        Every key and shape is checked before anything is written: on an error (a missing or
        unexpected key with ``strict=True``, or a shape mismatch, which is always an error) the
        module is left exactly as it was and a RuntimeError names every problem. Values are
        written into the existing Parameter and buffer objects, cast to their dtypes.
        A checkpoint from an older form of a layer (``state_dict._metadata``, or none at all) is
        upgraded by that layer's ``_load_from_state_dict``; the caller's dict is not changed.
        Returns ``(missing_keys, unexpected_keys)``.
        """
        if not hasattr(state_dict, "keys"):
            raise TypeError(f"expected a state_dict as a mapping of names to tensors (got {type(state_dict).__name__})")
        metadata = getattr(state_dict, "_metadata", None)
        state_dict = OrderedDict((key, state_dict[key]) for key in state_dict.keys())
        missing, unexpected, errors, writes, own = [], [], [], [], set()
        for prefix, m in self._prefixed_modules():
            local = {} if metadata is None else metadata.get(prefix[:-1], {})
            writes += m._load_from_state_dict(state_dict, prefix, local, strict, missing, unexpected, errors)
            own.update(prefix + name for name, _ in m._own_entries())
        unexpected += [key for key in state_dict if key not in own]
        if strict:
            if unexpected:
                errors.insert(0, "Unexpected key(s) in state_dict: " + ", ".join(f'"{k}"' for k in unexpected) + ".")
            if missing:
                errors.insert(0, "Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in missing) + ".")
        if errors:
            raise RuntimeError(f"Error(s) in loading state_dict for {self._get_name()}:\n\t" + "\n\t".join(errors))
        for t, arr in writes:
            if t.data.flags.writeable:
                np.copyto(t.data, arr, casting="unsafe")
            else:
                t.data = arr.astype(t.dtype, copy=True)
            t._bump()
        return _IncompatibleKeys(missing, unexpected)
