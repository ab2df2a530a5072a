"""FG-CLIP 2: upstream numerics (fixture fgclip2_tiny_A), released layout round trip, bad checkpoints,
NaFlex preprocessing, tokenisation."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from fgvad.core.errors import CheckpointError, ConfigError
from fgvad.models.fgclip2 import FGCLIP2Model, fgclip2_config_from_dict, read_fgclip2_config, tiny_fgclip2_config
from fgvad.models.fgclip2_processing import (
    FGCLIP2ImageProcessor,
    bucket_patch_budget,
    build_offline_fgclip2_tokenizer,
    load_fgclip2_tokenizer,
    tokenize_fgclip2,
)

FIXTURE = Path(__file__).parent / "data" / "fixtures" / "fgclip2_tiny_A"
WALKS = ("short", "box", "long")
# "Within 1e-5 relative": max |ours - upstream| <= 1e-5 * max |upstream| per array.
# Measured on this fixture (sdpa and eager): <= 6e-7 relative, <= 1.6e-6 absolute.
RELATIVE_TOLERANCE = 1e-5
# Inputs of reference.npz (region_rois_grid is upstream's internal float32 grid boxes).
INPUT_KEYS = {
    "image0_u8", "image1_u8", "image2_u8", "image_sizes_hw", "pixel_values", "pixel_attention_mask",
    "spatial_shapes", "fast_pixel_values", "fixed_max_num_patches", "fixed_pixel_values",
    "fixed_pixel_attention_mask", "fixed_spatial_shapes", "region_boxes_xyxy", "region_box_image_index",
    "region_boxes_norm_xyxy", "region_rois_grid",
    *(f"text_{walk}_{kind}" for walk in WALKS for kind in ("input_ids", "attention_mask")),
}


@pytest.fixture(scope="module")
def reference() -> dict[str, np.ndarray]:
    with np.load(FIXTURE / "reference.npz") as data:
        return {k: data[k] for k in data.files}


@pytest.fixture(scope="module")
def model() -> FGCLIP2Model:
    return FGCLIP2Model.from_pretrained(FIXTURE)


def image_inputs(ref: dict[str, np.ndarray], prefix: str = "") -> tuple[torch.Tensor, ...]:
    return tuple(torch.from_numpy(ref[prefix + k]) for k in ("pixel_values", "pixel_attention_mask", "spatial_shapes"))


def boxes_per_image(ref: dict[str, np.ndarray]) -> list[torch.Tensor]:
    index = ref["region_box_image_index"]
    return [torch.from_numpy(ref["region_boxes_norm_xyxy"][index == i]) for i in range(len(ref["spatial_shapes"]))]


def compute_outputs(model: FGCLIP2Model, ref: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    """Every array of reference.npz that the model produces, through the public interface."""
    image, fixed = image_inputs(ref), image_inputs(ref, "fixed_")
    fast = (torch.from_numpy(ref["fast_pixel_values"]), *image[1:])
    out: dict[str, torch.Tensor] = {}
    with torch.no_grad():
        out["vision_embeddings"] = model.vision_model.embeddings(image[0], image[2])
        out["vision_last_hidden_state"] = model.get_vision_last_hidden_state(*image)
        out["image_features"] = model.get_image_features(*image)
        out["fast_image_features"] = model.get_image_features(*fast)
        out["fixed_image_features"] = model.get_image_features(*fixed)
        out["dense_features"] = model.get_dense_features(*image)
        out["fixed_dense_features"] = model.get_dense_features(*fixed)
        out["region_features"] = model.get_box_features(*image, boxes_per_image(ref))
        for walk in WALKS:
            ids = torch.from_numpy(ref[f"text_{walk}_input_ids"])
            mask = torch.from_numpy(ref[f"text_{walk}_attention_mask"])
            out[f"text_{walk}_features"] = model.get_text_features(ids, mask, walk_type=walk)
            out[f"text_{walk}_features_nomask"] = model.get_text_features(ids, walk_type=walk)
            both = model(ids, *image, attention_mask=mask, walk_type=walk)
            out[f"logits_per_image_{walk}"] = both["logits_per_image"]
            out[f"forward_text_embeds_{walk}"] = both["text_embeds"]
            out["forward_image_embeds"] = both["image_embeds"]
        out["text_short_embeddings"] = model.text_embeddings(torch.from_numpy(ref["text_short_input_ids"]), "short")
        out["text_long_embeddings"] = model.text_embeddings(torch.from_numpy(ref["text_long_input_ids"]), "long")
        out["logit_scale"], out["logit_bias"] = model.logit_scale, model.logit_bias
    return out


def errors(got: torch.Tensor, expected: np.ndarray) -> tuple[float, float]:
    max_abs = float(np.abs(got.detach().float().numpy().astype(np.float64) - expected).max())
    return max_abs, max_abs / float(np.abs(expected).max())


def one_line_error(call, *fragments: str) -> str:
    with pytest.raises(CheckpointError) as info:
        call()
    message = str(info.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    return message


def test_fixture_copy_matches_its_provenance():
    lines = (FIXTURE / "PROVENANCE.txt").read_text().splitlines()
    digests = dict(reversed(line.split()) for line in lines if len(line.split()) == 2 and len(line.split()[0]) == 64)
    assert len(digests) == 7
    for name, digest in digests.items():
        assert hashlib.sha256((FIXTURE / name).read_bytes()).hexdigest() == digest, name


# --------------------------------------------------------------------------- numerics


@pytest.mark.parametrize("attn", ["sdpa", "eager"])
def test_reproduces_every_upstream_output(reference, attn):
    model = FGCLIP2Model.from_pretrained(FIXTURE, attn_implementation=attn)
    outputs = compute_outputs(model, reference)
    assert set(outputs) == set(reference) - INPUT_KEYS  # every stored output is checked
    for name, got in outputs.items():
        assert tuple(got.shape) == reference[name].shape, name
        max_abs, relative = errors(got, reference[name])
        assert relative <= RELATIVE_TOLERANCE, (name, max_abs, relative)


def test_region_boxes_as_float32(model, reference):
    # Training passes float32 normalised boxes; their grid boxes differ from upstream's float64
    # ones by ~1e-6 grid units, far below the tolerance.
    with torch.no_grad():
        regions = model.get_box_features(*image_inputs(reference), [b.float() for b in boxes_per_image(reference)])
    assert errors(regions, reference["region_features"])[1] <= RELATIVE_TOLERANCE


def test_box_features_semantics(model, reference):
    image = image_inputs(reference)
    with torch.no_grad():
        dense = model.get_dense_features(*image)
        full = torch.tensor([[0.0, 0.0, 1.0, 1.0]])
        feats = model.get_box_features(*image, [full, torch.zeros(0, 4), full])
        again = model.get_box_features(*image, [full, torch.zeros(0, 4), full], dense=dense)
    assert feats.shape == (2, dense.shape[-1]) and feats.dtype == torch.float32
    torch.testing.assert_close(feats, again, rtol=0, atol=0)
    for row, i in enumerate((0, 2)):
        rows, cols = (int(v) for v in reference["spatial_shapes"][i])
        # A full-image box is the mean of the image's valid dense rows, not of its padding.
        torch.testing.assert_close(feats[row], dense[i, : rows * cols].mean(0), rtol=0, atol=1e-6)
    with pytest.raises(ValueError, match="2 box tensors for 3 images"):
        model.get_box_features(*image, [full, full])


def test_batch_and_mask_invariances(model, reference):
    pixels, mask, shapes = image_inputs(reference)
    with torch.no_grad():
        batched = model.get_image_features(pixels, mask, shapes)
        alone = model.get_image_features(pixels[1:2], mask[1:2], shapes[1:2])
        derived = model.get_image_features(pixels, None, shapes)
        texts = model.get_text_features(torch.from_numpy(reference["text_box_input_ids"]), walk_type="box")
        text_alone = model.get_text_features(torch.from_numpy(reference["text_box_input_ids"][2:]), walk_type="box")
    torch.testing.assert_close(alone[0], batched[1], rtol=0, atol=1e-6)
    torch.testing.assert_close(text_alone[0], texts[2], rtol=0, atol=1e-6)
    # No mask given: derived from spatial_shapes (the processor pads after the h*w patches).
    torch.testing.assert_close(derived, batched, rtol=0, atol=0)


def test_walk_checks(model, reference):
    ids = torch.from_numpy(reference["text_long_input_ids"])
    with pytest.raises(ConfigError, match="walk_type 'longer'"):
        model.get_text_features(ids, walk_type="longer")
    with pytest.raises(ValueError, match="short text walk takes at most 64 tokens, got 196"):
        model.get_text_features(ids, walk_type="short")


# --------------------------------------------------------------------------- preprocessing


def test_processor_reproduces_upstream(reference):
    processor = FGCLIP2ImageProcessor.from_pretrained(FIXTURE)
    images = [reference[f"image{i}_u8"] for i in range(3)]
    runs = {"": processor(images),
            "fixed_": processor(images, dynamic_max_patches=False,
                                max_num_patches=int(reference["fixed_max_num_patches"]))}
    for prefix, out in runs.items():
        for key in ("pixel_values", "pixel_attention_mask", "spatial_shapes"):
            expected = reference[prefix + key]
            assert out[key].numpy().dtype == expected.dtype, prefix + key
            assert out[key].shape == expected.shape, prefix + key
            assert float(np.abs(out[key].numpy().astype(np.float64) - expected).max()) <= 1e-6, prefix + key
    # The dynamic budget is a bucket over the original sizes; an explicit budget is honoured.
    assert bucket_patch_budget([im.shape[:2] for im in images], 16) == 128
    assert bucket_patch_budget([(480, 640)], 16) == 1024 and bucket_patch_budget([(240, 320)], 16) == 576
    assert processor(images, max_num_patches=24)["pixel_values"].shape == (3, 24, 768)


def test_processor_layout_round_trip(tmp_path):
    processor = FGCLIP2ImageProcessor.from_pretrained(FIXTURE)
    processor.save_pretrained(tmp_path)
    assert (tmp_path / "preprocessor_config.json").read_text() == (FIXTURE / "preprocessor_config.json").read_text()
    one_line_error(lambda: FGCLIP2ImageProcessor.from_pretrained(tmp_path / "missing"), "preprocessor_config.json")
    (tmp_path / "preprocessor_config.json").write_text("{not json")
    one_line_error(lambda: FGCLIP2ImageProcessor.from_pretrained(tmp_path), "invalid JSON")


def test_video_frames_share_one_grid(model, reference):
    processor = FGCLIP2ImageProcessor.from_pretrained(FIXTURE)
    frame = reference["image0_u8"]
    frames = np.stack([frame, frame[:, ::-1], frame[::-1]])
    padded = processor(frames, shared_grid=True, max_num_patches=96)
    compact = processor(frames, shared_grid=True, max_num_patches=96, pad_to_budget=False)
    rows, cols = (int(v) for v in padded["spatial_shapes"][0])
    assert padded["pixel_values"].shape[1] == 96 and compact["pixel_values"].shape[1] == rows * cols
    assert (padded["spatial_shapes"] == padded["spatial_shapes"][0]).all()
    with torch.no_grad():
        dense_padded = model.get_dense_features(*(padded[k] for k in ("pixel_values", "pixel_attention_mask", "spatial_shapes")))
        dense_compact = model.get_dense_features(*(compact[k] for k in ("pixel_values", "pixel_attention_mask", "spatial_shapes")))
        image_padded = model.get_image_features(padded["pixel_values"], padded["pixel_attention_mask"], padded["spatial_shapes"])
        image_compact = model.get_image_features(compact["pixel_values"], None, compact["spatial_shapes"])
    # Masked padding never reaches the valid rows: dropping it changes nothing but rounding.
    torch.testing.assert_close(dense_compact, dense_padded[:, : rows * cols], rtol=0, atol=1e-5)
    torch.testing.assert_close(image_compact, image_padded, rtol=0, atol=1e-5)
    with pytest.raises(ValueError, match="image 1 is 120x50"):
        processor([frame, reference["image1_u8"]], shared_grid=True)
    with pytest.raises(ValueError, match="image 0: expected an H x W x 3 uint8"):
        processor([frame.astype(np.float32)])


# --------------------------------------------------------------------------- layout


def test_round_trip_is_bit_identical_and_keeps_the_released_layout(model, reference, tmp_path):
    model.save_pretrained(tmp_path)
    assert json.loads((tmp_path / "config.json").read_text()) == json.loads((FIXTURE / "config.json").read_text())
    assert (tmp_path / "config.json").read_text() == (FIXTURE / "config.json").read_text()
    listed = []
    with safe_open(str(tmp_path / "model.safetensors"), "pt") as handle:
        assert handle.metadata() == {"format": "pt"}
        for key in handle.keys():
            tensor = handle.get_slice(key)
            listed.append(f"{key}\t{tensor.get_dtype()}\t{list(tensor.get_shape())}")
    assert sorted(listed) == (FIXTURE / "keys.txt").read_text().splitlines()
    assert (tmp_path / "model.safetensors").read_bytes() == (FIXTURE / "model.safetensors").read_bytes()
    reloaded = FGCLIP2Model.from_pretrained(tmp_path)
    for (key, a), (key_b, b) in zip(model.state_dict().items(), reloaded.state_dict().items()):
        assert key == key_b and torch.equal(a, b), key
    with torch.no_grad():
        assert torch.equal(model.get_image_features(*image_inputs(reference)),
                           reloaded.get_image_features(*image_inputs(reference)))


def test_other_sizes_round_trip(tmp_path):
    # Other widths, heads, depths, patch and table sizes: nothing may assume the fixture's.
    config = fgclip2_config_from_dict({
        "model_type": "fgclip2",
        "text_config": {"vocab_size": 777, "hidden_size": 48, "intermediate_size": 80, "num_hidden_layers": 3,
                        "num_attention_heads": 6, "max_position_embeddings": 48, "keep_len": 16, "longtext_len": 144},
        "vision_config": {"hidden_size": 48, "intermediate_size": 112, "num_hidden_layers": 3,
                          "num_attention_heads": 3, "num_patches": 36, "patch_size": 8},
    })
    model = FGCLIP2Model.from_config(config)
    model.save_pretrained(tmp_path)
    saved, released = json.loads((tmp_path / "config.json").read_text()), json.loads((FIXTURE / "config.json").read_text())
    assert saved.keys() == released.keys()
    for tower in ("text_config", "vision_config"):
        assert saved[tower].keys() == released[tower].keys()
    assert saved["text_config"]["longtext_len"] == 144 and saved["vision_config"]["patch_size"] == 8
    reloaded = FGCLIP2Model.from_pretrained(tmp_path)
    state = load_file(str(tmp_path / "model.safetensors"))
    assert state.keys() == model.state_dict().keys()
    for key, value in model.state_dict().items():
        assert torch.equal(value, reloaded.state_dict()[key]), key
    processor = FGCLIP2ImageProcessor(patch_size=8)
    rng = np.random.default_rng(0)
    batch = processor([rng.integers(0, 256, (36, 100, 3), dtype=np.uint8),
                       rng.integers(0, 256, (150, 44, 3), dtype=np.uint8)])
    inputs = (batch["pixel_values"], batch["pixel_attention_mask"], batch["spatial_shapes"])
    with torch.no_grad():
        assert reloaded.get_image_features(*inputs).shape == (2, 48)
        assert reloaded.get_dense_features(*inputs).shape == (2, batch["pixel_values"].shape[1], 48)
        assert reloaded.get_box_features(*inputs, [torch.tensor([[0.1, 0.2, 0.9, 0.7]])] * 2).shape == (2, 48)
        long_ids = torch.randint(0, 777, (2, 144))
        assert reloaded.get_text_features(long_ids, walk_type="long").shape == (2, 48)


@pytest.fixture()
def checkpoint_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "ckpt"
    folder.mkdir()
    for name in ("config.json", "model.safetensors"):
        shutil.copy(FIXTURE / name, folder / name)
    return folder


def edit_weights(folder: Path, edit) -> None:
    state = load_file(str(folder / "model.safetensors"))
    edit(state)
    save_file(state, str(folder / "model.safetensors"), metadata={"format": "pt"})


def test_missing_unexpected_and_misshapen_keys(checkpoint_copy):
    key = "dense_feature_head.attention.in_proj_weight"
    edit_weights(checkpoint_copy, lambda s: s.pop(key))
    one_line_error(lambda: FGCLIP2Model.from_pretrained(checkpoint_copy), f"missing key {key}", "[192, 64]")
    edit_weights(checkpoint_copy, lambda s: s.update({key: torch.zeros(191, 64)}))
    one_line_error(lambda: FGCLIP2Model.from_pretrained(checkpoint_copy), f"key {key} has shape [191, 64]", "[192, 64]")
    edit_weights(checkpoint_copy, lambda s: s.update({key: torch.zeros(192, 64), "text_model.extra.weight": torch.zeros(2)}))
    one_line_error(lambda: FGCLIP2Model.from_pretrained(checkpoint_copy), "unexpected key text_model.extra.weight")


def test_training_class_checkpoint_loads(checkpoint_copy, model):
    # Upstream's training class also stores two unused logit scales; they are dropped.
    edit_weights(checkpoint_copy, lambda s: s.update(logit_scale_finegraind=torch.ones(1), logit_scale_hardneg=torch.ones(1)))
    loaded = FGCLIP2Model.from_pretrained(checkpoint_copy)
    assert loaded.state_dict().keys() == model.state_dict().keys()


def test_unsafe_or_broken_files_are_refused(checkpoint_copy):
    weights = checkpoint_copy / "model.safetensors"
    torch.save({"logit_scale": torch.zeros(1)}, checkpoint_copy / "pytorch_model.bin")
    one_line_error(lambda: FGCLIP2Model.from_pretrained(checkpoint_copy / "pytorch_model.bin"), "pickle weights are refused")
    weights.rename(checkpoint_copy / "moved.safetensors.bak")
    one_line_error(lambda: FGCLIP2Model.from_pretrained(checkpoint_copy), "only pickle weights (pytorch_model.bin)")
    (checkpoint_copy / "model.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{broken")
    one_line_error(lambda: FGCLIP2Model.from_pretrained(checkpoint_copy), "model.safetensors: not a readable safetensors file")


def test_config_errors(checkpoint_copy):
    raw = json.loads((checkpoint_copy / "config.json").read_text())
    (checkpoint_copy / "config.json").write_text(json.dumps({**raw, "model_type": "siglip2"}))
    one_line_error(lambda: FGCLIP2Model.from_pretrained(checkpoint_copy), "model_type is 'siglip2'", "'fgclip2'")
    bad = {**raw, "text_config": {**raw["text_config"], "num_attention_heads": 5}}
    (checkpoint_copy / "config.json").write_text(json.dumps(bad))
    one_line_error(lambda: read_fgclip2_config(checkpoint_copy), "hidden_size 64 is not divisible by num_attention_heads 5")
    (checkpoint_copy / "config.json").unlink()
    one_line_error(lambda: FGCLIP2Model.from_pretrained(checkpoint_copy), "no config.json")


# --------------------------------------------------------------------------- text and training readiness


def test_tokenisation_from_the_checkpoint_folder(checkpoint_copy):
    captions = ["A man breaks the window", "一个男人打破了窗户", "a car crashes into a wall at night"]
    build_offline_fgclip2_tokenizer(captions, out_dir=checkpoint_copy, vocab_size=1000)
    model = FGCLIP2Model.from_pretrained(checkpoint_copy)
    assert model.tokenizer is not None
    short = tokenize_fgclip2(model.tokenizer, captions, "box", config=model.config)
    long = tokenize_fgclip2(model.tokenizer, captions, "long", config=model.config)
    assert short["input_ids"].shape == (3, 64) and long["input_ids"].shape == (3, 196)
    lower = tokenize_fgclip2(model.tokenizer, [c.lower() for c in captions], "box")
    assert torch.equal(lower["input_ids"], short["input_ids"])
    ids = short["input_ids"]
    assert ids[:, 0].eq(2).all() and (ids[1, 1:9] > 3).all()  # bos, then known Chinese characters
    assert short["attention_mask"].sum(1).tolist() == [7, 11, 10]
    assert (ids * (1 - short["attention_mask"])).eq(0).all()  # right padding with pad id 0
    cut = tokenize_fgclip2(model.tokenizer, [" ".join(["man"] * 100)], "short")
    assert cut["attention_mask"].sum() == 64
    with torch.no_grad():
        assert model.get_text_features(long["input_ids"], walk_type="long").shape == (3, 64)
    model.save_pretrained(checkpoint_copy / "saved")
    again = load_fgclip2_tokenizer(checkpoint_copy / "saved")
    assert torch.equal(tokenize_fgclip2(again, captions, "box")["input_ids"], ids)
    one_line_error(lambda: load_fgclip2_tokenizer(checkpoint_copy / "saved" / "nowhere"), "no tokenizer.json")


def test_tiny_model_trains_through_every_path():
    processor = FGCLIP2ImageProcessor(max_num_patches=16, dynamic_max_patches=False)
    rng = np.random.default_rng(1)
    batch = processor([rng.integers(0, 256, (48, 64, 3), dtype=np.uint8) for _ in range(2)], shared_grid=True)
    inputs = (batch["pixel_values"], batch["pixel_attention_mask"], batch["spatial_shapes"])
    ids = torch.randint(4, 100, (2, 196), generator=torch.Generator().manual_seed(0))

    def gradients(checkpointing: bool) -> dict[str, torch.Tensor]:
        torch.manual_seed(0)
        model = FGCLIP2Model.from_config(tiny_fgclip2_config(width=32, heads=2, mlp=64, vocab_size=100)).train()
        if checkpointing:
            model.gradient_checkpointing_enable()
        image, dense = model.get_image_and_dense_features(*inputs)
        regions = model.get_box_features(*inputs, [torch.tensor([[0.0, 0.0, 0.5, 0.5]])] * 2, dense=dense)
        out = model(ids[:, :64], *inputs)
        loss = (image.sum() + regions.sum() + model.get_text_features(ids, walk_type="long").sum()
                + model.get_text_features(ids[:, :64], walk_type="box").sum() + out["logits_per_image"].sum())
        loss.backward()
        return {name: p.grad for name, p in model.named_parameters()}

    plain = gradients(False)
    for name in ("dense_feature_head.attention.in_proj_weight", "vision_model.head.probe", "boxtext_head.weight",
                 "longtext_head.weight", "text_model.embeddings.position_embedding_res.weight", "logit_bias"):
        assert plain[name] is not None and plain[name].abs().sum() > 0, name
    # Activation checkpointing recomputes; it must not change a single gradient.
    for name, grad in gradients(True).items():
        assert (grad is None) == (plain[name] is None), name
        assert grad is None or torch.equal(grad, plain[name]), name
