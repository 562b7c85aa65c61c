"""Samplers and DataLoader(sampler=, batch_sampler=), against torch.utils.data where PyTorch is deterministic."""

import numpy as np
import pytest
import torch
import torch.utils.data as tud

import lucid
from lucid.data import (
    BatchSampler,
    DataLoader,
    DistributedSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    TensorDataset,
    WeightedRandomSampler,
)


def make(n=10):
    x = np.arange(n * 3, dtype=np.float64).reshape(n, 3)
    y = np.arange(n) * 10
    return TensorDataset(lucid.Tensor(x), lucid.Tensor(y)), tud.TensorDataset(torch.tensor(x), torch.tensor(y))


def same_batches(ours, theirs):
    """Both loaders yield the same number of batches, with equal values field by field."""
    a, b = list(ours), list(theirs)
    assert len(a) == len(b) == len(ours) == len(theirs)
    for xa, xb in zip(a, b):
        for fa, fb in zip(xa, xb):
            np.testing.assert_array_equal(fa.data, fb.numpy())
            assert fa.dtype == fb.numpy().dtype
    return a


# ---- the samplers themselves -------------------------------------------------------------------


def test_sequential_sampler_is_pytorchs():
    assert list(SequentialSampler(range(5))) == list(tud.SequentialSampler(range(5))) == [0, 1, 2, 3, 4]
    assert len(SequentialSampler([7, 8, 9])) == 3 and list(SequentialSampler([])) == []
    assert isinstance(SequentialSampler(range(2)), Sampler)


@pytest.mark.parametrize("n, batch_size, drop_last", [(10, 3, False), (10, 3, True), (9, 3, True), (2, 5, False)])
def test_batch_sampler_is_pytorchs(n, batch_size, drop_last):
    ours = BatchSampler(SequentialSampler(range(n)), batch_size, drop_last)
    theirs = tud.BatchSampler(tud.SequentialSampler(range(n)), batch_size, drop_last)
    assert list(ours) == list(theirs) and len(ours) == len(theirs)
    # any iterable of indices, a generator too (which has no length)
    assert list(BatchSampler([5, 1, 4, 2], 3, drop_last)) == list(tud.BatchSampler([5, 1, 4, 2], 3, drop_last))
    assert list(BatchSampler(iter(range(7)), 2, False)) == [[0, 1], [2, 3], [4, 5], [6]]
    with pytest.raises(TypeError):
        len(BatchSampler(iter(range(7)), 2, False))


@pytest.mark.parametrize(
    "cls, kwargs",
    [
        (BatchSampler, dict(sampler=range(4), batch_size=0, drop_last=False)),
        (BatchSampler, dict(sampler=range(4), batch_size=True, drop_last=False)),
        (BatchSampler, dict(sampler=range(4), batch_size=2.0, drop_last=False)),
        (BatchSampler, dict(sampler=range(4), batch_size=2, drop_last=1)),
        (RandomSampler, dict(data_source=range(4), num_samples=0)),
        (RandomSampler, dict(data_source=range(4), num_samples=2.5)),
        (RandomSampler, dict(data_source=range(0))),
        (RandomSampler, dict(data_source=range(4), replacement=1)),
    ],
)
def test_sampler_arguments_are_checked_as_pytorch_checks_them(cls, kwargs):
    with pytest.raises((ValueError, TypeError)) as theirs:
        getattr(tud, cls.__name__)(**kwargs)
    with pytest.raises(theirs.type) as ours:
        cls(**kwargs)
    assert str(ours.value) == str(theirs.value)


def test_random_sampler_without_replacement_is_a_permutation_per_pass():
    s = RandomSampler(range(20), generator=np.random.default_rng(0))
    a, b = list(s), list(s)
    assert len(s) == 20 and sorted(a) == sorted(b) == list(range(20))
    assert a != b and a != list(range(20))
    # num_samples beyond the length chains permutations; fewer cuts the last one
    long = list(RandomSampler(range(6), num_samples=15, generator=np.random.default_rng(1)))
    assert len(long) == 15 and sorted(long[:6]) == sorted(long[6:12]) == list(range(6))
    assert len(set(long[12:])) == 3 and set(long[12:]) <= set(range(6))
    short = list(RandomSampler(range(6), num_samples=4, generator=np.random.default_rng(1)))
    assert len(short) == 4 and len(set(short)) == 4


