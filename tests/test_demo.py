"""The demo (python -m lucid.demo): a tiny end-to-end run, the reload check, data and flags."""

import numpy as np
import pytest

import lucid
from lucid import demo


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One epoch of two variants on 300 images: returns (exit code, stdout, output folder)."""
    import contextlib
    import io

    out = tmp_path_factory.mktemp("demo-output")
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = demo.main(["--epochs", "1", "--variants", "none,batchnorm2d", "--limit", "300", "--out", str(out)])
    return code, buf.getvalue(), out


def test_demo_writes_curves_and_one_checkpoint_per_variant(run):
    code, text, out = run
    assert code == 0
    assert (out / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in out.glob("*.safetensors")) == ["BatchNorm2d.safetensors", "none.safetensors"]
    assert "digits: 240 training and 60 test images" in text
    rows = [line for line in text.splitlines() if line.startswith("| ") and "%" in line]
    assert [r.split("|")[1].strip() for r in rows] == ["none", "BatchNorm2d"]


def test_demo_reload_check_passes(run):
    code, text, out = run
    assert "same as the trained model's" in text and "identical logits" in text
    assert "DIFFERENT" not in text


def test_checkpoint_holds_the_model_state_with_pytorch_names(run):
    _, _, out = run
    state = lucid.load(out / "BatchNorm2d.safetensors")
    model = demo.ConvNet("BatchNorm2d")
    expected = model.state_dict()
    assert sorted(state) == sorted(expected)
    assert {"conv1.weight", "norm1.running_mean", "norm2.num_batches_tracked", "fc.bias"} <= set(state)
    for name, t in expected.items():
        assert state[name].shape == t.shape, name
    # trained: the running statistics moved away from their initial 0 and 1, one batch counted per step
    assert not np.allclose(state["norm1.running_mean"].numpy(), 0)
    assert int(state["norm1.num_batches_tracked"].item()) == 4  # 240 images in batches of 64


def test_reload_check_fails_when_the_checkpoint_does_not_match(run, capsys):
    """The check compares real results: the true ones pass, another accuracy or other logits fail."""
    _, _, out = run
    data = demo.load_data(0, 300)
    path = out / "none.safetensors"
    model = demo.ConvNet("none")
    model.load_state_dict(lucid.load(path))
    acc, logits = demo.evaluate(model, data[2], data[3])
    assert demo.check_reload("none", {"path": path, "acc": [acc], "logits": logits}, data) is True
    assert demo.check_reload("none", {"path": path, "acc": [1.5], "logits": logits}, data) is False
    nudged = logits.copy()
    nudged[0, 0] += 1e-3
    assert demo.check_reload("none", {"path": path, "acc": [acc], "logits": nudged}, data) is False
    assert "DIFFERENT" in capsys.readouterr().out


def test_data_is_split_80_20_shifted_and_reproducible():
    x_train, y_train, x_test, y_test = demo.load_data(seed=3, limit=100)
    assert x_train.shape == (80, 1, 8, 8) and x_test.shape == (20, 1, 8, 8)
    assert x_train.dtype == np.float32 and y_train.dtype == np.int64
    again = demo.load_data(seed=3, limit=100)
    for a, b in zip((x_train, y_train, x_test, y_test), again):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(demo.load_data(seed=4, limit=100)[0], x_train)
    # the shift is a·x + b per image: the digits' pixel range [0, 1] is stretched and moved
    lo, hi = x_train.min(axis=(1, 2, 3)), x_train.max(axis=(1, 2, 3))
    assert np.all(np.abs(lo) <= 0.3 + 1e-6) and np.all((hi - lo >= 0.5 - 1e-6) & (hi - lo <= 2.0 + 1e-6))


def test_shift_applies_contrast_and_brightness_per_image():
    images = np.tile(np.linspace(0, 1, 64).reshape(1, 8, 8), (500, 1, 1))
    shifted = demo.shift(images, np.random.default_rng(0), (0.5, 2.0), 0.3)
    a = shifted[:, 0, 1] - shifted[:, 0, 0]  # slope ratio = contrast factor
    a = a / (images[0, 0, 1] - images[0, 0, 0])
    b = shifted[:, 0, 0]
    assert a.min() >= 0.5 - 1e-4 and a.max() <= 2.0 + 1e-4 and a.max() / a.min() > 3
    assert b.min() >= -0.3 - 1e-6 and b.max() <= 0.3 + 1e-6


def test_every_variant_builds_and_runs_a_forward_pass():
    x = lucid.randn(3, 1, 8, 8)
    for name in demo.NORMS:
        model = demo.ConvNet(name)
        assert model(x).shape == (3, 10), name


def test_flags(capsys):
    args = demo.parse_args(["--variants", "groupnorm, LayerNorm", "--epochs", "2", "--seed", "5", "--out", "x"])
    assert args.variants == ["GroupNorm", "LayerNorm"] and args.epochs == 2 and args.seed == 5 and args.out == "x"
    assert demo.parse_args([]).variants == list(demo.NORMS)
    with pytest.raises(SystemExit) as e:
        demo.parse_args(["--variants", "BatchNorm2d,WeightNorm"])
    assert e.value.code == 2
    assert "expected names from none, BatchNorm2d" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        demo.parse_args(["--epochs", "0"])
    with pytest.raises(SystemExit) as e:
        demo.parse_args(["--help"])
    assert e.value.code == 0
    help_text = capsys.readouterr().out
    for flag in ("--epochs", "--variants", "--out", "--seed", "--threads"):
        assert flag in help_text
    assert "--limit" not in help_text
