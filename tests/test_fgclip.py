"""FG-CLIP model: upstream numerics (fixture), official layout round trip, plain CLIP init, bad checkpoints."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from fgvad.core.errors import CheckpointError
from fgvad.models.fgclip import (
    EXTRA_KEYS,
    FGCLIPModel,
    clip_config_from_dict,
    load_clip_config,
    stretch_position_table,
    tiny_fgclip_config,
)

OUTPUT_NAMES = ("image_embeds", "text_short_embeds", "text_long_embeds", "dense_features", "box_features")


@pytest.fixture(scope="module")
def fixture_dir(shared_dir: Path) -> Path:
    return shared_dir / "fixtures" / "fgclip_tiny_A"


@pytest.fixture(scope="module")
def reference(fixture_dir: Path) -> dict[str, np.ndarray]:
    with np.load(fixture_dir / "reference.npz") as data:
        return {k: data[k] for k in data.files}


@pytest.fixture(scope="module")
def fixture_model(fixture_dir: Path) -> FGCLIPModel:
    return FGCLIPModel.from_pretrained(fixture_dir)


def compute_outputs(model: FGCLIPModel, ref: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    pixels = torch.from_numpy(ref["pixel_values"])
    boxes = list(torch.from_numpy(ref["boxes_norm_xyxy"]))
    with torch.no_grad():
        out = {
            "image_embeds": model.get_image_features(pixels),
            "text_short_embeds": model.get_text_features(torch.from_numpy(ref["input_ids_short"]), long=False),
            "text_long_embeds": model.get_text_features(torch.from_numpy(ref["input_ids_long"]), long=True),
            "dense_features": model.get_dense_features(pixels),
            "box_features": model.get_box_features(pixels, boxes),
        }
    return {k: v.float().numpy() for k, v in out.items()}


@pytest.mark.parametrize("attn", ["sdpa", "eager"])
def test_reproduces_upstream_reference(fixture_dir, reference, attn):
    model = FGCLIPModel.from_pretrained(fixture_dir, attn_implementation=attn)
    outputs = compute_outputs(model, reference)
    for name in OUTPUT_NAMES:
        expected = reference[name]
        assert outputs[name].shape == expected.shape, name
        max_abs = float(np.abs(outputs[name] - expected).max())
        # Measured: max abs error <= 1.7e-6 for every array (outputs are of order 1).
        assert max_abs <= 1e-4 * float(np.abs(expected).max()), (name, max_abs)
        assert max_abs <= 1e-5, (name, max_abs)


def test_box_semantics_full_image_and_single_cell(fixture_model, reference):
    pixels = torch.from_numpy(reference["pixel_values"][:1])
    with torch.no_grad():
        dense = fixture_model.get_dense_features(pixels)[0]  # (196, D), 14x14 grid
        boxes = torch.tensor([[0.0, 0.0, 1.0, 1.0], [3 / 14, 5 / 14, 4 / 14, 6 / 14]])
        feats = fixture_model.get_box_features(pixels, [boxes])
    assert feats.dtype == torch.float32
    torch.testing.assert_close(feats[0], dense.mean(0), atol=1e-5, rtol=0)
    torch.testing.assert_close(feats[1], dense[5 * 14 + 3], atol=1e-5, rtol=0)


def test_image_and_dense_in_one_pass_match(fixture_model, reference):
    pixels = torch.from_numpy(reference["pixel_values"])
    with torch.no_grad():
        image, dense = fixture_model.get_image_and_dense_features(pixels)
        torch.testing.assert_close(image, fixture_model.get_image_features(pixels), atol=0, rtol=0)
        torch.testing.assert_close(dense, fixture_model.get_dense_features(pixels), atol=0, rtol=0)


def test_round_trip_keeps_outputs_and_official_keys(fixture_dir, fixture_model, reference, tmp_path):
    fixture_model.save_pretrained(tmp_path)
    with safe_open(str(tmp_path / "model.safetensors"), framework="pt") as saved, \
            safe_open(str(fixture_dir / "model.safetensors"), framework="pt") as official:
        assert sorted(saved.keys()) == sorted(official.keys())
        assert len(list(saved.keys())) == 83
        assert saved.metadata() == {"format": "pt"}
        for key in official.keys():
            assert saved.get_slice(key).get_shape() == official.get_slice(key).get_shape(), key
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["architectures"] == ["FGCLIPModel"] and config["model_type"] == "clip"
    assert config["vision_config"]["patch_size"] == 16 and config["text_config"]["hidden_size"] == 48
    reloaded = FGCLIPModel.from_pretrained(tmp_path)
    before, after = compute_outputs(fixture_model, reference), compute_outputs(reloaded, reference)
    for name in OUTPUT_NAMES:
        np.testing.assert_array_equal(before[name], after[name])


def test_sharded_safetensors_load(fixture_dir, fixture_model, reference, tmp_path):
    tensors = load_file(str(fixture_dir / "model.safetensors"))
    keys = sorted(tensors)
    shards = {"model-00001-of-00002.safetensors": keys[::2], "model-00002-of-00002.safetensors": keys[1::2]}
    weight_map = {}
    for shard, shard_keys in shards.items():
        save_file({k: tensors[k] for k in shard_keys}, str(tmp_path / shard), metadata={"format": "pt"})
        weight_map.update({k: shard for k in shard_keys})
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))
    shutil.copy(fixture_dir / "config.json", tmp_path / "config.json")
    loaded = FGCLIPModel.from_pretrained(tmp_path)
    np.testing.assert_array_equal(
        compute_outputs(loaded, reference)["text_long_embeds"], compute_outputs(fixture_model, reference)["text_long_embeds"]
    )


def _plain_clip_folder(tmp_path: Path) -> Path:
    from transformers import CLIPConfig, CLIPModel

    torch.manual_seed(0)
    config = CLIPConfig(
        text_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                         vocab_size=49408),
        vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                           image_size=32, patch_size=8),
        projection_dim=16,
    )
    folder = tmp_path / "plain_clip"
    CLIPModel(config).save_pretrained(folder)
    return folder


def test_plain_clip_checkpoint_gets_upstream_extras(tmp_path):
    folder = _plain_clip_folder(tmp_path)
    model = FGCLIPModel.from_pretrained(folder)
    assert model.loaded_from_plain_clip
    stored = load_file(str(folder / "model.safetensors"))
    assert not any(key in stored for key in EXTRA_KEYS)
    state = model.state_dict()
    for key, tensor in stored.items():
        if not key.endswith("position_ids"):
            torch.testing.assert_close(state[key], tensor, atol=0, rtol=0)
    short_table = stored["text_model.embeddings.position_embedding.weight"]
    long_table = state["text_model.embeddings.position_embedding_ori.weight"]
    assert long_table.shape == (248, 32)
    torch.testing.assert_close(long_table, stretch_position_table(short_table))
    torch.testing.assert_close(long_table[:20], short_table[:20], atol=0, rtol=0)
    torch.testing.assert_close(long_table[20 + 4 * 3 + 2], (2 * short_table[23] + 2 * short_table[24]) / 4)
    torch.testing.assert_close(long_table[247], short_table[76] + 3 * (short_table[76] - short_table[75]) / 4)
    torch.testing.assert_close(state["text_filip_projection.weight"], stored["text_projection.weight"], atol=0, rtol=0)
    scales = [model.logit_scale_finegraind.item(), model.logit_scale_hardneg.item(), stored["logit_scale"].item()]
    assert scales[0] == scales[1] == scales[2]

    # Texts shorter than 20 tokens: the long path (padded to 248) equals the short path (77).
    generator = torch.Generator().manual_seed(3)
    short = torch.full((3, 77), 49407)
    long = torch.full((3, 248), 49407)
    for row, eos in enumerate([5, 12, 19]):
        ids = torch.randint(1, 49405, (eos,), generator=generator)
        ids[0] = 49406
        short[row, :eos] = ids
        long[row, :eos] = ids
    with torch.no_grad():
        torch.testing.assert_close(model.get_text_features(long, long=True), model.get_text_features(short),
                                   atol=1e-5, rtol=1e-5)


def test_bad_checkpoints_give_one_line_errors(fixture_dir, tmp_path):
    pickle_dir = tmp_path / "pickle"
    pickle_dir.mkdir()
    shutil.copy(fixture_dir / "config.json", pickle_dir / "config.json")
    (pickle_dir / "pytorch_model.bin").write_bytes(b"not unpickled")
    with pytest.raises(CheckpointError, match="pytorch_model.bin.*safetensors only"):
        FGCLIPModel.from_pretrained(pickle_dir)
    with pytest.raises(CheckpointError, match="pickle weights are refused"):
        FGCLIPModel.from_pretrained(pickle_dir / "pytorch_model.bin")

    tensors = load_file(str(fixture_dir / "model.safetensors"))

    def folder_with(name: str, state: dict) -> Path:
        folder = tmp_path / name
        folder.mkdir()
        shutil.copy(fixture_dir / "config.json", folder / "config.json")
        save_file(state, str(folder / "model.safetensors"))
        return folder

    missing = dict(tensors)
    del missing["vision_model.encoder.layers.1.mlp.fc2.bias"]
    with pytest.raises(CheckpointError, match=r"missing key vision_model\.encoder\.layers\.1\.mlp\.fc2\.bias"):
        FGCLIPModel.from_pretrained(folder_with("missing", missing))

    partial_extras = dict(tensors)
    del partial_extras["logit_scale_hardneg"]
    with pytest.raises(CheckpointError, match="missing key logit_scale_hardneg"):
        FGCLIPModel.from_pretrained(folder_with("partial", partial_extras))

    wrong = dict(tensors)
    wrong["text_projection.weight"] = torch.zeros(32, 47)
    with pytest.raises(CheckpointError, match=r"text_projection\.weight has shape \[32, 47\]"):
        FGCLIPModel.from_pretrained(folder_with("wrong", wrong))

    extra = dict(tensors)
    extra["head.weight"] = torch.zeros(2)
    with pytest.raises(CheckpointError, match=r"unexpected key head\.weight"):
        FGCLIPModel.from_pretrained(folder_with("extra", extra))

    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    shutil.copy(fixture_dir / "config.json", corrupt / "config.json")
    (corrupt / "model.safetensors").write_bytes(b"\x00garbage")
    with pytest.raises(CheckpointError, match="not a readable safetensors file") as info:
        FGCLIPModel.from_pretrained(corrupt)
    assert "\n" not in str(info.value)

    with pytest.raises(CheckpointError, match="not found"):
        FGCLIPModel.from_pretrained(tmp_path / "nowhere")


def test_released_base_config_builds_vit_b16(shared_dir):
    raw = json.loads((shared_dir / "fixtures" / "released_configs" / "fg-clip-base.config.json").read_text())
    assert raw["vision_config_dict"] == {"patch_size": 16}  # the trap is really there
    config = load_clip_config(shared_dir / "fixtures" / "released_configs" / "fg-clip-base.config.json")
    assert config.to_dict() == clip_config_from_dict(raw).to_dict()
    model = FGCLIPModel.from_config(config, device="meta")
    vision, text = model.vision_model.config, model.text_model.config
    assert (vision.hidden_size, vision.num_hidden_layers, vision.num_attention_heads) == (768, 12, 12)
    assert (vision.patch_size, vision.image_size, vision.intermediate_size) == (16, 224, 3072)
    assert (text.hidden_size, text.num_hidden_layers, text.intermediate_size) == (512, 12, 2048)
    assert model.embed_dim == 512 and model.eos_token_id == 49407
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert shapes["vision_model.embeddings.position_embedding.weight"] == (197, 768)
    assert shapes["vision_model.embeddings.patch_embedding.weight"] == (768, 3, 16, 16)
    assert shapes["text_model.embeddings.position_embedding_res.weight"] == (248, 512)
    assert shapes["visual_projection.weight"] == (512, 768)
    n_params = sum(int(np.prod(s)) for s in shapes.values())
    assert 149_000_000 < n_params < 151_000_000  # ViT-B/16 CLIP (~149.6M) + FG-CLIP extras


def test_bf16_and_tiny_config(tmp_path):
    torch.manual_seed(0)
    model = FGCLIPModel.from_config(tiny_fgclip_config(image_size=32, patch=8, vision_width=32, text_width=32,
                                                       projection_dim=16), dtype="bfloat16")
    assert model.dtype == torch.bfloat16
    ids = torch.full((2, 248), 49407)
    ids[:, 0] = 49406
    ids[:, 1:30] = torch.randint(1, 1000, (2, 29))
    with torch.no_grad():
        image = model.get_image_features(torch.randn(2, 3, 32, 32))
        text = model.get_text_features(ids, long=True)
        boxes = model.get_box_features(torch.randn(1, 3, 32, 32), [torch.tensor([[0.1, 0.1, 0.6, 0.9]])])
    assert image.shape == (2, 16) and text.shape == (2, 16) and boxes.shape == (1, 16)
    assert torch.isfinite(image.float()).all() and torch.isfinite(text.float()).all()
    model.save_pretrained(tmp_path)
    reloaded = FGCLIPModel.from_pretrained(tmp_path, torch_dtype=torch.float32)
    assert reloaded.dtype == torch.float32
    with pytest.raises(ValueError, match="at most 77 tokens"):
        model.get_text_features(ids, long=False)


@pytest.mark.parametrize("long", [False, True])
def test_text_features_do_not_depend_on_the_padding_or_the_batch(long):
    """Padding after the batch's last EOS is cut before the layers: a caption's features must be
    the same alone, beside a longer caption (less cut) and with no padding at all."""
    torch.manual_seed(0)
    model = FGCLIPModel.from_config(tiny_fgclip_config(image_size=16, patch=8, vision_width=32, text_width=32,
                                                       projection_dim=32, heads=2)).eval()
    length, eos = (248 if long else 77), model.eos_token_id

    def ids(n_tokens: int) -> torch.Tensor:
        row = torch.full((length,), eos, dtype=torch.long)
        row[0] = 49406
        row[1:n_tokens + 1] = torch.randint(300, 1000, (n_tokens,))
        return row

    short, longer = ids(5), ids(40 if long else 30)
    with torch.no_grad():
        alone = model.get_text_features(short[None], long=long)
        beside = model.get_text_features(torch.stack([short, longer]), long=long)
        unpadded = model.get_text_features(short[None, :7], long=long)
    torch.testing.assert_close(beside[0:1], alone, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(unpadded, alone, atol=1e-5, rtol=1e-5)