def test_random_sampler_with_replacement():
    s = RandomSampler(range(5), replacement=True, num_samples=1000, generator=np.random.default_rng(2))
    draws = np.array(list(s))
    assert len(s) == 1000 and draws.shape == (1000,)
    assert draws.min() == 0 and draws.max() == 4
    assert len(set(draws[:10].tolist())) < 10  # repeats among 10 draws of 5 values
    assert np.all(np.abs(np.bincount(draws) - 200) < 60)
    assert len(list(RandomSampler(range(5), replacement=True))) == 5


def test_random_samplers_are_reproducible_with_a_seed():
    def draw(cls, *args, **kwargs):
        return list(cls(*args, generator=np.random.default_rng(7), **kwargs))

    assert draw(RandomSampler, range(30)) == draw(RandomSampler, range(30))
    assert draw(RandomSampler, range(30), replacement=True) == draw(RandomSampler, range(30), replacement=True)
    assert draw(SubsetRandomSampler, [3, 9, 4, 1]) == draw(SubsetRandomSampler, [3, 9, 4, 1])
    # without a generator, lucid's global one: lucid.manual_seed fixes the order
    lucid.manual_seed(5)
    a = list(RandomSampler(range(30))), list(SubsetRandomSampler(range(30)))
    lucid.manual_seed(5)
    b = list(RandomSampler(range(30))), list(SubsetRandomSampler(range(30)))
    assert a == b


def test_subset_random_sampler_permutes_the_given_indices():
    idx = [11, 3, 7, 20, 5]
    s = SubsetRandomSampler(idx, generator=np.random.default_rng(0))
    orders = [list(s) for _ in range(5)]
    assert len(s) == 5 and all(sorted(o) == sorted(idx) for o in orders)
    assert len({tuple(o) for o in orders}) > 1


def test_weighted_random_sampler_with_replacement_follows_the_weights():
    s = WeightedRandomSampler([1.0, 0.0, 3.0, 6.0], 20000, generator=np.random.default_rng(0))
    draws = np.array(list(s))
    assert len(s) == 20000 and draws.shape == (20000,)
    np.testing.assert_allclose(np.bincount(draws, minlength=4) / 20000, [0.1, 0.0, 0.3, 0.6], atol=0.015)
    again = list(WeightedRandomSampler([1.0, 0.0, 3.0, 6.0], 20000, generator=np.random.default_rng(0)))
    assert again == draws.tolist()


def test_weighted_random_sampler_without_replacement():
    w = [5.0, 1.0, 0.0, 2.0, 0.5]
    rng = np.random.default_rng(1)
    firsts = []
    for _ in range(2000):
        got = list(WeightedRandomSampler(w, 4, replacement=False, generator=rng))
        assert len(set(got)) == 4 and 2 not in got  # the zero weight only once the others are used up
        firsts.append(got[0])
    np.testing.assert_allclose(np.bincount(firsts, minlength=5) / 2000, np.array(w) / sum(w), atol=0.03)
    # PyTorch, like lucid, takes zero weights last rather than refusing: [1, 0, 0] gives 0 then 1 or 2
    assert list(WeightedRandomSampler([1.0, 0.0, 0.0], 3, replacement=False))[0] == 0
    assert list(tud.WeightedRandomSampler([1.0, 0.0, 0.0], 3, replacement=False))[0] == 0


@pytest.mark.parametrize(
    "weights, num_samples, replacement",
    [
        ([1.0, 2.0, 3.0], 5, False),
        ([-1.0, 2.0], 2, True),
        ([0.0, 0.0], 2, True),
        ([1.0, float("nan")], 2, True),
        ([1.0, float("inf")], 2, True),
        ([[1.0, 2.0]], 2, True),
        ([1.0, 2.0], 0, True),
        ([1.0, 2.0], True, True),
        ([1.0, 2.0], 2, 1),
    ],
)
def test_weighted_random_sampler_errors_are_pytorchs(weights, num_samples, replacement):
    with pytest.raises((ValueError, RuntimeError)) as theirs:
        list(tud.WeightedRandomSampler(weights, num_samples, replacement))
    with pytest.raises(theirs.type) as ours:
        list(WeightedRandomSampler(weights, num_samples, replacement))
    assert str(ours.value) == str(theirs.value)


def test_generators_must_be_numpys():
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        RandomSampler(range(3), generator=torch.Generator())
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        SubsetRandomSampler([0, 1], generator=3)


