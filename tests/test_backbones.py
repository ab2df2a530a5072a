"""One loader for every backbone (model_type dispatch), SigLIP 2 through transformers' own classes, the
NaFlex video pipeline against the processor, the sync-free box path, the tokenizer's padding side, the
sigmoid losses and prompt probabilities, and the bilingual caption check."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from fgvad.core.errors import CheckpointError, UsageError
from fgvad.data.geometry import FrameGeometry
from fgvad.models.backbones import BACKBONES, backbone_kind, load_backbone, read_model_type, resolve_model_choice
from fgvad.models.fgclip import FGCLIPModel
from fgvad.models.fgclip2 import FGCLIP2Model
from fgvad.models.fgclip2_config import tiny_fgclip2_config
from fgvad.models.fgclip2_processing import (
    FGCLIP2ImageProcessor, build_offline_fgclip2_tokenizer, load_fgclip2_tokenizer, tokenize_fgclip2,
)
from fgvad.models.video import VideoFGCLIP, VideoHeadConfig
from fgvad.train import losses
from fgvad.train.collator import TrainCollator

FIXTURES = Path(__file__).parent / "data" / "fixtures"


def tiny_siglip2(folder: Path) -> object:
    """transformers' own Siglip2Model, tiny and random, saved as a plain SigLIP 2 checkpoint."""
    from transformers import Siglip2Config, Siglip2Model

    torch.manual_seed(0)
    towers = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2)
    config = Siglip2Config(text_config={**towers, "vocab_size": 100, "max_position_embeddings": 64},
                           vision_config={**towers, "patch_size": 8, "num_patches": 16})
    model = Siglip2Model(config).eval()
    with torch.no_grad():
        model.logit_scale.fill_(2.5)
        model.logit_bias.fill_(-7.0)
    model.save_pretrained(folder)
    build_offline_fgclip2_tokenizer(["a man runs", "一个人在跑"], out_dir=folder)
    return model


def test_every_model_type_loads_through_one_function(tmp_path):
    assert read_model_type(FIXTURES / "fgclip_tiny_A") == "clip"
    assert isinstance(load_backbone(FIXTURES / "fgclip_tiny_A"), FGCLIPModel)
    fgclip2 = load_backbone(FIXTURES / "fgclip2_tiny_A")
    assert isinstance(fgclip2, FGCLIP2Model) and backbone_kind(fgclip2).model_type == "fgclip2"
    tiny_siglip2(tmp_path / "siglip2")
    siglip = load_backbone(tmp_path / "siglip2")
    assert isinstance(siglip, FGCLIP2Model) and siglip.loaded_from == "siglip2"
    assert {k: (v.family, v.bilingual, v.default_loss_type) for k, v in BACKBONES.items()} == {
        "clip": ("fgclip", False, "softmax"), "fgclip2": ("fgclip2", True, "sigmoid"),
        "siglip2": ("fgclip2", True, "sigmoid")}
    # A video model opens every one of them (fresh heads on a plain backbone).
    for folder in (FIXTURES / "fgclip_tiny_A", FIXTURES / "fgclip2_tiny_A", tmp_path / "siglip2"):
        video = VideoFGCLIP.from_pretrained(folder, head_config=VideoHeadConfig(heads=4, window=4))
        assert video.family == backbone_kind(folder).family


def test_unknown_or_missing_model_type_is_one_line(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "llama"}))
    with pytest.raises(CheckpointError, match="model_type 'llama' is not supported .fgvad loads clip, fgclip2, siglip2"):
        load_backbone(tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="config.json not found"):
        read_model_type(tmp_path / "empty")
    with pytest.raises(UsageError, match="neither a checkpoint folder nor one of"):
        resolve_model_choice("fg-clip-9000")


