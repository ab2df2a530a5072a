"""One prompt set: defined in fgvad.core.prompts, written into a checkpoint by training, used by
prompt scores, zero-shot baselines and prompt maps; `--prompts FILE` overrides it everywhere."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fgvad.cli import main
from fgvad.core.errors import ConfigError
from fgvad.core.prompts import PromptSet, default_prompt_set, load_prompt_file

FILE_PROMPTS = {"normal": "an empty quiet street",
                "classes": {"Fighting": "two people hitting each other", "Explosion": "a fireball and smoke",
                            "Abuse": "a person hurting another", "Stealing": "someone taking a bag"}}


def test_prompt_file_yaml_or_json_and_one_line_errors(tmp_path):
    yaml_file = tmp_path / "p.yaml"
    yaml_file.write_text("normal: an empty street\nclasses:\n  RoadAccidents: a car crash\n  Arson: a fire\n")
    prompts = load_prompt_file(yaml_file)
    assert prompts.classes == ("Normal", "RoadAccidents", "Arson")  # the file's order
    assert prompts.texts == ("an empty street", "a car crash", "a fire") and prompts.normal == "an empty street"
    json_file = tmp_path / "p.json"
    json_file.write_text(json.dumps(prompts.to_dict()))
    assert load_prompt_file(json_file) == prompts
    assert default_prompt_set(["Abuse"]).to_dict() == {
        "normal": "a surveillance video of normal activity", "classes": {"Abuse": "a surveillance video of abuse"}}
    bad = {"classes: {Arson: a fire}\n": "'normal' must be the normal prompt",
           "normal: x\n": "'classes' must map each anomaly class",
           "normal: x\nclasses: {Arson: ''}\n": "the prompt of class 'Arson' must be a non-empty text",
           "normal: x\nclasses: {Normal: y}\n": "class name 'Normal' is not an anomaly class name",
           "normal: x\nclass: {Arson: y}\n": "unknown key 'class'",
           "normal: [x\n": "not a YAML/JSON prompt file at line 2",
           "- a list\n": "expected a mapping"}
    for text, message in bad.items():
        yaml_file.write_text(text)
        with pytest.raises(ConfigError, match=message) as err:
            load_prompt_file(yaml_file)
        assert str(yaml_file) in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(ConfigError, match="prompt file not found"):
        load_prompt_file(tmp_path / "missing.yaml")
    assert PromptSet.from_dict(FILE_PROMPTS).texts_for(["Normal", "Abuse"], "x") == [
        "an empty quiet street", "a person hurting another"]
    with pytest.raises(ConfigError, match="x: no prompt for class 'Arson'"):
        PromptSet.from_dict(FILE_PROMPTS).texts_for(["Arson"], "x")


# --------------------------------------------------------------------------- with real training


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two tiny real training runs on a synthetic set: one with a prompt file, one with the defaults;
    plus an untouched FG-CLIP folder (the first run's model before any step: no stored prompts)."""
    from helpers_train import tiny_run_options

    from fgvad.data.tools.synth import generate_dataset
    from fgvad.demo import initial_model_saver
    from fgvad.models.tokenizer import load_tokenizer
    from fgvad.train import train

    root = tmp_path_factory.mktemp("prompts")
    synth = generate_dataset(root / "synth", train_videos=8, test_videos=4, seed=3, frames=48, progress=False)
    prompt_file = root / "prompts.yaml"
    prompt_file.write_text(json.dumps(FILE_PROMPTS))  # JSON is YAML too
    steps = {"max_steps": 2, "save_steps": 2, "seed": 5}
    with_file = train(tiny_run_options(root / "synth", root / "with_file", prompts=str(prompt_file), **steps),
                      callbacks=[initial_model_saver(root / "untouched")])
    load_tokenizer(with_file.final_checkpoint).save_pretrained(str(root / "untouched"))
    default = train(tiny_run_options(root / "synth", root / "default", **steps))
    return {"synth": synth, "file": prompt_file, "with_file": with_file.final_checkpoint,
            "default": default.final_checkpoint, "untouched": root / "untouched", "root": root}


def _video_meta(folder: Path) -> dict:
    return json.loads((folder / "fgvad_video.json").read_text())


def _prompt_scores(checkpoint: Path, video: Path, **kwargs) -> np.ndarray:
    from fgvad.eval.score import load_scorer, score_video

    return score_video(load_scorer(checkpoint, kind="prompt", device="cpu", **kwargs), video, stride=8)


@pytest.mark.slow  # two real training runs
def test_a_trained_checkpoint_holds_its_prompts(runs):
    """Training writes its prompt set (class names and texts) into the checkpoint, the intermediate
    checkpoint-N folders included; the untouched model holds none."""
    from fgvad.models.video import read_prompt_set

    assert _video_meta(runs["with_file"])["prompts"] == FILE_PROMPTS
    assert _video_meta(runs["with_file"] / "checkpoint-2")["prompts"] == FILE_PROMPTS
    stored = read_prompt_set(runs["default"])
    assert stored.classes[:3] == ("Normal", "Abuse", "Arrest") and "Stealing" in stored.classes
    assert stored.texts[:2] == ("a surveillance video of normal activity", "a surveillance video of abuse")
    assert read_prompt_set(runs["untouched"]) is None


