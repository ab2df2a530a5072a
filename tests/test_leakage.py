"""The leakage guard on the users' real training JSON (which contains 140 UCF-Crime test videos)."""

from __future__ import annotations

import pytest

from fgvad.data.annotations import load_test_annotation, video_key
from fgvad.core.errors import LeakageError
from fgvad.eval.leakage import check_leakage, find_leakage, trained_on_from_annotation


def test_real_training_json_leaks_exactly_the_140_test_videos(real_train_json):
    trained_on = trained_on_from_annotation(real_train_json)
    assert len(trained_on) == 707
    test = load_test_annotation("ucf-crime")
    leaked = find_leakage(trained_on, test)
    assert len(leaked) == 140
    test_names = {tv.name for tv in test}
    assert set(leaked) <= test_names  # reported under the official spelling
    classes = {tv.name: tv.label for tv in test}
    counts: dict[str, int] = {}
    for name in leaked:
        counts[classes[name]] = counts.get(classes[name], 0) + 1
    assert counts == {"Abuse": 2, "Burglary": 13, "Explosion": 21, "Fighting": 5, "Normal": 99}
    # every test video whose key is in the JSON is caught, and nothing else
    assert set(leaked) == {tv.name for tv in test if tv.key in {video_key(v) for v in trained_on}}

    with pytest.raises(LeakageError) as err:
        check_leakage(trained_on, test)
    message = str(err.value)
    assert "140 of the 290" in message and "--allow-leakage" in message
    assert "Normal_Videos_924_x264" in message and "\n" not in message
    assert check_leakage(trained_on, test, allow=True) == leaked


def test_clean_training_list_passes():
    test = load_test_annotation("ucf-crime")
    assert check_leakage(["Abuse/Abuse001_x264.mp4", "Normal_Videos001_x264"], test) == []
