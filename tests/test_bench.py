"""`fgvad bench` runs on a CPU with the tiny size and prints JSON lines with the promised keys."""

from __future__ import annotations

import json

from fgvad.cli import main

COMMON = {"bench", "size", "device", "device_name", "torch", "transformers", "amp", "ceiling_tflops",
          "gflop_per_frame_fwd"}


def run_bench(capsys, *args: str) -> list[dict]:
    assert main(["bench", "--size", "tiny", "--device", "cpu", *args]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every stdout line is one JSON object
    for record in records:
        assert COMMON <= set(record), COMMON - set(record)
        assert record["device"] == "cpu" and record["size"] == "tiny"
    return records


def test_train_infer_check_baseline_lines(capsys):
    records = run_bench(capsys, "--frames", "4", "--batch", "2", "--steps", "2", "--warmup", "0",
                        "--checkpointing-every", "2", "--what", "train", "infer", "check", "baseline")
    by_kind = {}
    for r in records:
        by_kind.setdefault(r["bench"], []).append(r)
    assert set(by_kind) == {"train", "infer", "check", "baseline_train", "baseline_infer"}
    train = by_kind["train"][0]
    for key in ("frames_per_s", "mfu", "peak_mem_gib", "step_ms", "loss", "compile", "checkpointing_every"):
        assert key in train
    assert train["frames_per_s"] > 0 and 0 < train["mfu"] and train["compile"] is False
    assert train["losses"] == ["global", "region", "hard_negative", "mil"]
    assert by_kind["infer"][0]["frames_per_s"] > 0
    assert by_kind["check"][0]["ok"] is True
    assert [r["variant"] for r in by_kind["baseline_train"]] == ["transformers eager"]  # no compile on CPU


def test_data_and_e2e_lines(capsys, tmp_path):
    records = run_bench(capsys, "--frames", "4", "--batch", "2", "--steps", "1", "--what", "data", "e2e",
                        "--data-videos", "2", "--e2e-videos", "2", "--e2e-size", "64x48", "--e2e-video-frames", "32",
                        "--workers", "0", "--workdir", str(tmp_path))
    data, e2e = records
    assert data["bench"] == "data" and data["frames_per_s"] > 0 and data["videos"] == 2
    assert e2e["bench"] == "e2e" and e2e["steps"] == 1 and e2e["cache_plus_train_seconds"] > 0


def test_bad_size_is_one_line_error(capsys):
    assert main(["bench", "--size", "tiny", "--frames", "0"]) == 2
    assert "argument --frames: must be >= 1" in capsys.readouterr().err


def test_train_measurement_uses_the_trainings_parameter_groups():
    """Per-tower learning rates and no-decay groups as fgvad train builds them (here ucf_full's)."""
    import torch

    from fgvad.bench import BenchOptions, build_training_setup, make_optimizer
    from fgvad.bench.options import apply_preset

    options = BenchOptions(size="tiny", compile="false", keyframes=1)
    apply_preset(options, "ucf_full")  # lr 1e-5, text_lr 5e-6, head_lr_multiplier 10
    options.frames, options.batch = 2, 1
    setup = build_training_setup(options, torch.device("cpu"))
    optimizer = make_optimizer(setup.module, torch.device("cpu"), options)
    groups = {g["name"]: (g["lr"], g["weight_decay"]) for g in optimizer.param_groups}
    assert groups == {"heads": (1e-4, 0.05), "heads_no_decay": (1e-4, 0.0), "text": (5e-6, 0.05),
                      "text_no_decay": (5e-6, 0.0), "vision": (1e-5, 0.05), "vision_no_decay": (1e-5, 0.0)}
    assert sum(len(g["params"]) for g in optimizer.param_groups) == sum(
        1 for p in setup.module.parameters() if p.requires_grad)


def test_fgclip2_sizes_run_every_cpu_measurement(capsys):
    """The FG-CLIP 2 family benches like v1 (tiny-fgclip2 stands in for fgclip2-base on the CPU);
    fgclip2-base has the sizes of siglip2-base-patch16-naflex."""
    from fgvad.bench.sizes import frame_hw, model_config

    base = model_config("fgclip2-base")
    for tower in (base.text_config, base.vision_config):
        assert (tower.hidden_size, tower.num_hidden_layers, tower.num_attention_heads,
                tower.intermediate_size) == (768, 12, 12, 3072)
    assert base.vision_config.patch_size == 16 and base.text_config.vocab_size == 256000
    assert (base.short_text_length, base.long_text_length) == (64, 196)
    assert base.text_config.max_position_embeddings == 64
    assert frame_hw(base) == (224, 288)  # a 320x240 frame at <= 256 patches of 16 px: 14x18 = 252

    assert main(["bench", "--size", "tiny-fgclip2", "--device", "cpu", "--frames", "4", "--batch", "2",
                 "--steps", "2", "--warmup", "0", "--what", "train", "infer", "check"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert {r["bench"] for r in records} == {"train", "infer", "check"}
    for record in records:
        assert COMMON <= set(record) and record["size"] == "tiny-fgclip2" and record["gflop_per_frame_fwd"] > 0
    by_kind = {r["bench"]: r for r in records}
    assert by_kind["train"]["frames_per_s"] > 0 and by_kind["infer"]["frames_per_s"] > 0
    assert by_kind["check"]["ok"] is True
