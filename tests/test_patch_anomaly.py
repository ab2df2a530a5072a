"""The patch anomaly head and its region anomaly loss: which region captions describe the anomaly
(read from the training captions' words), their boxes first under the cap, the head's evidence in
the per-frame embedding, its checkpoint, and a real training run that trains it through the boxes."""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import TrainerCallback

from fgvad.core.errors import ConfigError
from fgvad.data.annotations import Box, Entry, Region
from fgvad.data.caption_labels import MIN_VIDEOS, anomaly_captions, caption_words
from fgvad.data.dataset import collate_videos
from fgvad.data.tracks import spread_cap
from fgvad.models.fgclip import FGCLIPModel, tiny_fgclip_config
from fgvad.models.video import VideoFGCLIP, VideoHeadConfig
from fgvad.train import losses, train

sys.path.insert(0, str(Path(__file__).resolve().parent))
from helpers_train import tiny_run_options  # noqa: E402


def entry(index: int, label: str, *captions: str) -> Entry:
    return Entry(index, f"{label}/{label}{index:03d}_x264.mp4", "a video", [Region(c, [Box(0, (0, 0, 1, 1))])
                                                                          for c in captions], label=label)


# ------------------------------------------------------------------ which captions describe the anomaly

def test_anomaly_words_are_frequent_in_anomalous_videos_and_absent_from_normal_ones():
    entries = [entry(i, "Normal", "a person in a red shirt walking left", "a white car parked") for i in range(4)]
    entries += [entry(10 + i, "Fighting", "a person in a red shirt walking left",
                      "a person in a blue shirt punching another person", f"a {colour} bag on the ground")
                for i, colour in enumerate(["green", "green", "black", "green"])]
    entries.append(entry(20, "Fighting", "a person kicking a door"))  # "kicking": one video only
    found = anomaly_captions(entries)
    # "green" is in three anomalous videos and no normal one, so it counts too: the rule reads words,
    # not meanings; "red", "walking" and "person" are in normal videos' captions.
    assert found.words == {"blue", "punching", "another", "bag", "on", "the", "ground", "green"}
    assert found.captions == {"a person in a blue shirt punching another person", "a green bag on the ground",
                              "a black bag on the ground"}
    assert not found.describes_anomaly("a person in a red shirt walking left")
    assert (found.anomalous_videos, found.videos_with_one, found.region_captions) == (5, 4, 13)
    assert "4 of 5 anomalous videos" in found.summary() and f">= {MIN_VIDEOS}" in found.summary()
    assert anomaly_captions(list(reversed(entries))) == found  # order never matters


def test_without_normal_videos_every_frequent_caption_word_counts_and_without_any_the_summary_says_so():
    entries = [entry(i, "Robbery", "a man points a gun at the cashier") for i in range(3)]
    found = anomaly_captions(entries)
    assert found.captions == {"a man points a gun at the cashier"} and found.videos_with_one == 3
    none = anomaly_captions([entry(0, "Normal", "a person walking"), entry(1, "Robbery", "a person walking")])
    assert not none.captions and "negatives only" in none.summary()
    assert caption_words("Ein Mann läuft, FAST!") == {"ein", "mann", "läuft", "fast"}


def test_boxes_of_anomaly_regions_come_first_under_the_cap():
    box_region = np.repeat(np.arange(8), 5)  # 8 regions x 5 boxes
    plain = spread_cap(box_region, 4, random.Random(0))
    left_out = sorted(set(range(8)) - set(box_region[plain].tolist()))
    assert len(plain) == 4 and len(left_out) == 4  # a spread of the regions themselves
    first = spread_cap(box_region, 4, random.Random(0), first=[left_out[0]])
    picked = box_region[first]
    assert len(first) == 4 and (picked == left_out[0]).sum() == 2  # half the cap, spread along its track
    assert np.all(np.diff(first) > 0)
    only = spread_cap(np.full(5, 2), 4, random.Random(0), first=[2])
    assert len(only) == 4  # no other region: all of the cap
    assert np.array_equal(spread_cap(box_region, 4, random.Random(0), first=[9]), plain)  # no box: as before


