"""``extract_features``: per-snippet image features of every video, written once, resumable.

Each video is cut into snippets of ``snippet_frames`` frames (16 by default, the I3D/CLIP-feature
convention of RTFM, UR-DMU and VadCLIP; the last snippet may be shorter). A snippet's feature is
the backbone's image embedding of its centre frame, or with ``frames_per_snippet=k`` the mean of
the embeddings of k frames at the centres of k equal parts of it. The centre frame is the frame
``fgvad eval`` scores each snippet by (fgvad.data.snippets holds the one rule), so heads trained
on these features see at scoring time exactly the frames they were trained on; averaging more
frames costs k times the backbone time and smooths fast events.

Videos whose feature file exists are skipped (each file is written atomically), so an
interrupted extraction resumes where it stopped. Decoding runs in worker processes, a few videos
ahead of the backbone.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from fgvad.core.constants import DEFAULT_FRAME_BATCH, SNIPPET_FRAMES
from fgvad.core.datasets import UCF_CRIME, DatasetSpec, get_dataset
from fgvad.core.errors import UsageError, VideoError


@dataclass
class ExtractResult:
    out: Path
    extracted: list[str] = field(default_factory=list)  # keys written by this run
    skipped: list[str] = field(default_factory=list)  # keys already in the folder
    snippets: int = 0  # snippets encoded by this run
    seconds: float = 0.0


def select_videos(video_root: str | Path, *, annotation: str | Path | None = None,
                  videos: str | Path | None = None, dataset: str | DatasetSpec = UCF_CRIME,
                  keyframe_base: int = 1) -> dict[str, Path]:
    """``{key: path}`` of the videos to extract, in listing order.

    ``annotation``: the distinct videos of a training JSON; ``videos``: a list file (one path
    relative to ``video_root`` per line) or a shipped list (``ucf-crime-test``); neither: every
    video file below ``video_root``. A listed path that is not below the root as written is found
    by name (the dataset's key rule) anywhere below it.
    """
    from fgvad.data.paths import index_video_files, resolve_video_path

    spec = get_dataset(dataset)
    root = Path(video_root)
    if not root.is_dir():
        raise UsageError(f"--video-root {root}: not a folder")
    if annotation is not None and videos is not None:
        raise UsageError("give at most one of --annotation JSON and --videos LIST")
    if annotation is not None:
        from fgvad.data.annotations import load_annotations

        listed = [e.video for e in load_annotations(annotation, keyframe_base) if not e.is_image]
    elif videos is not None:
        from fgvad.data.annotations import load_video_list

        listed = load_video_list(videos)
    else:
        found = index_video_files(root, spec.video_key)
        return dict(sorted(found.items()))
    selected: dict[str, Path] = {}
    index: dict[str, Path] | None = None
    missing: list[str] = []
    for rel in listed:
        key = spec.video_key(rel)
        path = resolve_video_path(root, rel)
        if not path.is_file():
            if index is None:  # the layout differs from the listing: walk the tree once
                index = index_video_files(root, spec.video_key)
            path = index.get(key)
        if path is None:
            missing.append(rel)
            continue
        previous = selected.setdefault(key, path)
        if previous != path:
            raise UsageError(f"two videos are both named {key} ({previous} and {path}); their features would collide")
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise VideoError(f"{root}: {len(missing)} of {len(listed)} listed videos not found: {shown}")
    if not selected:
        raise UsageError("no videos to extract")
    return selected


def extract_features(checkpoint: str | Path, *, video_root: str | Path, out: str | Path,
                     annotation: str | Path | None = None, videos: str | Path | None = None,
                     dataset: str | DatasetSpec = UCF_CRIME, snippet_frames: int = SNIPPET_FRAMES,
                     frames_per_snippet: int = 1, dtype: str = "float16", frame_batch: int = DEFAULT_FRAME_BATCH,
                     num_workers: int = 2, device: str | None = None, keyframe_base: int = 1,
                     progress: bool = True) -> ExtractResult:
    """Write the features of the selected videos (:func:`select_videos`) with the backbone
    ``checkpoint`` into the features folder ``out`` (see the module docstring)."""
    from torch.utils.data import DataLoader
    from tqdm import tqdm

    from fgvad.data.features import create_features
    from fgvad.data.snippets import SnippetFrames
    from fgvad.models.feature_backbones import backbone_identity, load_feature_backbone

    if snippet_frames < 1:
        raise UsageError(f"--snippet-frames must be >= 1, not {snippet_frames}")
    if frames_per_snippet < 1 or frames_per_snippet > snippet_frames:
        raise UsageError(f"--frames-per-snippet must be in [1, {snippet_frames}], not {frames_per_snippet}")
    started = time.perf_counter()
    selected = select_videos(video_root, annotation=annotation, videos=videos, dataset=dataset,
                             keyframe_base=keyframe_base)
    identity = backbone_identity(checkpoint)
    backbone = load_feature_backbone(checkpoint, device=device, frame_batch=frame_batch)
    store = create_features(out, backbone=identity, snippet_frames=snippet_frames,
                            frames_per_snippet=frames_per_snippet, embed_dim=backbone.embed_dim, dtype=dtype)
    result = ExtractResult(out=store.root)
    todo = {}
    for key, path in selected.items():
        if store.has(key):
            result.skipped.append(key)
        else:
            todo[key] = path
    if result.skipped:
        print(f"{len(result.skipped)} of {len(selected)} videos already extracted in {store.root}; skipped",
              file=sys.stderr)
    frames_of = SnippetFrames(todo, backbone.decode_size, snippet_frames, frames_per_snippet)
    workers = max(0, min(num_workers, len(todo)))
    loader = DataLoader(frames_of, batch_size=None, shuffle=False, num_workers=workers,
                        prefetch_factor=2 if workers else None)
    relpaths = {key: _relative(path, Path(video_root)) for key, path in todo.items()}
    with tqdm(total=len(todo), desc="features", unit="video", disable=not progress, file=sys.stderr) as bar:
        for item in loader:
            if "error" in item:
                raise VideoError(item["error"])
            embeds = backbone.encode(item["frames"])
            per_snippet = embeds.reshape(-1, frames_per_snippet, embeds.shape[-1]).mean(axis=1)
            store.write(item["name"], per_snippet, n_frames=int(item["n_frames"]), fps=float(item["fps"]),
                        video=relpaths[item["name"]])
            result.extracted.append(item["name"])
            result.snippets += len(per_snippet)
            bar.update(1)
    result.seconds = time.perf_counter() - started
    return result


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


__all__: Sequence[str] = ("ExtractResult", "extract_features", "select_videos")
