"""`fgvad gt` reproduces the public frame-level GT of XD-Violence and ShanghaiTech exactly.

Frame counts are derived from the public arrays as ../shared/datasets/*/README.md explain:
XD-Violence's GT length is L = 16*floor((n-1)/16), so any n in L+1..L+16 gives it; ShanghaiTech's
is L = 16*ceil(n/16), and n = L (S3R's per-video num_frames) gives it.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from fgvad.cli import main
from fgvad.data.annotations import load_test_annotation
from fgvad.eval.gt import load_ground_truth


@pytest.fixture(scope="module")
def xd_public(shared_dir):
    with np.load(shared_dir / "datasets" / "xd_violence" / "gt_i3d_per_video.npz") as z:
        return {name: z[name] for name in z.files}


@pytest.mark.parametrize("extra", [1, 16])
def test_xd_violence_i3d_reproduces_all_800_public_arrays(tmp_path, xd_public, extra, capsys):
    counts = tmp_path / "xd_counts.txt"
    # The names of the feature files, folder and crop suffix included: the key rule drops them.
    counts.write_text("".join(f"/feats/{name}__0.npy {len(a) + extra} ignored columns\n"
                              for name, a in xd_public.items()))
    out = tmp_path / "xd_gt.npz"
    assert main(["gt", "--dataset", "xd-violence", "--frame-counts", str(counts), "--mode", "i3d",
                 "--out", str(out)]) == 0
    assert "800 xd-violence videos, 2,330,384 frames, 537,805 positive" in capsys.readouterr().out
    ours = load_ground_truth(out)
    assert sorted(ours) == sorted(xd_public)
    for name, ref in xd_public.items():
        np.testing.assert_array_equal(ours[name], ref, err_msg=name)
    # Concatenated in the official order, the array is the public gt.npy (README: 2,330,384 frames).
    order = [v.name for v in load_test_annotation("xd-violence")]
    flat = np.concatenate([ours[n] for n in order])
    assert flat.size == 2_330_384 and int(flat.sum()) == 537_805


def test_xd_violence_frames_mode_labels_every_frame(tmp_path, xd_public):
    counts = tmp_path / "c.txt"
    counts.write_text("".join(f"{name}.mp4 {len(a) + 5}\n" for name, a in xd_public.items()))
    out = tmp_path / "g.npz"
    assert main(["gt", "--dataset", "xd-violence", "--frame-counts", str(counts), "--out", str(out)]) == 0
    ours = load_ground_truth(out)
    name = "Black.Hawk.Down.2001__#02-00-12_02-01-29_label_B2-0-0"  # interval (10, 1848), L = 1840
    assert len(ours[name]) == 1845 and ours[name][10:1845].all() and not ours[name][:10].any()


@pytest.fixture(scope="module")
def sh_public(shared_dir):
    folder = shared_dir / "datasets" / "shanghaitech"
    lengths = {k: v["num_frames"] for k, v in
               json.loads((folder / "shanghaitech_ground_truth.testing.json").read_text()).items()}
    return lengths, np.load(folder / "gt-sh.npy", allow_pickle=False)


@pytest.mark.parametrize("anomalous_n", ["mask", "gt_length"])
def test_shanghaitech_i3d_reproduces_gt_sh_exactly(tmp_path, sh_public, anomalous_n, capsys):
    lengths, public = sh_public
    videos = load_test_annotation("shanghaitech")
    assert [v.name for v in videos] == list(lengths)  # the README's order
    # n: the official mask length (the real frame count) or the public GT length; both give L.
    counts = {v.name: (v.n_frames if anomalous_n == "mask" and v.is_anomaly else lengths[v.name]) for v in videos}
    file = tmp_path / "sh_counts.txt"
    file.write_text("".join(f"{name} {n}\n" for name, n in counts.items()))
    out = tmp_path / "sh_gt.npz"
    assert main(["gt", "--dataset", "shanghaitech", "--frame-counts", str(file), "--mode", "i3d",
                 "--out", str(out)]) == 0
    assert "199 shanghaitech videos, 142,912 frames, 8,028 positive" in capsys.readouterr().out
    ours = load_ground_truth(out)
    flat = np.concatenate([ours[v.name] for v in videos]).astype(np.float64)
    assert flat.dtype == public.dtype and flat.shape == public.shape == (142_912,)
    np.testing.assert_array_equal(flat, public)


def test_gt_mode_and_dataset_errors_are_one_line(tmp_path, capsys):
    counts = tmp_path / "xd_counts.txt"
    counts.write_text("v 32\n")
    assert main(["gt", "--dataset", "xd-violence", "--mode", "floor16", "--frame-counts", str(counts),
                 "--out", str(tmp_path / "g.npz")]) == 2
    assert "unknown ground-truth mode 'floor16' for xd-violence (choose from frames, i3d)" in capsys.readouterr().err
    assert main(["gt", "--dataset", "shanghaitech", "--out", str(tmp_path / "g.npz")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--frame-counts FILE" in err and "--video-root DIR" in err
    bad = tmp_path / "counts.txt"
    bad.write_text("01_0015 many\n")
    assert main(["gt", "--dataset", "shanghaitech", "--frame-counts", str(bad), "--out", str(tmp_path / "g.npz")]) != 0
    assert f"{bad}:1: frame count 'many' is not a whole number" in capsys.readouterr().err


@pytest.mark.slow  # 2.3 M frames: AP, AUC and six per-class AUCs
def test_eval_xd_violence_scores_reports_sklearn_ap_first(tmp_path, xd_public, capsys):
    """`fgvad eval --dataset xd-violence --scores DIR`: AP equals sklearn's over the concatenated
    frames, printed first (XD-Violence's headline metric), with the AUC beside it."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    counts = tmp_path / "xd_counts.txt"
    counts.write_text("".join(f"{name} {len(a) + 1}\n" for name, a in xd_public.items()))
    rng = np.random.default_rng(0)
    scores = tmp_path / "scores"
    scores.mkdir()
    for name, labels in xd_public.items():  # one score per 16-frame snippet, as I3D methods write them
        snippets = labels.reshape(-1, 16).mean(axis=1)
        np.save(scores / f"{name}.npy", (0.4 * snippets + rng.random(snippets.size)).astype(np.float32))
    out = tmp_path / "eval"
    assert main(["eval", "--dataset", "xd-violence", "--scores", str(scores), "--expand", "16",
                 "--frame-counts", str(counts), "--gt-mode", "i3d", "--out", str(out)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[2].startswith("| ap (headline) |") and printed[3].startswith("| auc |")

    order = [v.name for v in load_test_annotation("xd-violence")]
    y = np.concatenate([xd_public[n] for n in order])
    s = np.concatenate([np.repeat(np.load(scores / f"{n}.npy"), 16) for n in order])
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["headline_metric"] == "ap" and metrics["n_frames"] == y.size == 2_330_384
    assert abs(metrics["ap"] - average_precision_score(y, s)) < 1e-9
    assert abs(metrics["auc"] - roc_auc_score(y, s)) < 1e-9
    assert set(metrics["per_class_auc"]) == {"Fighting", "Shooting", "Riot", "Abuse", "CarAccident", "Explosion"}
    meta = json.loads((out / "eval_meta.json").read_text())
    assert meta["dataset"] == "xd-violence" and meta["videos"][0]["classes"] == ["Explosion", "Shooting", "CarAccident"]
