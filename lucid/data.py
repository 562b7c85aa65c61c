"""Data loading: ``Dataset``, ``TensorDataset``, ``DataLoader`` and the samplers.

A dataset is anything with ``__len__`` and ``__getitem__(i)``; a DataLoader walks
it in batches, in order or shuffled, and stacks each field of the samples into
one Tensor (``default_collate``)::

    loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True, seed=0)
    for xb, yb in loader:      # xb: (32, ...), yb: (32,)
        ...

Which indices it visits, and in which order, is a sampler's (PyTorch's names, from
``lucid.samplers``): ``SequentialSampler``, ``RandomSampler``, ``SubsetRandomSampler``,
``WeightedRandomSampler``, ``DistributedSampler``, or any iterable of indices, as
``DataLoader(ds, batch_size=32, sampler=...)``; ``BatchSampler``, or any iterable of lists
of indices, as ``batch_sampler=``.
"""

import numbers
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from ._tensor import Tensor
from .ops import stack
from .samplers import (
    BatchSampler,
    DistributedSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)

__all__ = [
    "Dataset",
    "TensorDataset",
    "DataLoader",
    "default_collate",
    "default_convert",
    "Sampler",
    "SequentialSampler",
    "RandomSampler",
    "SubsetRandomSampler",
    "WeightedRandomSampler",
    "BatchSampler",
    "DistributedSampler",
]


class Dataset:
    """Base class of map-style datasets: subclasses define ``__getitem__(index)`` and ``__len__()``."""

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__")


class TensorDataset(Dataset):
    """``TensorDataset(*tensors)``: sample ``i`` is ``(t[i] for t in tensors)``; all share their first dimension."""

    def __init__(self, *tensors: Tensor | np.ndarray) -> None:
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        tensors = tuple(t if isinstance(t, Tensor) else Tensor(t) for t in tensors)
        sizes = [t.shape[0] if t.ndim else None for t in tensors]
        if None in sizes or len(set(sizes)) != 1:
            raise ValueError(
                f"Size mismatch between tensors: every tensor needs the same first dimension "
                f"(got shapes {[tuple(t.shape) for t in tensors]})"
            )
        self.tensors = tensors

    def __getitem__(self, index: int) -> tuple[Tensor, ...]:
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]


def _mapping(like, items):
    """``items`` (a dict) in the mapping type of ``like`` where that type can be made from a dict."""
    try:
        return type(like)(items)
    except TypeError:
        return items


def default_convert(sample: Any) -> Any:
    """One sample as ``DataLoader(batch_size=None)`` yields it: arrays (and NumPy numbers) become Tensors,
    inside tuples, lists and dicts too; everything else is left as it is."""
    if isinstance(sample, (np.ndarray, np.generic)) and not isinstance(sample, (np.str_, np.bytes_)):
        return Tensor(np.asarray(sample))
    if isinstance(sample, dict):
        return _mapping(sample, {k: default_convert(v) for k, v in sample.items()})
    if isinstance(sample, tuple) and hasattr(sample, "_fields"):
        return type(sample)(*(default_convert(v) for v in sample))
    if isinstance(sample, (tuple, list)):
        return [default_convert(v) for v in sample]  # a tuple gives a list, as PyTorch
    return sample


