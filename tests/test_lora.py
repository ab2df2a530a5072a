"""LoRA through peft: only adapters and heads train; a checkpoint with adapters saves, loads and
scores identically; merging leaves the model's outputs within 1e-5; without peft, one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from fgvad.data.tools.synth import generate_dataset
from fgvad.eval.score import Scorer, load_scorer, score_video
from fgvad.models.fgclip import FGCLIPModel, tiny_fgclip_config
from fgvad.models.lora import (
    ADAPTER_CONFIG_NAME,
    ADAPTER_WEIGHTS_NAME,
    LoraSettings,
    add_adapters,
    count_parameters,
    has_adapters,
)
from fgvad.models.video import VideoFGCLIP, VideoHeadConfig
from fgvad.train import train
from helpers_train import tiny_run_options

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def synth(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("synth_lora")
    generate_dataset(root, train_videos=6, test_videos=2, seed=5, frames=48, progress=False)
    return root


def _lora_parameter_count(clip: torch.nn.Module) -> int:
    return sum(p.numel() for name, p in clip.named_parameters() if ".lora_" in name)


def test_lora_run_trains_only_adapters_and_heads_and_merges_exactly(synth: Path, tmp_path: Path):
    out = tmp_path / "lora"
    options = tiny_run_options(synth, out, max_steps=2, save_steps=2, lora=True, lora_r=4, merge_lora=True,
                               seed=3)
    seen: dict[str, int] = {}

    from transformers import TrainerCallback

    class Count(TrainerCallback):
        def on_train_begin(self, args, state, control, model=None, **kwargs):
            video = model.video_model
            seen["trainable"] = count_parameters(model)
            seen["lora"] = _lora_parameter_count(video.clip)
            seen["heads"] = sum(p.numel() for p in video.head_state_dict().values())
            seen["clip_trainable"] = count_parameters(video.clip)
            seen["total"] = count_parameters(model, trainable_only=False)

    result = train(None, options, callbacks=[Count()])
    assert result.global_step == 2
    # Trainable: the adapters, the temporal module and heads, and the three logit scales; nothing else.
    assert seen["lora"] > 0 and seen["clip_trainable"] == seen["lora"] + 3
    assert seen["trainable"] == seen["lora"] + seen["heads"] + 3 < seen["total"] // 10

    checkpoint, final = out / "checkpoint-2", out
    assert (checkpoint / ADAPTER_CONFIG_NAME).is_file() and (checkpoint / ADAPTER_WEIGHTS_NAME).is_file()
    assert not (final / ADAPTER_CONFIG_NAME).exists()  # --merge-lora: a plain FG-CLIP checkpoint
    with_adapters = VideoFGCLIP.from_pretrained(checkpoint).eval()
    merged = VideoFGCLIP.from_pretrained(final).eval()
    assert has_adapters(with_adapters.clip) and not has_adapters(merged.clip)
    torch.manual_seed(0)
    pixels = torch.randn(2, 4, 3, 32, 32)
    ids = torch.randint(0, 40, (3, 12))
    boxes = [torch.tensor([[0.1, 0.1, 0.6, 0.7]]), torch.tensor([[0.2, 0.3, 0.9, 0.9]])]
    with torch.no_grad():
        for a, b in ((with_adapters(pixels).video_embeds, merged(pixels).video_embeds),
                     (with_adapters(pixels).anomaly_logits, merged(pixels).anomaly_logits),
                     (with_adapters.encode_text(ids, long=True), merged.encode_text(ids, long=True)),
                     (with_adapters.box_features(pixels[:, 0], boxes), merged.box_features(pixels[:, 0], boxes))):
            assert torch.allclose(a, b, atol=1e-5, rtol=0), (a - b).abs().max()


def test_adapter_checkpoint_saves_loads_and_scores_identically(synth: Path, tmp_path: Path):
    torch.manual_seed(1)
    model = VideoFGCLIP(FGCLIPModel.from_config(tiny_fgclip_config(image_size=32, patch=8)),
                        VideoHeadConfig(temporal_layers=1, heads=4, window=8))
    add_adapters(model.clip, LoraSettings(r=4))
    with torch.no_grad():  # LoRA B starts at zero; make the adapters matter
        for name, param in model.clip.named_parameters():
            if "lora_B" in name:
                param.normal_(std=0.05)
    model.eval()
    video = next((synth / "videos").rglob("*.mp4"))
    in_memory = score_video(Scorer(model=model, kind="mil", device=torch.device("cpu")), video)
    model.save_pretrained(tmp_path / "ckpt")
    loaded = load_scorer(tmp_path / "ckpt", kind="mil", device="cpu")
    assert has_adapters(loaded.model.clip)
    assert np.array_equal(score_video(loaded, video), in_memory)
    # Without its adapter files the same folder scores differently: the adapters are what was loaded.
    (tmp_path / "ckpt" / ADAPTER_CONFIG_NAME).unlink()
    assert not np.array_equal(score_video(str(tmp_path / "ckpt"), video, kind="mil"), in_memory)


def test_without_peft_lora_is_one_line_naming_the_extra(synth: Path, tmp_path: Path):
    options = tiny_run_options(synth, tmp_path / "out", max_steps=1, lora=True)
    argv = [f"--{k}={v}" for k, v in options.items()]
    code = ("import sys; sys.modules['peft'] = None; from fgvad.cli import main; "
            f"sys.exit(main(['train', *{argv!r}]))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == ("fgvad: error: LoRA needs peft, which is not installed: "
                                                   "pip install 'fgvad[lora]'")
