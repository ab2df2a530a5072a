"""`fgvad data hardneg`: negatives differ from their positive, are deterministic, are written
without touching any other byte, and make the hard-negative loss positive and falling."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fgvad.cli import main
from fgvad.data.annotations import read_annotations
from fgvad.data.jsonlist import read_json_list_text
from fgvad.data.tools.hardneg import hard_negatives
from fgvad.data.tools.synth import generate_dataset
from helpers_train import tiny_run_options


MALFORMED = {1804, 1814, 1848, 1874, 1921, 2063, 2111, 2137, 2140, 2179, 2185, 2187, 2242}


def _norm(text: str) -> str:
    return " ".join(text.lower().split()).rstrip(".!?;, ")


@pytest.mark.parametrize("caption,label", [
    ("A man in a red shirt punches a woman near a white car.", "Abuse"),
    ("Two men fighting", "Fighting"),
    ("Smoke", "Explosion"),  # nothing to swap: class templates fill in
    ("a person", "People_falling"),
])
def test_every_negative_differs_from_its_positive_and_is_deterministic(caption, label):
    negatives = hard_negatives(caption, label, per_region=10)
    assert len(negatives) == 10 and len({_norm(n) for n in negatives}) == 10
    assert _norm(caption) not in {_norm(n) for n in negatives}
    assert hard_negatives(caption, label, per_region=10) == negatives
    assert hard_negatives(caption, label, per_region=10, seed=1) != negatives or len(negatives) < 2


def test_one_detail_changes():
    negatives = hard_negatives("A man in a red shirt punches a woman.", "Abuse", per_region=40)
    assert "A man in a blue shirt punches a woman." in negatives  # colour
    assert "Two men in a red shirt punches a woman." in negatives  # count
    assert "A man in a red shirt hugs a woman." in negatives  # action
    assert "A woman in a red shirt punches a woman." in negatives  # attribute


def test_real_file_gets_negatives_and_keeps_every_other_byte(real_v3_msad_json, tmp_path, capsys):
    out = tmp_path / "hardneg.json"
    assert main(["data", "hardneg", str(real_v3_msad_json), "--out", str(out), "--per-region", "3"]) == 0
    report = capsys.readouterr().out
    assert "carried through unchanged: 13 entries (malformed)" in report
    source, result = read_json_list_text(real_v3_msad_json), read_json_list_text(out)
    assert len(result.values) == len(source.values) == 2426
    assert source.text[:source.spans[0][0]] == result.text[:result.spans[0][0]]
    for i, (before, after) in enumerate(zip(source.values, result.values)):
        old_text, new_text = source.text[slice(*source.spans[i])], result.text[slice(*result.spans[i])]
        if i in MALFORMED or not before["region_captions"]:  # nothing to add: byte for byte
            assert new_text == old_text
            continue
        assert {k: v for k, v in after.items() if k != "hard_negatives"} == before
        # the entry's own text is a prefix of the new one: the field is appended, nothing rewritten
        assert new_text.startswith(old_text.rstrip()[:-1].rstrip())
        assert len(after["hard_negatives"]) == len(before["region_captions"])
        for caption, negatives in zip(before["region_captions"], after["hard_negatives"]):
            assert len(negatives) == 3 and _norm(caption) not in {_norm(n) for n in negatives}
    loaded = read_annotations(out)
    assert len(loaded.problems) == 13 and all(len(r.hard_negatives) == 3 for e in loaded.entries for r in e.regions)
    # Same input, same output; an input that already has negatives keeps them.
    again = tmp_path / "again.json"
    assert main(["data", "hardneg", str(real_v3_msad_json), "--out", str(again), "--per-region", "3"]) == 0
    assert again.read_bytes() == out.read_bytes()
    twice = tmp_path / "twice.json"
    assert main(["data", "hardneg", str(out), "--out", str(twice)]) == 0
    assert twice.read_bytes() == out.read_bytes()
    out_twice = capsys.readouterr().out
    assert "hard negatives for 0 regions of 0 entries" in out_twice and "(already has hard_negatives)" in out_twice


@pytest.mark.slow
def test_hard_negative_loss_is_positive_and_falls(tmp_path: Path):
    from fgvad.train import train

    synth = tmp_path / "synth"
    generate_dataset(synth, train_videos=4, test_videos=2, seed=2, frames=48, progress=False)
    with_negatives = synth / "train_hardneg.json"
    assert main(["data", "hardneg", str(synth / "train.json"), "--out", str(with_negatives)]) == 0
    anomalous = [e for e in json.loads(with_negatives.read_text()) if any(t for t in e["box_infos"])]
    assert anomalous and all(e["hard_negatives"] for e in anomalous)
    options = tiny_run_options(synth, tmp_path / "out", data_path=str(with_negatives), max_steps=16,
                               hard_negative_loss_weight=1.0, global_loss_weight=0.0, mil_loss_weight=0.0,
                               region_loss_weight=0.0, max_boxes=2, seed=0, lr_scheduler_type="constant",
                               warmup_steps=0)
    result = train(None, options)
    values = [h["loss_hard_negative"] for h in result.log_history if "loss_hard_negative" in h]
    assert len(values) == 16 and min(values) > 0
    first, last = sum(values[:4]) / 4, sum(values[-4:]) / 4
    assert last < first, values