def default_collate(batch: list) -> Any:
    """Stack a list of samples into a batch: Tensors and arrays are stacked along a new first axis, numbers
    become a 1-D Tensor (ints int64, floats float64, as PyTorch), and tuples, lists and dicts are collated
    field by field."""
    first = batch[0]
    if isinstance(first, Tensor):
        return stack(batch, 0)
    if isinstance(first, (np.ndarray, np.generic)) and not isinstance(first, (np.str_, np.bytes_)):
        return Tensor(np.stack([np.asarray(b) for b in batch]))
    if isinstance(first, numbers.Integral):  # bool too; PyTorch infers from the whole batch here
        if all(isinstance(b, bool) for b in batch):
            return Tensor(np.array(batch, dtype=np.bool_))
        integral = all(isinstance(b, numbers.Integral) for b in batch)
        return Tensor(np.array(batch, dtype=np.int64 if integral else np.float32))
    if isinstance(first, numbers.Real):
        return Tensor(np.array(batch, dtype=np.float64))
    if isinstance(first, (str, bytes)):
        return batch  # as it came: a list of samples, or a tuple for a field of tuple samples
    if isinstance(first, dict):
        return _mapping(first, {k: default_collate([b[k] for b in batch]) for k in first})
    if isinstance(first, (tuple, list)):
        if any(len(b) != len(first) for b in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        fields = [default_collate(f) for f in zip(*batch)]
        return type(first)(*fields) if hasattr(first, "_fields") else fields  # a tuple gives a list, as PyTorch
    raise TypeError(
        f"default_collate: batch must contain Tensors, arrays, numbers, str, dicts or lists "
        f"(got {type(first).__name__})"
    )


class DataLoader:
    """``DataLoader(dataset, batch_size=1, shuffle=False, sampler=None, batch_sampler=None, drop_last=False,
    collate_fn=None, generator=None, seed=None)``.

    Each pass (``for batch in loader``) visits the indices of ``sampler`` (any iterable of
    indices), in batches of ``batch_size`` collated by ``collate_fn``; the last, smaller batch is
    kept unless ``drop_last``. ``batch_sampler`` (an iterable of lists of indices) gives the
    batches instead. Without a sampler the order is ``0, 1, ..., n-1``, or, with ``shuffle``, a
    new random permutation per pass (``RandomSampler``) drawn from ``generator`` (a
    ``numpy.random.Generator``), or from a generator made from ``seed``, or else from lucid's
    global generator (``lucid.manual_seed``). ``batch_size=None`` yields single samples, not
    collated. ``len(loader)`` is the number of batches, as PyTorch counts it.
    """

    def __init__(
        self,
        dataset: Any,
        batch_size: int | None = 1,
        shuffle: bool = False,
        sampler: Sampler | Iterable | None = None,
        batch_sampler: Sampler[list] | Iterable[list] | None = None,
        drop_last: bool = False,
        collate_fn: Callable[[list], Any] | None = None,
        generator: np.random.Generator | None = None,
        seed: int | None = None,
    ) -> None:
        if not (hasattr(dataset, "__getitem__") and hasattr(dataset, "__len__")):
            raise TypeError(f"DataLoader: dataset must support indexing and len() (got {type(dataset).__name__})")
        if collate_fn is not None and not callable(collate_fn):
            raise TypeError(f"DataLoader: collate_fn must be callable (got {type(collate_fn).__name__})")
        if generator is not None and seed is not None:
            raise ValueError("DataLoader: give a generator or a seed, not both")
        if generator is not None and not isinstance(generator, np.random.Generator):
            raise TypeError(f"DataLoader: generator must be a numpy.random.Generator (got {type(generator).__name__})")
        if seed is not None and (type(seed) is bool or not isinstance(seed, int) or seed < 0):
            raise ValueError(f"DataLoader: seed should be a non-negative integer, but got seed={seed!r}")
        # PyTorch's checks, in PyTorch's order and with its messages
        shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError(
                    "batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, and drop_last"
                )
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually exclusive with drop_last")
        generator = np.random.default_rng(seed) if seed is not None else generator
        if sampler is None:
            sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)  # checks batch_size and drop_last
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.generator = generator
        self._collate = collate_fn  # applied to each single sample when batch_size is None
        self.collate_fn = default_collate if collate_fn is None else collate_fn

    def __iter__(self) -> Iterator[Any]:
        if self.batch_sampler is None:
            for i in self.sampler:
                yield default_convert(self.dataset[i]) if self._collate is None else self._collate(self.dataset[i])
            return
        for idx in self.batch_sampler:
            yield self.collate_fn([self.dataset[i] for i in idx])

    def __len__(self) -> int:
        return len(self.batch_sampler if self.batch_sampler is not None else self.sampler)