def test_collate_carries_which_regions_describe_the_anomaly():
    def item(flags):
        return {"frames": torch.zeros(2, 4, 4, 3, dtype=torch.uint8), "frame_indices": torch.arange(2),
                "boxes": torch.zeros(0, 4), "box_frame": torch.zeros(0, dtype=torch.long),
                "box_region": torch.zeros(0, dtype=torch.long), "global_caption": "g",
                "region_captions": [f"r{k}" for k in range(len(flags))], "region_anomalous": flags,
                "hard_negatives": [[] for _ in flags], "label": 0, "is_anomaly": 0.0, "index": 0, "video_key": "v"}

    batch = collate_videos([item([False, True]), item([True])])
    assert batch["region_anomalous"].tolist() == [0.0, 1.0, 1.0]


# ------------------------------------------------------------------ the head in the model

def make_model(patch_anomaly: bool = True) -> VideoFGCLIP:
    torch.manual_seed(0)
    clip = FGCLIPModel.from_config(tiny_fgclip_config(image_size=16, patch=8, vision_width=32, text_width=32,
                                                      projection_dim=32, heads=2))
    return VideoFGCLIP(clip, VideoHeadConfig(window=4, heads=4, dropout=0.0, mil_dropout=0.0, mil_hidden=16,
                                             frame_chunk=3, patch_anomaly=patch_anomaly))


def frames(length: int = 5) -> torch.Tensor:
    return torch.randint(0, 256, (1, length, 16, 16, 3), dtype=torch.uint8, generator=torch.Generator().manual_seed(1))


def test_a_new_patch_head_changes_nothing_until_trained():
    with torch.no_grad():
        plain, headed = make_model(False)(frames()), make_model(True)(frames())
    torch.testing.assert_close(headed.per_frame_embeds, plain.per_frame_embeds, atol=0, rtol=0)
    torch.testing.assert_close(headed.anomaly_logits, plain.anomaly_logits, atol=0, rtol=0)