@pytest.mark.slow  # two real training runs
def test_changing_the_default_prompts_does_not_change_a_trained_checkpoint(runs, monkeypatch):
    import fgvad.core.prompts as prompts_module

    video = next((runs["synth"].video_root).rglob("Explosion*.mp4"))
    before = {name: _prompt_scores(runs[name], video) for name in ("with_file", "default", "untouched")}
    monkeypatch.setattr(prompts_module, "DEFAULT_TEMPLATE", "a photo of {} happening")
    monkeypatch.setattr(prompts_module, "NORMAL_WORDS", "nothing special")
    assert default_prompt_set(["Abuse"]).normal == "a photo of nothing special happening"
    after = {name: _prompt_scores(runs[name], video) for name in ("with_file", "default", "untouched")}
    np.testing.assert_array_equal(after["with_file"], before["with_file"])
    np.testing.assert_array_equal(after["default"], before["default"])
    # the untouched folder stores no prompts, so it does follow the defaults: the change bites
    assert np.abs(after["untouched"] - before["untouched"]).max() > 1e-4
    # and a prompt file given for scoring overrides what the checkpoint stored
    other = runs["root"] / "other.yaml"
    other.write_text("normal: a sunny day\nclasses:\n  Explosion: a big bang\n")
    assert np.abs(_prompt_scores(runs["with_file"], video, prompts=other) - before["with_file"]).max() > 1e-4


@pytest.mark.slow  # two real training runs
def test_eval_scores_the_baseline_with_the_checkpoints_prompts_unless_a_file_is_given(runs, capsys):
    synth, out = runs["synth"], runs["root"] / "eval"
    argv = ["eval", "--checkpoint", str(runs["with_file"]), "--baseline", str(runs["untouched"]), "--score", "mix",
            "--video-root", str(synth.video_root), "--test-annotation", str(synth.temporal_annotation),
            "--num-workers", "0", "--stride", "8", "--out", str(out)]
    assert main(argv) == 0, capsys.readouterr().err
    meta = json.loads((out / "eval_meta.json").read_text())
    base_meta = json.loads((out / "baseline" / "eval_meta.json").read_text())
    assert meta["prompts"] == {"source": "checkpoint", **FILE_PROMPTS}
    assert base_meta["prompts"] == {"source": "evaluated checkpoint", **FILE_PROMPTS}
    assert meta["heatmaps"]["kinds"] == ["mil", "prompt"]  # mixed scores: both maps
    other = runs["root"] / "other.yaml"
    other.write_text("normal: a sunny day\nclasses:\n  Explosion: a big bang\n  Fighting: a brawl\n")
    assert main(argv + ["--prompts", str(other)]) == 0, capsys.readouterr().err
    for folder in (out, out / "baseline"):
        used = json.loads((folder / "eval_meta.json").read_text())["prompts"]
        assert used["source"] == "given" and used["classes"] == {"Explosion": "a big bang", "Fighting": "a brawl"}
    # an untouched model alone: fgvad's defaults over the test annotation's classes
    assert main(["eval", "--checkpoint", str(runs["untouched"]), "--video-root", str(synth.video_root),
                 "--test-annotation", str(synth.temporal_annotation), "--num-workers", "0", "--stride", "8",
                 "--heatmap-top-k", "0", "--out", str(runs["root"] / "eval0")]) == 0
    used = json.loads((runs["root"] / "eval0" / "eval_meta.json").read_text())["prompts"]
    assert used == {"source": "default", **default_prompt_set(["Explosion", "Fighting"]).to_dict()}
    # a bad prompt file: one line, before any scoring
    other.write_text("normal: x\n")
    capsys.readouterr()
    assert main(argv + ["--prompts", str(other)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'classes' must map" in err and "scoring" not in err
    assert main(["score", str(next(synth.video_root.rglob("*.mp4"))), "--checkpoint", str(runs["untouched"]),
                 "--prompts", str(other), "--out", str(runs["root"] / "s")]) == 1
    assert "'classes' must map" in capsys.readouterr().err


@pytest.mark.slow  # two real training runs
def test_training_prompt_file_must_name_every_class_of_the_data(runs, tmp_path):
    from helpers_train import tiny_run_options

    from fgvad.train import train

    partial = tmp_path / "partial.yaml"
    partial.write_text("normal: a street\nclasses:\n  Abuse: a fight\n")
    with pytest.raises(ConfigError, match=r"--prompts .*partial.yaml: no prompt for class 'Explosion'"):
        train(tiny_run_options(runs["root"] / "synth", tmp_path / "out", prompts=str(partial), max_steps=1))
