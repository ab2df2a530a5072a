"""The generator-agnostic dataset writer: any records + render callable give files the users' loaders read."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fgvad.data.annotations import load_annotations, load_frame_counts, load_test_annotation
from fgvad.data.tools.synth.write import MANIFEST_NAME, RegionRecord, VideoRecord, write_dataset
from fgvad.data.video import decode_frames, probe_video

W, H, T = 48, 32, 12


class FlatGrey:
    """A picklable render callable of another 'visual grammar': flat frames whose grey level is the index."""

    def __call__(self, index: int) -> np.ndarray:
        return np.full((T, H, W, 3), 10 + 15 * index, np.uint8)


def _records() -> list[VideoRecord]:
    common = dict(frames=T, width=W, height=H, fps=25)
    box = RegionRecord("a blob", ((0, (-3.0, 2.0, 20.0, 30.0)), (T - 1, (10.0, 4.0, 60.0, 31.5))))
    return [
        VideoRecord("train", "Blob", "Blob", "Blob001_x264", intervals=((2, 9),), global_caption="A blob appears.",
                    regions=(box,), facts={"shape": "square"}, **common),
        VideoRecord("train", "Normal", "Training_Normal_Videos_Anomaly", "Normal_Videos001_x264", intervals=(),
                    global_caption="Nothing happens.", regions=(RegionRecord("an empty scene"),), boxless=True, **common),
        VideoRecord("test", "Blob", "Blob", "Blob002_x264", intervals=((1, 4), (6, 12)), global_caption="Two blobs.",
                    regions=(box,), **common),
        VideoRecord("test", "Normal", "Testing_Normal_Videos_Anomaly", "Normal_Videos_002_x264", intervals=(),
                    global_caption="Nothing.", regions=(), **common),
    ] + [  # enough videos that the writer really uses worker processes when asked to
        VideoRecord("train", "Normal", "Training_Normal_Videos_Anomaly", f"Normal_Videos{k:03d}_x264", intervals=(),
                    global_caption="Nothing.", regions=(), **common) for k in range(10, 22)
    ]


@pytest.mark.parametrize("workers", [1, 2])
def test_records_become_files_the_loaders_read(tmp_path: Path, workers: int) -> None:
    records = _records()
    out = write_dataset(tmp_path / "set", records, FlatGrey(), manifest={"generator": "test"}, readme="# blobs\n",
                        progress=False, workers=workers)
    train, test = load_annotations(out.train_json), load_annotations(out.test_json)
    assert [e.video for e in train] == [r.relpath for r in records if r.split == "train"]
    assert [e.label for e in train[:2] + test] == ["Blob", "Normal", "Blob", "Normal"]
    blob = train[0].regions[0]
    assert [b.frame for b in blob.boxes] == [0, T - 1]  # written 1-based, loaded 0-based
    assert blob.boxes[0].xyxy == (0.0, 0.0625, 0.4167, 0.9375)  # clipped, normalised, rounded outwards
    assert blob.boxes[1].xyxy == (0.2083, 0.125, 1.0, 0.9844)
    assert json.loads(out.train_json.read_text())[1]["box_infos"] == [[]]

    official = {v.name: (v.label, v.intervals) for v in load_test_annotation(out.temporal_annotation)}
    assert official == {"Blob002_x264": ("Blob", [(1, 4), (6, 12)]), "Normal_Videos_002_x264": ("Normal", [])}
    assert load_frame_counts(out.frame_counts) == {"Blob002_x264": T, "Normal_Videos_002_x264": T}
    manifest = json.loads((out.root / MANIFEST_NAME).read_text())
    assert manifest["generator"] == "test"
    assert manifest["videos"][0] == {"video": "Blob/Blob001_x264.mp4", "split": "train", "label": "Blob", "shape": "square"}
    assert out.readme.read_text() == "# blobs\n"
    for i, r in enumerate(records):
        info = probe_video(out.video_root / r.relpath)
        assert (info.n_frames, info.width, info.height) == (T, W, H)
        frames = decode_frames(out.video_root / r.relpath, np.arange(T), None)
        assert abs(float(frames.mean()) - (10 + 15 * i)) < 2


def test_generator_bugs_fail_before_writing(tmp_path: Path) -> None:
    records = _records()
    with pytest.raises(ValueError, match="two records write the same video"):
        write_dataset(tmp_path / "a", records + records[:1], FlatGrey(), manifest={}, readme="", progress=False)
    bad = [VideoRecord(**{**records[0].__dict__, "intervals": ((5, T + 1),)})]
    with pytest.raises(ValueError, match="not inside"):
        write_dataset(tmp_path / "b", bad, FlatGrey(), manifest={}, readme="", progress=False)
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
