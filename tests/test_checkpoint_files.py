"""Checkpoint files on disk: what a save leaves behind when it fails or is killed, file modes, the
names safetensors reserves, and dtypes written by PyTorch that NumPy has no type for."""

import errno
import os
import signal
import stat
import subprocess
import sys

import ml_dtypes
import numpy as np
import pytest
import torch
from safetensors.torch import save_file as torch_save_file

import lucid


def _snapshot(folder):
    """Every file in ``folder``: name -> (bytes, mode)."""
    return {p.name: (p.read_bytes(), stat.S_IMODE(p.stat().st_mode)) for p in folder.iterdir()}


@pytest.fixture
def old(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    lucid.save({"w": lucid.ones(3)}, path)
    return path


@pytest.fixture
def umask():
    previous = os.umask(0o022)
    yield os.umask
    os.umask(previous)


def test_the_reserved_name_is_refused_before_anything_is_written(tmp_path, old):
    before = _snapshot(tmp_path)
    with pytest.raises(ValueError, match="'__metadata__' is reserved"):
        lucid.save({"w": lucid.zeros(3), "__metadata__": lucid.zeros(1)}, old)
    with pytest.raises(ValueError, match="'__metadata__' is reserved"):
        lucid.save({"__metadata__": lucid.zeros(1)}, tmp_path / "new.safetensors")
    assert _snapshot(tmp_path) == before


@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_a_new_file_honors_the_umask(tmp_path, umask, mask, mode):
    umask(mask)
    lucid.save({"w": lucid.ones(2)}, tmp_path / "new.safetensors")
    assert stat.S_IMODE((tmp_path / "new.safetensors").stat().st_mode) == mode


@pytest.mark.parametrize("mode", [0o644, 0o600, 0o640])
def test_an_overwritten_file_keeps_its_mode(old, umask, mode):
    os.chmod(old, mode)
    umask(0o077)
    lucid.save({"w": lucid.zeros(2)}, old)
    assert stat.S_IMODE(old.stat().st_mode) == mode
    assert lucid.load(old)["w"].tolist() == [0.0, 0.0]


def test_a_killed_save_leaves_the_old_file_and_a_hidden_temp_that_the_next_save_removes(tmp_path, old):
    before = old.read_bytes()
    killed = (
        "import os, signal, lucid\n"
        "os.fsync = lambda fd: os.kill(os.getpid(), signal.SIGKILL)\n"
        f"lucid.save({{'w': lucid.zeros(1000)}}, {str(old)!r})\n"
    )
    proc = subprocess.run([sys.executable, "-c", killed], capture_output=True)
    assert proc.returncode == -signal.SIGKILL
    assert old.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [".ckpt.safetensors.lucid-tmp", "ckpt.safetensors"]
    lucid.save({"w": lucid.full((2,), 5.0)}, old)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt.safetensors"]
    assert lucid.load(old)["w"].tolist() == [5.0, 5.0]


def test_a_failed_write_is_a_plain_oserror_and_leaves_everything_as_it_was(tmp_path, old, monkeypatch):
    before = _snapshot(tmp_path)

    def full_disk(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space left on device") as info:
        lucid.save({"w": lucid.zeros(3)}, old)
    assert type(info.value) is OSError and info.value.errno == errno.ENOSPC
    assert info.value.filename == str(old)
    assert _snapshot(tmp_path) == before


def test_save_into_a_missing_folder_or_onto_a_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="No such file or directory") as info:
        lucid.save({"w": lucid.ones(1)}, tmp_path / "nowhere" / "ckpt.safetensors")
    assert info.value.filename == str(tmp_path / "nowhere" / "ckpt.safetensors")
    with pytest.raises(IsADirectoryError):
        lucid.save({"w": lucid.ones(1)}, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_load_of_a_directory_says_it_is_a_directory(tmp_path):
    with pytest.raises(IsADirectoryError, match="is a directory") as info:
        lucid.load(tmp_path)
    assert info.value.filename == str(tmp_path)


# ---- dtypes written by PyTorch ------------------------------------------------------------------------------
def _odd_values():
    return torch.tensor([0.0, -0.0, 1.5, -2.25, 3.0e-3, 448.0, 1e-6, float("nan"), float("inf"), -7.0])


@pytest.mark.parametrize(
    "dtype, ml",
    [
        (torch.bfloat16, ml_dtypes.bfloat16),
        (torch.float8_e4m3fn, ml_dtypes.float8_e4m3fn),
        (torch.float8_e5m2, ml_dtypes.float8_e5m2),
        (torch.float8_e4m3fnuz, ml_dtypes.float8_e4m3fnuz),
        (torch.float8_e5m2fnuz, ml_dtypes.float8_e5m2fnuz),
    ],
)
def test_bfloat16_and_float8_from_pytorch_load_as_exact_float32(tmp_path, dtype, ml):
    values = _odd_values().reshape(2, 5).to(dtype)
    path = tmp_path / "t.safetensors"
    torch_save_file({"w": values, "b": torch.arange(3.0)}, str(path))
    back = lucid.load(path)
    assert back["w"].dtype == np.float32 and back["w"].shape == (2, 5)
    np.testing.assert_array_equal(back["w"].data, values.float().numpy())  # exact, NaN and inf included
    number = ~np.isnan(back["w"].data)
    np.testing.assert_array_equal(np.signbit(back["w"].data)[number], np.signbit(values.float().numpy())[number])
    bits = f"u{values.element_size()}"  # and back in the format, the same bits where there is a number
    theirs = values.view(torch.int16 if values.element_size() == 2 else torch.uint8).numpy().view(bits)
    np.testing.assert_array_equal(back["w"].data.astype(ml).view(bits)[number], theirs[number])
    assert back["b"].tolist() == [0.0, 1.0, 2.0]


def test_a_dtype_lucid_cannot_hold_names_the_file_the_entry_and_the_dtype(tmp_path):
    path = tmp_path / "f4.safetensors"
    torch_save_file({"packed": torch.zeros(4, dtype=torch.uint8).view(torch.float4_e2m1fn_x2)}, str(path))
    with pytest.raises(ValueError, match=r"f4\.safetensors.*'packed' has dtype F4"):
        lucid.load(path)