def test_a_custom_sampler_subclass():
    class Reversed(Sampler[int]):
        def __init__(self, n):
            self.n = n

        def __iter__(self):
            return iter(range(self.n - 1, -1, -1))

    assert list(Reversed(4)) == [3, 2, 1, 0]
    with pytest.raises(NotImplementedError):
        iter(Sampler())
    with pytest.raises(TypeError):  # no default __len__, as in PyTorch
        len(Reversed(4))


# ---- DataLoader with samplers -------------------------------------------------------------------


@pytest.mark.parametrize("batch_size, drop_last", [(1, False), (3, False), (3, True), (4, True), (None, False)])
def test_a_list_of_indices_as_sampler_is_pytorchs(batch_size, drop_last):
    ours_ds, theirs_ds = make(10)
    order = [9, 2, 2, 5, 0, 7, 1]
    ours = DataLoader(ours_ds, batch_size=batch_size, sampler=order, drop_last=drop_last)
    theirs = tud.DataLoader(theirs_ds, batch_size=batch_size, sampler=order, drop_last=drop_last)
    same_batches(ours, theirs)


def test_sequential_loaders_are_pytorchs():
    ours_ds, theirs_ds = make(11)
    for kwargs in [dict(batch_size=4), dict(batch_size=4, drop_last=True), dict(batch_size=20)]:
        same_batches(DataLoader(ours_ds, **kwargs), tud.DataLoader(theirs_ds, **kwargs))
        ours, theirs = SequentialSampler(ours_ds), tud.SequentialSampler(theirs_ds)
        same_batches(DataLoader(ours_ds, sampler=ours, **kwargs), tud.DataLoader(theirs_ds, sampler=theirs, **kwargs))


@pytest.mark.parametrize("drop_last", [False, True])
def test_a_batch_sampler_is_pytorchs(drop_last):
    ours_ds, theirs_ds = make(10)
    ours = DataLoader(ours_ds, batch_sampler=BatchSampler([4, 8, 1, 0, 3, 3, 9], 3, drop_last))
    theirs = tud.DataLoader(theirs_ds, batch_sampler=tud.BatchSampler([4, 8, 1, 0, 3, 3, 9], 3, drop_last))
    same_batches(ours, theirs)
    # any iterable of lists of indices, batches of unequal sizes
    batches = [[0], [5, 6, 7], [2, 1]]
    got = same_batches(DataLoader(ours_ds, batch_sampler=batches), tud.DataLoader(theirs_ds, batch_sampler=batches))
    assert [b[1].tolist() for b in got] == [[0], [50, 60, 70], [20, 10]]
    loader = DataLoader(ours_ds, batch_sampler=batches)
    assert loader.batch_size is None and loader.drop_last is False


def test_loader_attributes_as_pytorch():
    ours_ds, theirs_ds = make(5)
    loader = DataLoader(ours_ds, batch_size=2, shuffle=True, seed=0)
    assert isinstance(loader.sampler, RandomSampler) and isinstance(loader.batch_sampler, BatchSampler)
    assert loader.batch_sampler.sampler is loader.sampler and loader.batch_sampler.batch_size == 2
    assert isinstance(DataLoader(ours_ds).sampler, SequentialSampler)
    single = DataLoader(ours_ds, batch_size=None)
    assert single.batch_sampler is None and isinstance(single.sampler, SequentialSampler)


def test_batch_size_none_applies_collate_fn_per_sample_as_pytorch():
    ours_ds, _ = make(4)
    got = list(DataLoader(ours_ds, batch_size=None, sampler=[3, 1], collate_fn=lambda s: int(s[1].item())))
    assert got == [30, 10]


def test_len_needs_the_samplers_len_as_in_pytorch():
    ours_ds, theirs_ds = make(10)
    ours = DataLoader(ours_ds, batch_size=3, sampler=iter(range(10)))
    theirs = tud.DataLoader(theirs_ds, batch_size=3, sampler=iter(range(10)))
    with pytest.raises(TypeError) as a:
        len(ours)
    with pytest.raises(TypeError) as b:
        len(theirs)
    assert str(a.value) == str(b.value)
    assert [yb.tolist() for _, yb in ours] == [[0, 10, 20], [30, 40, 50], [60, 70, 80], [90]]
    # with replacement the length is num_samples, not the dataset's
    loader = DataLoader(ours_ds, batch_size=4, sampler=RandomSampler(ours_ds, replacement=True, num_samples=9))
    assert len(loader) == len(list(loader)) == 3


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(sampler=[0, 1], shuffle=True),
        dict(sampler=[0, 1], shuffle=1),
        dict(batch_sampler=[[0, 1]], batch_size=2),
        dict(batch_sampler=[[0, 1]], batch_size=None),
        dict(batch_sampler=[[0, 1]], shuffle=True),
        dict(batch_sampler=[[0, 1]], sampler=[0, 1]),
        dict(batch_sampler=[[0, 1]], drop_last=True),
        dict(sampler=[0, 1], batch_size=None, drop_last=True),
        dict(sampler=[0, 1], batch_size=0),
        dict(sampler=[0, 1], drop_last="yes"),
    ],
)
def test_exclusive_options_are_refused_as_pytorch_refuses_them(kwargs):
    ours_ds, theirs_ds = make(4)
    with pytest.raises(ValueError) as theirs:
        tud.DataLoader(theirs_ds, **kwargs)
    with pytest.raises(ValueError) as ours:
        DataLoader(ours_ds, **kwargs)
    assert str(ours.value) == str(theirs.value)


