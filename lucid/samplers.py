"""Samplers: which dataset indices a ``DataLoader`` visits, and in which order (PyTorch's names).

A sampler is any iterable of indices (``__len__`` optional); a batch sampler yields lists of
them. ``SequentialSampler`` and ``BatchSampler`` give PyTorch's indices exactly; the random
samplers draw from a ``numpy.random.Generator`` (``generator=``), or else from lucid's global
generator (``lucid.manual_seed``), so their orders are not PyTorch's.

>>> from lucid.data import BatchSampler, SequentialSampler
>>> list(BatchSampler(SequentialSampler(range(7)), batch_size=3, drop_last=False))
[[0, 1, 2], [3, 4, 5], [6]]
"""

import itertools
import math
import numbers
from collections.abc import Iterable, Iterator, Sequence, Sized
from typing import Any, Generic, TypeVar

import numpy as np

from . import random as _random
from ._tensor import Tensor

__all__ = [
    "Sampler",
    "SequentialSampler",
    "RandomSampler",
    "SubsetRandomSampler",
    "WeightedRandomSampler",
    "BatchSampler",
    "DistributedSampler",
]

T_co = TypeVar("T_co", covariant=True)


def _check_generator(owner: str, generator: Any) -> None:
    if generator is not None and not isinstance(generator, np.random.Generator):
        raise TypeError(f"{owner}: generator must be a numpy.random.Generator (got {type(generator).__name__})")


class Sampler(Generic[T_co]):
    """Base class of samplers: subclasses define ``__iter__`` (indices, or lists of indices) and may
    define ``__len__``."""

    def __iter__(self) -> Iterator[T_co]:
        raise NotImplementedError

    # no default __len__, as in PyTorch: list(sampler) then falls back to iterating


class SequentialSampler(Sampler[int]):
    """``SequentialSampler(data_source)``: ``0, 1, ..., len(data_source) - 1``."""

    def __init__(self, data_source: Sized) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler[int]):
    """``RandomSampler(data_source, replacement=False, num_samples=None, generator=None)``.

    Without replacement: a random permutation of the indices per pass (``num_samples`` beyond
    ``len(data_source)`` chains further permutations, fewer cuts the last one). With replacement:
    ``num_samples`` indices drawn uniformly. ``num_samples`` defaults to ``len(data_source)``.
    Draws come from ``generator`` (a ``numpy.random.Generator``), or else from lucid's global
    generator at each pass.
    """

    def __init__(
        self,
        data_source: Sized,
        replacement: bool = False,
        num_samples: int | None = None,
        generator: np.random.Generator | None = None,
    ) -> None:
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        if not isinstance(self.replacement, bool):
            raise TypeError(f"replacement should be a boolean value, but got replacement={self.replacement}")
        if not isinstance(self.num_samples, int) or self.num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got num_samples={self.num_samples}")
        _check_generator("RandomSampler", generator)

    @property
    def num_samples(self) -> int:
        """The number of indices per pass (the dataset's length, read at each call, unless given)."""
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self) -> Iterator[int]:
        n, k = len(self.data_source), self.num_samples
        rng = self.generator if self.generator is not None else _random.generator()
        if self.replacement:
            yield from rng.integers(0, n, size=k).tolist()
            return
        for _ in range(k // n):
            yield from rng.permutation(n).tolist()
        if k % n:  # PyTorch draws (and discards) a permutation here even when k % n == 0; lucid does not
            yield from rng.permutation(n)[: k % n].tolist()

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler[int]):
    """``SubsetRandomSampler(indices, generator=None)``: the given ``indices``, in a random order per pass
    (from ``generator``, or else lucid's global generator)."""

    def __init__(self, indices: Sequence[int], generator: np.random.Generator | None = None) -> None:
        _check_generator("SubsetRandomSampler", generator)
        self.indices = indices
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        rng = self.generator if self.generator is not None else _random.generator()
        for i in rng.permutation(len(self.indices)).tolist():
            yield self.indices[i]

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler[int]):
    """``WeightedRandomSampler(weights, num_samples, replacement=True, generator=None)``: ``num_samples``
    indices of ``range(len(weights))``, index i drawn with probability proportional to ``weights[i]``;
    without replacement each index at most once (by exponential keys, ``Exp(1) / w``, smallest first).
    Draws from ``generator``, or else lucid's global generator."""

    def __init__(
        self,
        weights: Sequence[float],
        num_samples: int,
        replacement: bool = True,
        generator: np.random.Generator | None = None,
    ) -> None:
        if not isinstance(num_samples, int) or isinstance(num_samples, bool) or num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got num_samples={num_samples}")
        if not isinstance(replacement, bool):
            raise ValueError(f"replacement should be a boolean value, but got replacement={replacement}")
        w = np.asarray(weights.data if isinstance(weights, Tensor) else weights, dtype=np.float64)
        if w.ndim != 1:
            raise ValueError(f"weights should be a 1d sequence but given weights have shape {tuple(w.shape)}")
        _check_generator("WeightedRandomSampler", generator)
        self.weights, self.num_samples, self.replacement, self.generator = w, num_samples, replacement, generator

    def __iter__(self) -> Iterator[int]:
        w, k = self.weights, self.num_samples
        # PyTorch's checks (torch.multinomial's RuntimeErrors), made when the indices are drawn
        if not np.all(w >= 0):
            raise RuntimeError("invalid multinomial distribution (encountering probability entry < 0)")
        if np.isinf(w).any():
            raise RuntimeError("invalid multinomial distribution (encountering probability entry = infinity or NaN)")
        if not w.sum() > 0:
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
        if not self.replacement and k > len(w):
            raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without replacement")
        rng = self.generator if self.generator is not None else _random.generator()
        if self.replacement:
            yield from rng.choice(len(w), size=k, p=w / w.sum()).tolist()
            return
        with np.errstate(divide="ignore"):
            keys = rng.standard_exponential(len(w)) / w  # zero weights come last, as in PyTorch
        yield from np.argsort(keys, kind="stable")[:k].tolist()

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler[list[int]]):
    """``BatchSampler(sampler, batch_size, drop_last)``: the indices of ``sampler`` (any iterable) in lists
    of ``batch_size``; the last, shorter list is kept unless ``drop_last``."""

    def __init__(self, sampler: Sampler[int] | Iterable[int], batch_size: int, drop_last: bool) -> None:
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer value, but got batch_size={batch_size}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got drop_last={drop_last}")
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def __iter__(self) -> Iterator[list[int]]:
        it = iter(self.sampler)
        if self.drop_last:
            yield from (list(b) for b in zip(*[it] * self.batch_size, strict=False))
            return
        batch = list(itertools.islice(it, self.batch_size))
        while batch:
            yield batch
            batch = list(itertools.islice(it, self.batch_size))

    def __len__(self) -> int:
        n = len(self.sampler)  # a TypeError if the sampler has no length, as in PyTorch
        return n // self.batch_size if self.drop_last else (n + self.batch_size - 1) // self.batch_size