def test_siglip2_is_exact_where_siglip2_computes_and_derives_the_extras(tmp_path):
    reference = tiny_siglip2(tmp_path / "siglip2")
    model = load_backbone(tmp_path / "siglip2")
    processor = FGCLIP2ImageProcessor(patch_size=8, max_num_patches=16, dynamic_max_patches=False)
    rng = np.random.default_rng(0)
    batch = processor([rng.integers(0, 256, (40, 56, 3), dtype=np.uint8), rng.integers(0, 256, (32, 32, 3),
                                                                                       dtype=np.uint8)])
    ids = torch.randint(0, 100, (3, 64), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ours = model.get_image_features(batch["pixel_values"], batch["pixel_attention_mask"], batch["spatial_shapes"])
        theirs = reference.get_image_features(**batch).pooler_output
        assert torch.equal(ours, theirs)
        assert torch.equal(model.get_text_features(ids), reference.get_text_features(ids).pooler_output)
        # The extras start from SigLIP 2's own head; the long walk from its stretched positions.
        assert torch.equal(model.get_text_features(ids, walk_type="box"), model.get_text_features(ids))
        assert model.get_text_features(torch.randint(0, 100, (2, 196)), walk_type="long").shape == (2, 32)
    assert model.logit_scale.item() == 2.5 and model.logit_bias.item() == -7.0  # SigLIP 2's, untouched
    # Saved, it is an FG-CLIP 2 checkpoint (the extras are weights now) and loads as one, bit for bit.
    model.save_pretrained(tmp_path / "saved")
    assert read_model_type(tmp_path / "saved") == "fgclip2"
    again = load_backbone(tmp_path / "saved")
    for key, value in model.state_dict().items():
        assert torch.equal(again.state_dict()[key], value), key


def test_padding_side_is_forced_to_the_right(tmp_path):
    tokenizer = build_offline_fgclip2_tokenizer(["a man runs to the car"])
    tokenizer.padding_side = "left"
    tokenizer.save_pretrained(str(tmp_path))
    assert json.loads((tmp_path / "tokenizer_config.json").read_text())["padding_side"] == "left"
    loaded = load_fgclip2_tokenizer(tmp_path)
    assert loaded.padding_side == "left"
    ids = tokenize_fgclip2(loaded, ["a man runs"], "short")["input_ids"][0]
    assert ids[:5].tolist() == [2, 4, 6, 7, 1]  # <bos> a man runs <eos> first ...
    assert ids.shape == (64,) and ids[5:].eq(0).all()  # ... then <pad> up to the last position, which the model pools


def test_naflex_video_inputs_equal_the_processor_bit_for_bit():
    geometry = FrameGeometry.naflex(16, 64)
    assert geometry.frame_size(240, 320) == (112, 144)  # aspect kept: 7 x 9 patches
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (3, 112, 144, 3), dtype=np.uint8)
    expected = FGCLIP2ImageProcessor(max_num_patches=64, dynamic_max_patches=False)(list(frames), shared_grid=True,
                                                                                    pad_to_budget=False)
    video = VideoFGCLIP(FGCLIP2Model.from_config(tiny_fgclip2_config()), VideoHeadConfig(heads=4, window=3))
    direct = video.frame_inputs(torch.from_numpy(frames))
    assert torch.equal(direct.pixel_values, expected["pixel_values"])
    assert torch.equal(direct.pixel_attention_mask, expected["pixel_attention_mask"])
    assert torch.equal(direct.spatial_shapes, expected["spatial_shapes"]) and direct.grids == ((7, 9),) * 3
    # The training collator's uint8 patch rows, padded to a wider video's grid, give the same rows.
    item = {"frames": torch.from_numpy(frames), "boxes": torch.zeros(0, 4),
            "box_frame": torch.zeros(0, dtype=torch.long), "box_region": torch.zeros(0, dtype=torch.long),
            "frame_indices": torch.arange(3), "global_caption": "a man", "region_captions": [], "hard_negatives": [],
            "label": 0, "is_anomaly": 0.0, "index": 0, "video_key": "a"}
    wide = {**item, "frames": torch.from_numpy(rng.integers(0, 256, (3, 64, 256, 3), dtype=np.uint8)),
            "boxes": torch.tensor([[0.1, 0.2, 0.6, 0.9]]), "box_frame": torch.tensor([2]),
            "box_region": torch.tensor([0]), "region_captions": ["a man"], "hard_negatives": [[]]}
    batch = TrainCollator(build_offline_fgclip2_tokenizer(["a man"]), patch_size=16)([item, wide])
    assert batch["frame_grids"] == [(7, 9), (4, 16)]
    # The box sits on the wide video's last frame (flat frame 5): its features come from that
    # frame's NaFlex rows and grid, in the same vision pass as the frame embeddings.
    assert batch["dense_frames"] == [5] and batch["box_image"].tolist() == [0]
    with torch.no_grad():
        inputs = video.frame_inputs(batch["frames"], batch["frame_grids"])
        _, dense, dense_inputs, _ = video.encode_inputs_and_dense(inputs, 2, batch["dense_frames"])
        assert dense_inputs.grids == ((4, 16),)
        boxes = video.box_features(dense_inputs, batch["boxes"], box_image=batch["box_image"], dense=dense)
        alone = video.box_features(video.frame_inputs(wide["frames"][2:]), [batch["boxes"]])
    torch.testing.assert_close(boxes, alone, atol=1e-5, rtol=1e-4)
    collated = video.frame_inputs(batch["frames"], batch["frame_grids"])
    assert collated.pixel_values.shape == (6, 64, 768)
    assert torch.equal(collated.pixel_values[:3, :63], expected["pixel_values"])
    assert collated.pixel_values[:3, 63:].eq(0).all() and collated.pixel_attention_mask[:3].sum(1).eq(63).all()


