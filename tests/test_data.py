"""Dataset, TensorDataset, DataLoader."""

import numpy as np
import pytest

import lucid
from lucid.data import DataLoader, Dataset, TensorDataset, default_collate


def make(n=10):
    x = lucid.Tensor(np.arange(n * 3, dtype=np.float64).reshape(n, 3))
    y = lucid.Tensor(np.arange(n) * 10)
    return TensorDataset(x, y)


def test_tensor_dataset_indexing():
    ds = make()
    assert len(ds) == 10
    x, y = ds[4]
    np.testing.assert_array_equal(x.data, [12.0, 13.0, 14.0])
    assert y.item() == 40 and y.dtype == np.int64


def test_tensor_dataset_size_mismatch():
    with pytest.raises(ValueError, match="Size mismatch between tensors"):
        TensorDataset(lucid.zeros(3, 2), lucid.zeros(4))


def test_in_order_batches_with_the_last_one_kept():
    loader = DataLoader(make(), batch_size=4)
    batches = list(loader)
    assert len(loader) == len(batches) == 3
    assert [tuple(b[0].shape) for b in batches] == [(4, 3), (4, 3), (2, 3)]
    assert np.concatenate([b[1].data for b in batches]).tolist() == list(range(0, 100, 10))
    assert batches[0][0].dtype == np.float64 and batches[0][1].dtype == np.int64
    np.testing.assert_array_equal(batches[1][0].data, np.arange(12, 24).reshape(4, 3))


def test_drop_last():
    loader = DataLoader(make(), batch_size=4, drop_last=True)
    batches = list(loader)
    assert len(loader) == len(batches) == 2
    assert all(b[0].shape == (4, 3) for b in batches)


def test_shuffle_visits_every_sample_once_and_is_reproducible():
    ds = make(23)
    first = [b[1].data for b in DataLoader(ds, batch_size=5, shuffle=True, seed=7)]
    again = [b[1].data for b in DataLoader(ds, batch_size=5, shuffle=True, seed=7)]
    other = [b[1].data for b in DataLoader(ds, batch_size=5, shuffle=True, seed=8)]
    order = np.concatenate(first)
    assert sorted(order.tolist()) == list(range(0, 230, 10))
    assert order.tolist() != list(range(0, 230, 10))
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not np.array_equal(order, np.concatenate(other))
    # each sample's x still matches its y after shuffling
    for xb, yb in DataLoader(ds, batch_size=5, shuffle=True, seed=7):
        np.testing.assert_array_equal(xb.data[:, 0], yb.data / 10 * 3)


def test_each_epoch_draws_a_new_order_from_the_generator():
    loader = DataLoader(make(20), batch_size=20, shuffle=True, generator=np.random.default_rng(0))
    e1, e2 = [next(iter(loader))[1].data for _ in range(2)]
    assert sorted(e1.tolist()) == sorted(e2.tolist()) and not np.array_equal(e1, e2)
    # without a seed the order comes from lucid's generator, so lucid.manual_seed makes it reproducible
    lucid.manual_seed(3)
    a = next(iter(DataLoader(make(20), batch_size=20, shuffle=True)))[1].data
    lucid.manual_seed(3)
    b = next(iter(DataLoader(make(20), batch_size=20, shuffle=True)))[1].data
    np.testing.assert_array_equal(a, b)