class DistributedSampler(Sampler[int]):
    """``DistributedSampler(dataset, num_replicas=None, rank=None, shuffle=True, seed=0, drop_last=False)``.

    The indices of ``dataset`` that rank ``rank`` of ``num_replicas`` visits in one epoch,
    partitioned as PyTorch does: the (shuffled) indices are padded by repeating the first ones
    (or, with ``drop_last``, cut) to ``num_samples·num_replicas``, and rank r takes every
    ``num_replicas``-th one from position r. Every rank has ``num_samples`` indices. The shuffle
    is ``numpy.random.default_rng(seed + epoch).permutation`` (the same on every rank; not
    PyTorch's generator, so not PyTorch's order). Call ``set_epoch(e)`` before each epoch to
    get a new order. ``num_replicas`` and ``rank`` default to the process group's.

    Pass it to a loader, ``DataLoader(dataset, batch_size=32, sampler=sampler)``, or iterate it
    for the indices.
    """

    def __init__(
        self,
        dataset: Sized,
        num_replicas: int | None = None,
        rank: int | None = None,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
    ) -> None:
        if num_replicas is None or rank is None:
            from . import distributed as dist

            if not dist.is_initialized():
                raise RuntimeError(
                    "DistributedSampler: give num_replicas and rank, or call "
                    "lucid.distributed.init_process_group() first"
                )
            num_replicas = dist.get_world_size() if num_replicas is None else num_replicas
            rank = dist.get_rank() if rank is None else rank
        if isinstance(num_replicas, bool) or not isinstance(num_replicas, numbers.Integral) or num_replicas < 1:
            raise ValueError(f"DistributedSampler: num_replicas must be a positive integer (got {num_replicas!r})")
        if isinstance(rank, bool) or not isinstance(rank, numbers.Integral) or not 0 <= rank < num_replicas:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]")
        self.dataset, self.num_replicas, self.rank = dataset, int(num_replicas), int(rank)
        self.shuffle, self.seed, self.drop_last, self.epoch = bool(shuffle), int(seed), bool(drop_last), 0
        n = len(dataset)
        if self.drop_last and n % self.num_replicas:
            self.num_samples = math.ceil((n - self.num_replicas) / self.num_replicas)
        else:
            self.num_samples = math.ceil(n / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas

    def __iter__(self) -> Iterator[int]:
        n = len(self.dataset)
        order = np.random.default_rng(self.seed + self.epoch).permutation(n) if self.shuffle else np.arange(n)
        if self.drop_last:
            order = order[: self.total_size]
        elif self.total_size > n:  # pad with the first indices, repeated as often as needed
            order = np.concatenate([order, np.resize(order, self.total_size - n)])
        return iter(order[self.rank : self.total_size : self.num_replicas].tolist())

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """The epoch whose order the next iteration uses (shuffle seed: ``seed + epoch``)."""
        self.epoch = int(epoch)