def test_shuffle_order_is_a_random_sampler_with_the_loaders_generator():
    """shuffle=True is RandomSampler(dataset, generator=...): each pass one permutation of the generator."""
    ours_ds, _ = make(12)
    loader = DataLoader(ours_ds, batch_size=5, shuffle=True, seed=3)
    rng = np.random.default_rng(3)
    for _ in range(3):
        got = np.concatenate([yb.data for _, yb in loader])
        np.testing.assert_array_equal(got, rng.permutation(12) * 10)
    expected = list(RandomSampler(range(12), generator=np.random.default_rng(3)))
    via_sampler = DataLoader(ours_ds, batch_size=5, sampler=RandomSampler(ours_ds, generator=np.random.default_rng(3)))
    assert np.concatenate([yb.data for _, yb in via_sampler]).tolist() == [10 * i for i in expected]


def test_subset_random_sampler_in_a_loader():
    ours_ds, _ = make(10)
    loader = DataLoader(ours_ds, batch_size=2, sampler=SubsetRandomSampler([1, 3, 5, 7, 8], np.random.default_rng(0)))
    got = [yb.tolist() for _, yb in loader]
    assert len(loader) == len(got) == 3 and sorted(sum(got, [])) == [10, 30, 50, 70, 80]


# ---- data parallel -----------------------------------------------------------------------------


@pytest.mark.parametrize("n, batch_size, drop_last", [(10, 3, False), (11, 2, False), (11, 4, True)])
def test_two_ranks_through_dataloaders_split_the_data_as_pytorch(n, batch_size, drop_last):
    ours_ds, theirs_ds = make(n)
    covered = []
    for rank in range(2):
        ours_s = DistributedSampler(ours_ds, num_replicas=2, rank=rank, shuffle=False, drop_last=drop_last)
        theirs_s = tud.DistributedSampler(theirs_ds, num_replicas=2, rank=rank, shuffle=False, drop_last=drop_last)
        assert isinstance(ours_s, Sampler)
        got = same_batches(
            DataLoader(ours_ds, batch_size=batch_size, sampler=ours_s),
            tud.DataLoader(theirs_ds, batch_size=batch_size, sampler=theirs_s),
        )
        covered += [v // 10 for _, yb in got for v in yb.tolist()]
    if drop_last:  # each rank gets n // 2; one sample is left out
        assert len(covered) == n - 1 and len(set(covered)) == n - 1
    else:  # padded with the first indices to an even split: every sample, the padding twice
        assert set(covered) == set(range(n)) and len(covered) == n + n % 2


def test_distributed_sampler_shuffles_through_the_loader_per_epoch():
    ours_ds, _ = make(12)
    samplers = [DistributedSampler(ours_ds, num_replicas=2, rank=r, seed=1) for r in range(2)]
    loaders = [DataLoader(ours_ds, batch_size=4, sampler=s) for s in samplers]
    epochs = []
    for epoch in range(2):
        for s in samplers:
            s.set_epoch(epoch)
        ys = [[v for _, yb in loader for v in yb.tolist()] for loader in loaders]
        assert sorted(ys[0] + ys[1]) == list(range(0, 120, 10))
        assert ys == [[10 * i for i in s] for s in samplers]
        epochs.append(ys)
    assert epochs[0] != epochs[1]


def test_weights_may_be_a_tensor_or_an_array():
    for w in [lucid.Tensor([0.0, 1.0]), np.array([0, 2]), (0.0, 3.0)]:
        assert list(WeightedRandomSampler(w, 3)) == [1, 1, 1]