def test_tensor_box_path_matches_the_list_path_across_grids():
    torch.manual_seed(0)
    model = FGCLIP2Model.from_config(tiny_fgclip2_config())
    processor = FGCLIP2ImageProcessor(max_num_patches=32, dynamic_max_patches=False)
    rng = np.random.default_rng(1)
    images = [rng.integers(0, 256, size, dtype=np.uint8) for size in ((64, 96, 3), (96, 64, 3), (64, 96, 3))]
    batch = processor(images)
    inputs = (batch["pixel_values"], batch["pixel_attention_mask"], batch["spatial_shapes"])
    per_image = [torch.tensor([[0.0, 0.0, 1.0, 1.0], [0.1, 0.2, 0.6, 0.9]]), torch.tensor([[0.3, 0.3, 0.7, 0.5]]),
                 torch.tensor([[0.5, 0.0, 1.0, 0.5]])]
    order = torch.tensor([3, 0, 2, 1])  # any row order; box_image names each row's image
    boxes = torch.cat(per_image)[order]
    image = torch.tensor([0, 0, 1, 2])[order]
    grids = [tuple(g) for g in batch["spatial_shapes"].tolist()]
    with torch.no_grad():
        listed = model.get_box_features(*inputs, per_image)
        tensor = model.get_box_features(*inputs, boxes, box_image=image, grids=grids)
    torch.testing.assert_close(tensor, listed[order], rtol=1e-5, atol=1e-5)


def test_sigmoid_losses_follow_siglip():
    torch.manual_seed(0)
    video, text, prompts = torch.randn(3, 8), torch.randn(3, 8), torch.randn(4, 8)
    scale, bias = torch.tensor([1.5], requires_grad=True), torch.tensor([-2.0], requires_grad=True)
    loss = losses.global_contrastive_loss(video, text, scale, loss_type="sigmoid", logit_bias=bias,
                                          prompt_embeds=prompts, video_labels=torch.tensor([1, 0, 2]))
    v, t, p = (torch.nn.functional.normalize(x, dim=-1) for x in (video, text, prompts))
    logits = torch.cat([v @ t.T, v @ p.T], 1) * scale.exp() + bias
    labels = torch.cat([torch.eye(3) * 2 - 1, -torch.ones(3, 4)], 1)
    keep = torch.ones(3, 7, dtype=torch.bool)
    keep[torch.arange(3), 3 + torch.tensor([1, 0, 2])] = False  # a video's own class prompt takes no part
    expected = -torch.nn.functional.logsigmoid(labels * logits)[keep].sum() / 3
    torch.testing.assert_close(loss, expected)
    loss.backward()
    assert torch.isfinite(scale.grad).all() and torch.isfinite(bias.grad).all() and bias.grad != 0
    region = losses.region_contrastive_loss(video, text, torch.tensor([0, 0, 2]), scale, loss_type="sigmoid",
                                            logit_bias=bias)
    pos = torch.tensor([[1, 0, 0], [1, 0, 0], [0, 0, 1]]).float() * 2 - 1
    torch.testing.assert_close(region, -torch.nn.functional.logsigmoid(pos * ((v @ t.T) * scale.exp() + bias)).sum() / 3)
    with pytest.raises(ValueError, match="needs a logit_bias"):
        losses.region_contrastive_loss(video, text, torch.tensor([0, 1, 2]), scale, loss_type="sigmoid")


def test_prompt_scores_use_each_familys_probabilities():
    torch.manual_seed(0)
    video = VideoFGCLIP(FGCLIP2Model.from_config(tiny_fgclip2_config()), VideoHeadConfig(heads=4, window=2))
    frames, prompts = torch.randn(1, 2, 64), torch.randn(3, 64)
    with torch.no_grad():
        video.clip.logit_scale.fill_(2.0)
        video.clip.logit_bias.fill_(-5.0)
        cos = torch.nn.functional.normalize(frames, dim=-1) @ torch.nn.functional.normalize(prompts, dim=-1).T
        p = torch.sigmoid(cos * np.exp(2.0) - 5.0)
        best = p[..., 1:].max(-1).values
        torch.testing.assert_close(video.prompt_scores(frames, prompts), best / (best + p[..., 0]))
    assert "sigmoid" in video.prompt_rule
    clip_video = VideoFGCLIP(FGCLIPModel.from_pretrained(FIXTURES / "fgclip_tiny_A"), VideoHeadConfig(heads=4))
    assert "softmax" in clip_video.prompt_rule


def test_sigmoid_loss_on_fgclip_v1_gets_a_bias_in_the_heads(tmp_path):
    clip = FGCLIPModel.from_pretrained(FIXTURES / "fgclip_tiny_A")
    video = VideoFGCLIP(clip, VideoHeadConfig(heads=4, logit_bias=True))
    scale, bias = video.logit_parameters("region")
    assert scale is clip.logit_scale_finegraind and bias.item() == -10.0
    video.save_pretrained(tmp_path / "v1")
    assert "logit_bias" in VideoFGCLIP.from_pretrained(tmp_path / "v1").head_state_dict()
    fgclip2 = VideoFGCLIP(FGCLIP2Model.from_config(tiny_fgclip2_config()), VideoHeadConfig(heads=4))
    assert fgclip2.logit_parameters("hard_negative") == (fgclip2.clip.logit_scale, fgclip2.clip.logit_bias)
