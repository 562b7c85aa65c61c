"""State-dict versions: ``state_dict()._metadata`` and the per-module ``_load_from_state_dict`` upgrade,
with BatchNorm checkpoints written before ``num_batches_tracked`` existed (PyTorch's own compatibility case)."""

from collections import OrderedDict

import numpy as np
import pytest
import torch

import lucid


def nets():
    def make(lib):
        nn = lib.nn
        return nn.Sequential(
            nn.Conv2d(2, 3, 3),
            nn.BatchNorm2d(3),
            nn.Flatten(),
            nn.Linear(12, 2),
            nn.InstanceNorm1d(2, track_running_stats=True),
            nn.LayerNorm(2),
        )

    return make(lucid), make(torch)


def test_metadata_records_each_module_version_as_pytorch():
    ours, theirs = nets()
    assert dict(ours.state_dict()._metadata) == dict(theirs.state_dict()._metadata)
    assert ours.state_dict()._metadata["1"] == {"version": 2}


def _old_checkpoint(model, version):
    """The model's state dict as written before num_batches_tracked: no such key, metadata ``version``."""
    sd = model.state_dict()
    for key in [k for k in sd if k.endswith("num_batches_tracked")]:
        del sd[key]
    if version is None:
        return OrderedDict(sd)  # a plain copy: no metadata at all (as lucid.load gives)
    sd._metadata["1"]["version"] = version
    sd._metadata["4"]["version"] = version
    return sd


@pytest.mark.parametrize("version", [None, 1])
@pytest.mark.parametrize("trained", [False, True])
def test_a_checkpoint_without_num_batches_tracked_loads_strictly_as_pytorch(rng, version, trained):
    ours, theirs = nets()
    if trained:  # the module's own count is kept (0 for a fresh one)
        x = rng.standard_normal((2, 2, 4, 4)).astype(np.float32)
        for _ in range(3):
            ours(lucid.tensor(x)), theirs(torch.tensor(x))
    src_ours, src_theirs = nets()
    old_ours, old_theirs = _old_checkpoint(src_ours, version), _old_checkpoint(src_theirs, version)
    keys_before = list(old_ours)
    r_ours = ours.load_state_dict(old_ours, strict=True)
    r_theirs = theirs.load_state_dict(old_theirs, strict=True)
    assert r_ours.missing_keys == r_theirs.missing_keys == []
    assert r_ours.unexpected_keys == r_theirs.unexpected_keys == []
    assert ours[1].num_batches_tracked.item() == theirs[1].num_batches_tracked.item() == (3 if trained else 0)
    # lucid's InstanceNorm counts its batches too (a documented choice): its own count is kept the same way
    assert ours[4].num_batches_tracked.item() == (3 if trained else 0)
    np.testing.assert_array_equal(ours[1].running_mean.data, src_ours[1].running_mean.data)
    assert list(old_ours) == keys_before  # the caller's dict is not changed


def test_the_same_checkpoint_at_version_2_is_missing_a_key_and_changes_nothing(rng):
    ours, theirs = nets()
    old_ours, old_theirs = _old_checkpoint(nets()[0], 2), _old_checkpoint(nets()[1], 2)
    before = {k: np.array(v.data) for k, v in ours.state_dict().items()}
    with pytest.raises(RuntimeError) as info:
        ours.load_state_dict(old_ours)
    with pytest.raises(RuntimeError) as theirs_info:
        theirs.load_state_dict(old_theirs)
    expected = 'Missing key(s) in state_dict: "1.num_batches_tracked", "4.num_batches_tracked".'
    assert expected in str(info.value) and expected in str(theirs_info.value)
    for k, v in ours.state_dict().items():
        np.testing.assert_array_equal(v.data, before[k])
    r = ours.load_state_dict(old_ours, strict=False)
    assert r.missing_keys == ["1.num_batches_tracked", "4.num_batches_tracked"]


def test_a_file_without_num_batches_tracked_loads(tmp_path):
    bn = lucid.nn.BatchNorm1d(4)
    torch_bn = torch.nn.BatchNorm1d(4)
    sd = {k: v for k, v in torch_bn.state_dict().items() if k != "num_batches_tracked"}
    from safetensors.torch import save_file

    save_file(sd, str(tmp_path / "old.safetensors"))
    bn.load_state_dict(lucid.load(tmp_path / "old.safetensors"))
    assert bn.num_batches_tracked.item() == 0 and bn.num_batches_tracked.dtype == np.int64


class Renamed(lucid.nn.Module):
    """A layer whose version 2 renamed ``w`` to ``weight``: its hook upgrades older checkpoints."""

    _version = 2

    def __init__(self):
        super().__init__()
        self.weight = lucid.nn.Parameter(np.zeros(2))

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, *args):
        if local_metadata.get("version", 1) < 2 and prefix + "w" in state_dict:
            state_dict[prefix + "weight"] = state_dict.pop(prefix + "w")
        return super()._load_from_state_dict(state_dict, prefix, local_metadata, *args)


def test_a_user_layer_upgrades_its_own_old_checkpoints():
    model = lucid.nn.Sequential(Renamed())
    model.load_state_dict({"0.w": np.array([1.0, 2.0])})
    assert model[0].weight.tolist() == [1.0, 2.0]
    assert model.state_dict()._metadata["0"] == {"version": 2}
