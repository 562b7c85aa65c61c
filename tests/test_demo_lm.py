"""The language-model demo (python -m lucid.demo lm): a tiny end-to-end run, the reload check, data, flags."""

import contextlib
import io

import numpy as np
import pytest

import lucid
from lucid import demo, demo_lm


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Six steps of two variants on a small model and 20k training characters: (exit code, stdout, folder)."""
    out = tmp_path_factory.mktemp("lm-output")
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = demo.main(
            [
                "lm",
                "--steps",
                "6",
                "--evals",
                "2",
                "--batch",
                "4",
                "--context",
                "16",
                "--d-model",
                "16",
                "--heads",
                "2",
                "--layers",
                "1",
                "--variants",
                "pre-rmsnorm,none",
                "--limit",
                "20000",
                "--out",
                str(out),
            ]
        )
    return code, buf.getvalue(), out


def test_lm_demo_writes_table_curves_checkpoints_and_text(run):
    code, text, out = run
    assert code == 0
    assert (out / "lm_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in out.glob("*.safetensors")) == ["none.safetensors", "pre-RMSNorm.safetensors"]
    rows = [line.split("|") for line in text.splitlines() if line.startswith("| ") and "variant" not in line]
    assert [r[1].strip() for r in rows] == ["pre-RMSNorm", "none"]
    for r in rows:
        bpc = float(r[2])
        assert 3.0 < bpc < 8.0  # a few steps from uniform over 128 bytes (7 bits)
    assert "same as the trained model's" in text and "DIFFERENT" not in text
    sample = text.split("(temperature 0.8):")[1].split("total time")[0].strip()
    assert sample.startswith("def ") and len(sample) >= 200


def test_checkpoint_holds_pytorch_style_names(run):
    _, _, out = run
    state = lucid.load(out / "pre-RMSNorm.safetensors")
    assert {
        "embed.weight",
        "blocks.layers.0.self_attn.in_proj_weight",
        "blocks.layers.0.self_attn.out_proj.weight",
        "blocks.layers.0.norm1.weight",
        "blocks.norm.weight",
        "head.bias",
    } <= set(state)
    assert "blocks.layers.0.norm1.bias" not in state  # RMSNorm only scales
    assert not any("norm" in k for k in lucid.load(out / "none.safetensors"))


def test_reload_check_fails_on_another_loss(run):
    _, _, out = run
    args = demo_lm.parse_args(["--d-model", "16", "--heads", "2", "--layers", "1", "--context", "16"])
    val = demo_lm.load_corpus(20000)[1]
    hist = {"path": out / "none.safetensors", "val": [1.0]}
    assert demo_lm.check_reload("none", hist, val, args)[0] is False


def test_corpus_is_fixed_ascii_and_split():
    train, val = demo_lm.load_corpus()
    again = demo_lm.load_corpus()
    np.testing.assert_array_equal(train, again[0])
    assert train.dtype == np.uint8 and train.max() < 128 and val.max() < 128
    assert 10_000 < len(val) <= demo_lm.VAL_CHARS * len(demo_lm.MODULES)  # short modules give less
    assert len(train) > 8 * len(val)
    assert b"def " in train.tobytes() and b"def " in val.tobytes()


def test_causal_model_ignores_the_future():
    lucid.manual_seed(0)
    model = demo_lm.CharTransformer("post-LayerNorm", d_model=16, nhead=2, layers=1, context=8)
    a = np.array([[10, 20, 30, 40, 50, 60, 70, 80]])
    b = a.copy()
    b[0, 5:] = [1, 2, 3]
    la, lb = model(lucid.tensor(a)).data, model(lucid.tensor(b)).data
    np.testing.assert_array_equal(la[0, :5], lb[0, :5])
    assert not np.allclose(la[0, 5:], lb[0, 5:])


def test_every_variant_has_its_norm():
    for name, (norm_first, norm) in demo_lm.VARIANTS.items():
        model = demo_lm.CharTransformer(name, d_model=16, nhead=2, layers=1, context=8)
        layer = model.blocks.layers[0]
        assert layer.norm_first == norm_first
        kind = {"layer": lucid.nn.LayerNorm, "rms": lucid.nn.RMSNorm, None: lucid.nn.Identity}[norm]
        assert isinstance(layer.norm1, kind) and isinstance(layer.norm2, kind)
        assert (model.blocks.norm is None) == (norm is None or not norm_first)
        assert model(lucid.tensor(np.zeros((2, 8), np.int64))).shape == (2, 8, demo_lm.VOCAB)


def test_flags(capsys):
    args = demo_lm.parse_args(["--variants", "PRE-layernorm, none", "--steps", "3"])
    assert args.variants == ["pre-LayerNorm", "none"] and args.steps == 3
    assert demo_lm.parse_args([]).variants == list(demo_lm.VARIANTS)
    for bad in (["--variants", "pre-BatchNorm"], ["--steps", "0"], ["--d-model", "10", "--heads", "4"]):
        with pytest.raises(SystemExit) as e:
            demo_lm.parse_args(bad)
        assert e.value.code == 2
    assert "expected names from pre-LayerNorm" in capsys.readouterr().err