def test_each_frame_s_highest_patch_logit_is_added_to_its_mil_logit():
    model = make_model()
    with torch.no_grad():
        before = model(frames())
        model.patch_anomaly_head[-1].weight.normal_()
        after = model(frames())
        inputs = model.frame_inputs(frames())
        dense = model.clip.get_dense_features(inputs.pixel_values)  # (T, 4 patches, D)
        top = model.patch_anomaly_logits(dense).amax(dim=1)
        embeds, _, _, encoded_top = model.encode_inputs_and_dense(inputs)
    assert dense.shape[1] == 4 and top.std() > 0  # frames differ, so does their evidence
    torch.testing.assert_close(after.per_frame_embeds, before.per_frame_embeds, atol=0, rtol=0)
    torch.testing.assert_close(after.anomaly_logits - before.anomaly_logits, top[None], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(encoded_top, top[None], atol=1e-6, rtol=1e-5)
    # The scoring path (chunks with their previous frame) and the occlusion path agree with forward.
    window = embeds[0]
    replaced = model.anomaly_logits_replacing(window, 2, window[2:3], encoded_top[0, 2:3])
    torch.testing.assert_close(replaced, after.anomaly_logits[0, 2:3], atol=1e-5, rtol=1e-4)


def test_scoring_a_headed_model_without_its_patch_term_is_refused():
    """forward_features(encode_frames(x)) would drop the head's term and score silently wrong."""
    model = make_model()
    with torch.no_grad():
        embeds = model.encode_frames(frames())
        with pytest.raises(ValueError, match="patch anomaly head: pass each frame's patch_top"):
            model.forward_features(embeds)
        with pytest.raises(ValueError, match="patch_top"):
            model.anomaly_logits_replacing(embeds[0], 1, embeds[0, :2])
        make_model(False).forward_features(embeds)  # a model without the head needs none


def test_padding_patches_are_never_a_frame_s_highest():
    model = make_model()
    with torch.no_grad():
        model.patch_anomaly_head[-1].bias.fill_(1.0)
        maps = model.patch_anomaly_maps(torch.randn(2, 4, 32), torch.tensor([[1, 1, 0, 0], [1, 1, 1, 1]]))
    assert torch.isinf(maps[0, 2:]).all() and torch.isfinite(maps[1]).all()


def test_the_patch_head_is_saved_and_old_checkpoints_have_none(tmp_path):
    model = make_model()
    with torch.no_grad():
        model.patch_anomaly_head[-1].weight.normal_()
    model.save_pretrained(tmp_path / "with")
    reloaded = VideoFGCLIP.from_pretrained(tmp_path / "with")
    assert reloaded.config.patch_anomaly
    with torch.no_grad():
        torch.testing.assert_close(reloaded(frames()).anomaly_logits, model(frames()).anomaly_logits, atol=0, rtol=0)
    old = make_model(False)
    old.save_pretrained(tmp_path / "old")
    meta = json.loads((tmp_path / "old" / "fgvad_video.json").read_text())
    meta["head_config"].pop("patch_anomaly")  # as written before the option existed
    (tmp_path / "old" / "fgvad_video.json").write_text(json.dumps(meta))
    loaded = VideoFGCLIP.from_pretrained(tmp_path / "old")
    assert loaded.patch_anomaly_head is None
    with pytest.raises(ConfigError, match="no patch anomaly head"):
        loaded.patch_anomaly_logits(torch.zeros(2, 32))


# ------------------------------------------------------------------ the loss

def test_region_anomaly_loss_weighs_the_few_anomalous_boxes_as_much_as_the_rest():
    logits = torch.tensor([2.0, -1.0, -3.0, 0.5, -2.0], requires_grad=True)
    labels = torch.tensor([1.0, 0.0, 0.0, 0.0, 0.0])
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    want = bce(logits[:1], labels[:1]) + bce(logits[1:], labels[1:])
    got = losses.region_anomaly_loss(logits, labels)
    assert got.item() == pytest.approx(want.item(), abs=1e-6)
    got.backward()
    assert logits.grad[0] < 0 and (logits.grad[1:] > 0).all()
    negatives_only = losses.region_anomaly_loss(logits.detach()[1:], labels[1:])
    assert negatives_only.item() == pytest.approx(bce(logits.detach()[1:], labels[1:]).item(), abs=1e-6)
    empty = losses.region_anomaly_loss(torch.zeros(0, requires_grad=True), torch.zeros(0))
    assert empty.item() == 0.0
    empty.backward()


class PatchHeadGradient(TrainerCallback):
    """Gradient norms of the patch head's last layer and of the first vision layer, per step."""

    def __init__(self):
        self.head: list[float] = []
        self.vision: list[float] = []

    def on_pre_optimizer_step(self, args, state, control, model=None, **kwargs):
        video = model.video_model
        for store, weight in ((self.head, video.patch_anomaly_head[-1].weight),
                              (self.vision, video.clip.vision_model.encoder.layers[0].mlp.fc1.weight)):
            store.append(0.0 if weight.grad is None else float(weight.grad.norm()))


@pytest.fixture(scope="module")
def synth(tmp_path_factory) -> Path:
    from fgvad.data.tools.synth import generate_dataset

    root = tmp_path_factory.mktemp("patch_anomaly")
    generate_dataset(root, train_videos=8, test_videos=2, seed=5, frames=32, size=(64, 48), progress=False)
    return root


def test_training_teaches_the_patch_head_through_the_boxes(synth: Path, tmp_path: Path):
    grads = PatchHeadGradient()
    out = tmp_path / "out"
    result = train(tiny_run_options(synth, out, max_steps=4, save_steps=100, seed=2, patch_anomaly=True,
                                    region_anomaly_loss_weight=1.0, mil_loss_weight=0, global_loss_weight=0, region_loss_weight=0,
                                    max_boxes=4), callbacks=[grads])
    values = [h["loss_region_anomaly"] for h in result.log_history if "loss_region_anomaly" in h
              and "train_loss" not in h]
    assert len(values) == 4 and all(v > 0 for v in values), values
    # The head's last layer starts at zero and the first step's learning rate is 0 (warm-up): the
    # vision tower hears from the head once that layer has moved.
    assert all(g > 0 for g in grads.head) and all(g > 0 for g in grads.vision[2:]), (grads.head, grads.vision)
    log = (out / "trainer_log.txt").read_text()
    assert "region anomaly labels:" in log and "describe the anomaly" in log
    assert VideoFGCLIP.from_pretrained(out).config.patch_anomaly


def test_the_loss_without_the_head_is_refused_in_one_line(synth: Path, tmp_path: Path):
    with pytest.raises(ConfigError, match="--region-anomaly-loss-weight .* add --patch-anomaly"):
        train(tiny_run_options(synth, tmp_path / "x", max_steps=1, region_anomaly_loss_weight=1.0))
