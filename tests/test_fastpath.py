"""The fast training path computes what the plain path computes (float32, CPU), and auto_fit's search."""

from __future__ import annotations

import pytest
import torch

from fgvad.bench import BenchOptions, compare_paths, model_config, vision_forward_flops
from fgvad.models.fgclip import FGCLIPModel, tiny_fgclip_config
from fgvad.train.fit import divisors_descending, find_fit


def test_selective_checkpointing_and_chunks_match_plain_path():
    # Every 2nd vision layer checkpointed, 3-frame chunks (not a divisor of 2 x 6 frames),
    # all four losses on: same losses and gradients as one eager call without checkpointing.
    options = BenchOptions(size="tiny", frames=6, batch=2, compile="false", checkpointing_every=2, frame_chunk=5)
    result = compare_paths(options, torch.device("cpu"), None)
    assert set(result["losses"]) == {"loss", "loss_global", "loss_region", "loss_hard_negative", "loss_mil"}
    assert result["loss_rel_diff"] < 1e-5
    assert result["grad_rel_diff"] < 1e-4, result["worst_param"]


def test_checkpointing_every_k_marks_only_those_vision_layers():
    model = FGCLIPModel.from_config(tiny_fgclip_config(layers=4))
    model.gradient_checkpointing_enable(every=3)
    assert model.checkpointed_vision_layers == [0, 3] and model.is_gradient_checkpointing
    model.gradient_checkpointing_disable()
    assert model.checkpointed_vision_layers == [] and not model.is_gradient_checkpointing


def test_checkpointed_layers_are_recomputed_in_backward():
    model = FGCLIPModel.from_config(tiny_fgclip_config(layers=2)).train()
    model.gradient_checkpointing_enable(every=2)  # vision layer 0 only; every text layer
    calls = {}
    # A projection inside each layer: torch stops a recompute once it has what backward needs,
    # so the layer's own forward hook would not see it.
    probes = {"vision0": model.vision_model.encoder.layers[0], "vision1": model.vision_model.encoder.layers[1],
              "text0": model.text_model.encoder.layers[0]}
    for name, layer in probes.items():
        layer.self_attn.q_proj.register_forward_hook(lambda *_, name=name: calls.__setitem__(name, calls.get(name, 0) + 1))
    image = model.get_image_features(torch.randn(2, 3, 64, 64))
    text = model.get_text_features(torch.randint(0, 100, (2, 8)))
    (image.sum() + text.sum()).backward()
    assert calls == {"vision0": 2, "vision1": 1, "text0": 2}  # forward, plus the recompute of checkpointed ones


def test_box_tensor_path_equals_per_image_lists():
    torch.manual_seed(0)
    model = FGCLIPModel.from_config(tiny_fgclip_config())
    pixels = torch.randn(3, 3, 64, 64)
    boxes = torch.tensor([[0.1, 0.1, 0.6, 0.5], [0.0, 0.2, 1.0, 0.9], [0.3, 0.3, 0.4, 0.8], [0.5, 0.0, 0.9, 0.4]])
    image = torch.tensor([2, 0, 2, 1])
    per_image = [boxes[image == i] for i in range(3)]
    order = torch.sort(image, stable=True).indices  # the list form returns rows image-major
    with torch.no_grad():
        listed = model.get_box_features(pixels, per_image)
        tensor = model.get_box_features(pixels, boxes, box_image=image)
    torch.testing.assert_close(tensor[order], listed, rtol=0, atol=0)


def test_analytic_vision_flops_match_flop_counter():
    from torch.utils.flop_counter import FlopCounterMode

    config = model_config("tiny")
    # Eager attention: the counter sees its two matmuls (CPU sdpa kernels are not counted).
    model = FGCLIPModel.from_config(config, attn_implementation="eager")
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model.get_image_features(torch.randn(1, 3, 64, 64))
    assert vision_forward_flops(config.vision_config, config.projection_dim) == counter.get_total_flops()


def test_vit_b16_is_about_35_gflop_per_frame():
    config = model_config("vit-b16")  # the issue's ~105 GFLOP per training frame = 3 x forward
    assert 34e9 < vision_forward_flops(config.vision_config, config.projection_dim) < 36e9


def test_auto_fit_on_cpu_changes_nothing():
    calls = []
    choice = find_fit(lambda b, f: calls.append((b, f)), per_device_batch=4, accumulation=2, num_frames=64,
                      device=torch.device("cpu"))
    assert (choice.per_device_batch, choice.accumulation, choice.num_frames, choice.changed) == (4, 2, 64, False)
    assert "nothing to fit" in choice.message and calls == []


def memory_limited_step(capacity: int):
    """A real (small) forward+backward whose 'device' holds ``capacity`` frame-units."""
    layer = torch.nn.Linear(8, 8)
    tried = []

    def try_step(batch: int, frames: int) -> None:
        tried.append((batch, frames))
        if batch * frames > capacity:
            raise torch.OutOfMemoryError(f"simulated: {batch} x {frames} frames > {capacity}")
        layer(torch.randn(batch * frames, 8)).sum().backward()

    return try_step, tried


def test_auto_fit_keeps_the_effective_batch():
    try_step, tried = memory_limited_step(capacity=3 * 256)
    choice = find_fit(try_step, per_device_batch=8, accumulation=2, num_frames=256, device="cuda", force=True)
    # Effective 16: divisors 16, 8, 4, 2, 1; 4 x 256 does not fit, 2 x 256 does.
    assert (choice.per_device_batch, choice.accumulation, choice.num_frames) == (2, 8, 256)
    assert choice.effective_batch == 16 and choice.changed
    assert len(tried) <= 3  # binary search, not a scan
    assert "per-device batch 2 x accumulation 8" in choice.message


def test_auto_fit_halves_frames_only_when_one_video_does_not_fit():
    try_step, _ = memory_limited_step(capacity=100)
    choice = find_fit(try_step, per_device_batch=1, accumulation=4, num_frames=256, device="cuda", force=True)
    assert choice.num_frames == 64 and choice.per_device_batch == 1 and choice.accumulation == 4
    assert "REDUCED from 256 frames" in choice.message


def test_auto_fit_gives_up_with_one_line():
    from fgvad.core.errors import AutoFitError

    try_step, _ = memory_limited_step(capacity=0)
    with pytest.raises(AutoFitError, match="does not fit"):
        find_fit(try_step, per_device_batch=1, accumulation=1, num_frames=32, device="cuda", force=True, min_frames=8)


def test_divisors():
    assert divisors_descending(12) == [12, 6, 4, 3, 2, 1]


def test_out_of_memory_message_names_concrete_options():
    from fgvad.train.options import build_config
    from fgvad.train.run import out_of_memory_message

    cfg = build_config("demo", {"per_device_train_batch_size": 4, "num_frames": 64, "output_dir": "/tmp/x"})
    message = out_of_memory_message(cfg)
    assert "\n" not in message
    for option in ("--per_device_train_batch_size 2", "--gradient_accumulation_steps 2", "--activation_checkpointing true",
                   "--num-frames 32", "--auto-fit true"):
        assert option in message
