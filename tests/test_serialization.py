"""lucid.save / lucid.load: safetensors round trips, damaged files, and checkpoints shared with PyTorch."""

import numpy as np
import pytest
import torch
import torch.nn as tnn
from safetensors import safe_open
from safetensors.torch import load_file as torch_load_file
from safetensors.torch import save_file as torch_save_file

import lucid
import lucid.nn as nn


def test_round_trip_keeps_values_dtypes_and_shapes(tmp_path, rng):
    base = rng.standard_normal((4, 6))
    sd = {
        "f64": lucid.Tensor(base),
        "f32": lucid.Tensor(base.astype(np.float32)),
        "f16": lucid.Tensor(base.astype(np.float16)),
        "transposed": lucid.Tensor(base.T),  # not contiguous
        "strided": lucid.Tensor(base[::2, 1::3]),  # not contiguous either
        "i32": lucid.Tensor(np.arange(5, dtype=np.int32)),
        "mask": lucid.Tensor(np.array([True, False, True])),
        "num_batches_tracked": lucid.Tensor(np.array(7, dtype=np.int64)),  # 0-d
        "empty": lucid.Tensor(np.zeros((0, 3), dtype=np.float32)),
        "array": base[1],  # plain arrays are accepted too
        "param": nn.Parameter(base[:2].copy()),
    }
    path = tmp_path / "ckpt.safetensors"
    lucid.save(sd, path)
    back = lucid.load(path)
    assert set(back) == set(sd)
    for k, v in sd.items():
        expected = v.data if isinstance(v, lucid.Tensor) else v
        assert isinstance(back[k], lucid.Tensor)
        assert back[k].shape == expected.shape and back[k].dtype == expected.dtype, k
        np.testing.assert_array_equal(back[k].data, expected)
    assert back["num_batches_tracked"].ndim == 0 and back["num_batches_tracked"].item() == 7
    back["f64"].data += 1  # loaded arrays are ordinary writable arrays


def test_metadata_is_written(tmp_path):
    path = str(tmp_path / "m.safetensors")
    lucid.save({"w": lucid.ones(2)}, path, metadata={"epoch": "3"})
    with safe_open(path, framework="numpy") as f:
        assert f.metadata() == {"epoch": "3"}


def test_big_endian_arrays_are_stored_little_endian(tmp_path):
    path = tmp_path / "be.safetensors"
    lucid.save({"w": np.arange(4, dtype=">f8")}, path)
    back = lucid.load(path)["w"]
    assert back.dtype == np.float64 and back.tolist() == [0.0, 1.0, 2.0, 3.0]


def _valid_file(tmp_path):
    path = tmp_path / "good.safetensors"
    lucid.save({"a": lucid.Tensor(np.arange(12.0).reshape(3, 4)), "b": lucid.ones(5)}, path)
    return path.read_bytes()


@pytest.mark.parametrize(
    "damage",
    [
        lambda b: b[:-7],  # truncated: the data ends early
        lambda b: b[:20],  # truncated inside the header
        lambda b: b"",  # empty file
        lambda b: b[:8] + b"#" * 10 + b[18:],  # corrupt header (not JSON any more)
        lambda b: (10**12).to_bytes(8, "little") + b[8:],  # header length beyond the file
        lambda b: b"not a checkpoint at all, just text",
    ],
)
def test_damaged_files_raise_a_clear_error_naming_the_file(tmp_path, damage):
    bad = tmp_path / "damaged.safetensors"
    bad.write_bytes(damage(_valid_file(tmp_path)))
    with pytest.raises(ValueError, match="damaged.safetensors.*not a valid safetensors file"):
        lucid.load(bad)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.safetensors"):
        lucid.load(tmp_path / "nowhere.safetensors")


@pytest.mark.parametrize(
    "sd, message",
    [
        ({"opt": {"state": {}}}, "flat dict of name -> Tensor"),
        ({"x": 3.0}, "flat dict of name -> Tensor"),
        ({1: lucid.ones(2)}, "every name must be a str"),
        ({"o": np.array(["a", "b"])}, "cannot store"),
    ],
)
def test_save_rejects_what_safetensors_cannot_hold(tmp_path, sd, message):
    path = tmp_path / "x.safetensors"
    with pytest.raises(TypeError, match=message):
        lucid.save(sd, path)
    assert not path.exists()


# ---- checkpoints shared with PyTorch -------------------------------------------------------------------------
def lucid_net():
    return nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(4 * 3 * 3, 5),
        nn.ReLU(),
        nn.Linear(5, 3),
    ).double()


def torch_net():
    return tnn.Sequential(
        tnn.Conv2d(2, 4, 3, padding=1),
        tnn.BatchNorm2d(4),
        tnn.ReLU(),
        tnn.MaxPool2d(2),
        tnn.Flatten(),
        tnn.Linear(4 * 3 * 3, 5),
        tnn.ReLU(),
        tnn.Linear(5, 3),
    ).double()


def test_lucid_checkpoint_loads_into_pytorch(tmp_path, rng):
    lucid.manual_seed(1)
    model = lucid_net()
    for _ in range(3):  # training-mode passes move the running statistics and num_batches_tracked
        model(lucid.Tensor(rng.standard_normal((4, 2, 6, 6))))
    path = tmp_path / "lucid.safetensors"
    lucid.save(model.state_dict(), path)

    theirs = torch_net()
    theirs.load_state_dict(torch_load_file(str(path)), strict=True)
    assert theirs[1].num_batches_tracked.item() == 3
    x = rng.standard_normal((3, 2, 6, 6))
    model.eval()
    theirs.eval()
    np.testing.assert_allclose(
        model(lucid.Tensor(x)).data, theirs(torch.tensor(x)).detach().numpy(), rtol=1e-10, atol=1e-12
    )


def test_pytorch_checkpoint_loads_into_lucid(tmp_path, rng):
    torch.manual_seed(2)
    theirs = torch_net()
    with torch.no_grad():
        for _ in range(2):
            theirs(torch.tensor(rng.standard_normal((4, 2, 6, 6))))
    path = tmp_path / "torch.safetensors"
    torch_save_file(theirs.state_dict(), str(path))

    model = lucid_net()
    model.load_state_dict(lucid.load(path), strict=True)
    assert model[1].num_batches_tracked.item() == 2
    x = rng.standard_normal((3, 2, 6, 6))
    model.eval()
    theirs.eval()
    np.testing.assert_allclose(
        model(lucid.Tensor(x)).data, theirs(torch.tensor(x)).detach().numpy(), rtol=1e-10, atol=1e-12
    )
    # and the model trains on from there: parameters own writable arrays
    model.train()
    model(lucid.Tensor(x)).sum().backward()
    for p in model.parameters():
        p.data -= 0.01 * p.grad
