"""Debug subsets and validation splits keep the classes (the users' real annotation, no videos)."""

from __future__ import annotations

from collections import Counter

from fgvad.data.annotations import load_annotations
from fgvad.data.subsets import describe_classes, stratified_split, stratified_subset


def test_max_videos_picks_normal_and_every_kind_of_anomaly(real_train_json):
    entries = load_annotations(real_train_json)
    first_ten = {e.label for e in entries[:10]}
    assert first_ten == {"Abuse"}  # what "the first N entries" gave: nothing for MIL to contrast
    picked = stratified_subset(entries, 10)
    videos = {e.key: e.label for e in picked}
    labels = Counter(videos.values())
    assert len(videos) == 10 and labels["Normal"] == 5
    anomalous = [n for c, n in labels.items() if c != "Normal"]
    assert len(anomalous) == 4 and max(anomalous) - min(anomalous) <= 1  # every class of the file, evenly
    assert stratified_subset(entries, 10) == picked  # deterministic
    assert [e.index for e in picked] == sorted(e.index for e in picked)  # file order kept
    # every clip of a picked video comes along; nothing else does
    assert {e.key for e in picked} == set(videos) and all(e in picked for e in entries if e.key in videos)
    many = {e.key: e.label for e in stratified_subset(entries, 40)}
    assert len(many) == 40 and Counter(many.values()) == {"Normal": 20, "Abuse": 5, "Burglary": 5, "Explosion": 5,
                                                          "Fighting": 5}
    assert describe_classes(picked).startswith("10 videos: Normal 5, ")


def test_validation_split_holds_out_whole_videos_of_both_kinds(real_train_json):
    entries = load_annotations(real_train_json)
    train, held = stratified_split(entries, 0.1, seed=3)
    assert len(train) + len(held) == len(entries)
    assert not ({e.key for e in train} & {e.key for e in held})  # no video on both sides
    videos = {e.key: e.is_anomaly for e in entries}
    held_videos = {e.key: e.is_anomaly for e in held}
    for kind in (True, False):
        total = sum(v == kind for v in videos.values())
        assert abs(sum(v == kind for v in held_videos.values()) - round(0.1 * total)) <= 1
    assert len({e.label for e in held if e.is_anomaly}) == 4  # spread over the anomaly classes
    assert stratified_split(entries, 0.1, seed=3) == (train, held)
    assert stratified_split(entries, 0.1, seed=4)[1] != held
    tiny = stratified_subset(entries, 6)  # 3 normal, 3 classes of one video each
    _, small = stratified_split(tiny, 0.2)
    assert {e.is_anomaly for e in small} == {True, False}