def test_custom_dataset_and_default_collate():
    class Squares(Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return {"x": np.full(2, float(i)), "y": i * i, "w": 0.5 * i, "name": f"s{i}"}

    batch = next(iter(DataLoader(Squares(), batch_size=3)))
    np.testing.assert_array_equal(batch["x"].data, [[0, 0], [1, 1], [2, 2]])
    assert batch["y"].tolist() == [0, 1, 4] and batch["y"].dtype == np.int64
    assert batch["w"].dtype == np.float64 and batch["name"] == ["s0", "s1", "s2"]
    nested = default_collate([(lucid.ones(2), [1, 2.0]), (lucid.zeros(2), [3, 4.0])])
    assert nested[0].shape == (2, 2) and nested[1][0].tolist() == [1, 3] and nested[1][1].tolist() == [2.0, 4.0]


def test_batch_size_none_yields_single_samples():
    samples = list(DataLoader(make(3), batch_size=None))
    assert len(samples) == 3 and samples[2][1].item() == 20


def test_collate_and_convert_give_pytorch_containers():
    import collections

    import torch.utils.data as tdata

    Pair = collections.namedtuple("Pair", "a b")

    class Raw(Dataset):  # NumPy samples, as a user's dataset often returns them
        def __len__(self):
            return 3

        def __getitem__(self, i):
            return np.full(2, float(i)), i, {"k": np.float32(i)}, Pair(np.ones(1) * i, 2.0 * i)

    for batch_size in (None, 2):
        ours = list(DataLoader(Raw(), batch_size=batch_size))
        theirs = list(tdata.DataLoader(Raw(), batch_size=batch_size))
        for a, b in zip(ours, theirs):
            assert type(a) is type(b) is list  # a tuple sample comes out as a list
            assert isinstance(a[0], lucid.Tensor) and isinstance(a[2]["k"], lucid.Tensor)
            np.testing.assert_array_equal(a[0].data, b[0].numpy())
            np.testing.assert_array_equal(np.asarray(a[1].data if batch_size else a[1]), np.asarray(b[1]))
            assert type(a[3]).__name__ == "Pair" and a[3].a.shape == tuple(b[3].a.shape)


def test_bad_arguments():
    with pytest.raises(ValueError, match="batch_size should be a positive integer"):
        DataLoader(make(), batch_size=0)
    with pytest.raises(ValueError, match="not both"):
        DataLoader(make(), shuffle=True, seed=1, generator=np.random.default_rng(1))
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        DataLoader(make(), shuffle=True, generator=5)
    with pytest.raises(NotImplementedError, match="must define __getitem__"):
        Dataset()[0]


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(batch_size=True),
        dict(batch_size=False),
        dict(batch_size=0),
        dict(batch_size=-2),
        dict(batch_size=2.0),
        dict(batch_size="4"),
        dict(batch_size=np.int64(2)),
        dict(drop_last=1),
        dict(drop_last="yes"),
        dict(drop_last=None),
        dict(batch_size=None, drop_last=True),
    ],
)
def test_arguments_are_checked_as_pytorch_checks_them(kwargs):
    import torch

    with pytest.raises(ValueError) as theirs:
        torch.utils.data.DataLoader(list(range(6)), **kwargs)
    with pytest.raises(ValueError) as ours:
        DataLoader(make(), **kwargs)
    assert str(ours.value) == str(theirs.value)


def test_arguments_pytorch_accepts_are_accepted():
    for kwargs in [dict(batch_size=None), dict(batch_size=3, drop_last=True), dict(shuffle=1, seed=0)]:
        loader = DataLoader(make(), **kwargs)
        assert len(list(loader)) == len(loader)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(dataset=5), TypeError, "dataset must support indexing and len"),
        (dict(collate_fn=3), TypeError, "collate_fn must be callable"),
        (dict(seed=True), ValueError, "seed should be a non-negative integer, but got seed=True"),
        (dict(seed=-1), ValueError, "seed should be a non-negative integer"),
    ],
)
def test_lucid_arguments_are_checked_too(kwargs, error, message):
    kwargs.setdefault("dataset", make())
    with pytest.raises(error, match=message):
        DataLoader(**kwargs)


@pytest.mark.parametrize("batch", [[1, 2.5], [True, 2], [True, False], [2.5, 1], [1, 2]])
def test_default_collate_of_numbers_takes_the_dtype_pytorch_takes(batch):
    import torch.utils.data as tdata

    got, expected = default_collate(batch), tdata.default_collate(batch)
    assert got.dtype == np.dtype(str(expected.dtype).removeprefix("torch."))
    np.testing.assert_array_equal(got.data, expected.numpy())  # [1, 2.5] is not cut to [1, 2]


def test_default_collate_keeps_the_mapping_type_and_string_fields_as_pytorch():
    import collections

    import torch.utils.data as tdata

    samples = [collections.OrderedDict(a=1, b=np.ones(2)), collections.OrderedDict(a=2, b=np.zeros(2))]
    assert type(default_collate(samples)) is type(tdata.default_collate(samples)) is collections.OrderedDict
    pairs = [(1, "a"), (2, "b")]
    assert default_collate(pairs)[1] == tdata.default_collate(pairs)[1] == ("a", "b")
    assert default_collate(["x", "y"]) == tdata.default_collate(["x", "y"]) == ["x", "y"]
