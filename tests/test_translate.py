from __future__ import annotations

import json
import re
import shutil

import pytest

from fgvad.cli import main
from fgvad.core.text import is_non_english
from fgvad.data.tools.translate import scan_strings

# Every JSON string literal; re.split with the group keeps them at odd positions.
STRING_LITERAL = re.compile(r'("(?:[^"\\]|\\.)*")', re.DOTALL)


def changed_strings(before: str, after: str) -> dict[str, str]:
    """{old: new} of the string literals that differ; asserts that nothing outside literals changed."""
    parts_before, parts_after = STRING_LITERAL.split(before), STRING_LITERAL.split(after)
    assert len(parts_before) == len(parts_after)
    changed = {}
    for i, (a, b) in enumerate(zip(parts_before, parts_after)):
        if i % 2 == 0:
            assert a == b, f"text between strings changed: {a!r} -> {b!r}"
        elif a != b:
            changed[json.loads(a)] = json.loads(b)
    return changed


@pytest.mark.parametrize("text,expected", [
    ("A man walks into a shop.", False),
    ("Un café près de la gare, señor.", False),
    ("Straße – “quoted” … 1.5 m², 30°C", False),
    ("", False),
    ("a man in a baseball帽", True),
    ("一个场景为办公室的正常视频。", True),
    ("カメラ", True), ("한국어", True), ("Привет", True), ("مرحبا", True),
    ("A man，walks。", False),  # full-width punctuation alone is not a foreign letter
])
def test_is_non_english(text, expected):
    assert is_non_english(text) is expected


@pytest.fixture(scope="module")
def real_cache(shared_dir) -> dict[str, str]:
    return json.loads((shared_dir / "datasets" / "ucf_fgclip" / "translation_cache.json").read_text(encoding="utf-8"))


def _input_text(cached: list[str]) -> str:
    """A hand-formatted training file: odd spacing, a blank line, an escaped caption, a Chinese path and key."""
    escaped = json.dumps(cached[2])  # \\u escapes, as json.dumps writes by default
    return (
        '[\n'
        '    {"video": "Abuse/视频001_x264.mp4", "global_caption": ' + json.dumps(cached[0], ensure_ascii=False) + ',\n'
        '     "region_captions": [' + json.dumps(cached[1], ensure_ascii=False) + ', "A man in black runs.",\n'
        '                         "一个女人在收银台旁边等待"],\n'
        '     "box_infos": [[{"frame": 12, "bbox": [0.10, 0.2, 0.5, 1.0]}], [], []],   "timestamps": null},\n'
        '\n'
        '    {"video": "Training_Normal_Videos_Anomaly/Normal_Videos001_x264.mp4",\n'
        '     "global_caption": ' + escaped + ', "region_captions": ["Cars pass on a road.", "Un café près."],\n'
        '     "box_infos": [[], []], "timestamps": [0.0, 6.0], "notes": {"标注": "审核"},\n'
        '     "hard_negatives": [["一辆车着火了"], []]}\n'
        ']'
    )


def test_cache_only_applies_exact_entries_and_lists_the_rest(real_cache, tmp_path, capsys):
    cached = list(real_cache)[:3]  # the first is the real file's "a man in a baseball帽" caption
    assert "baseball帽" in cached[0]
    src, out = tmp_path / "in.json", tmp_path / "out.json"
    src.write_text(_input_text(cached), encoding="utf-8")
    assert main(["data", "translate", str(src), "--out", str(out),
                 "--cache", str(tmp_path / "missing_cache.json")]) == 1  # an empty cache: nothing to apply
    assert out.read_text(encoding="utf-8") == src.read_text(encoding="utf-8")
    capsys.readouterr()

    cache = tmp_path / "cache.json"
    cache.write_text(json.dumps(real_cache, indent=2, ensure_ascii=False), encoding="utf-8")
    assert main(["data", "translate", str(src), "--out", str(out), "--cache", str(cache)]) == 1
    report = capsys.readouterr().out
    assert "5 non-English caption strings (5 distinct); 3 distinct in the cache, 2 not" in report
    assert "2 distinct strings left untranslated (no --model given)" in report
    assert "一个女人在收银台旁边等待" in report and "一辆车着火了" in report
    before, after = src.read_text(encoding="utf-8"), out.read_text(encoding="utf-8")
    assert changed_strings(before, after) == {s: real_cache[s] for s in cached}
    assert "视频001" in after and '"标注": "审核"' in after  # paths, keys and non-caption fields are untouched


def test_real_normal_file_without_model_is_byte_identical(shared_dir, tmp_path, capsys):
    src = shared_dir / "datasets" / "ucf_fgclip" / "ucf_normal_videos_1_240_finally.json"
    out = tmp_path / "out.json"
    cache = shared_dir / "datasets" / "ucf_fgclip" / "translation_cache.json"
    assert main(["data", "translate", str(src), "--out", str(out), "--cache", str(cache)]) == 1
    report = capsys.readouterr().out
    # README: 1148 Chinese caption strings, none of them in the cache.
    assert "1148 non-English caption strings" in report and "0 distinct in the cache" in report
    assert out.read_bytes() == src.read_bytes()  # a hand-edited file that no json.dumps reproduces


@pytest.fixture(scope="module")
def tiny_marian(tmp_path_factory):
    """A random MarianMT zh->en stand-in: real tokenizer (trained sentencepiece) and real model code."""
    import sentencepiece as spm
    import torch
    from transformers import MarianConfig, MarianMTModel, MarianTokenizer

    d = tmp_path_factory.mktemp("tiny_marian")
    corpus = d / "corpus.txt"
    corpus.write_text("\n".join([
        "a man walks in the office", "two people sit at the front desk", "cars pass on a road",
        "一个男人在办公室里走路", "前台有一个工作人员", "一个女人在收银台旁边等待", "一辆车着火了",
        "a man in a baseball帽 stole items", "一个场景为办公室的正常视频。",
    ] * 10), encoding="utf-8")
    spm.SentencePieceTrainer.train(input=str(corpus), model_prefix=str(d / "sp"), vocab_size=80,
                                   character_coverage=1.0, hard_vocab_limit=False, minloglevel=2)
    model_dir = d / "model"
    model_dir.mkdir()
    for name in ("source.spm", "target.spm"):
        shutil.copy(d / "sp.model", model_dir / name)
    sp = spm.SentencePieceProcessor(model_file=str(d / "sp.model"))
    vocab = {"</s>": 0, "<unk>": 1, "<pad>": 2}
    for i in range(sp.get_piece_size()):
        vocab.setdefault(sp.id_to_piece(i), len(vocab))
    (model_dir / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    MarianTokenizer(str(model_dir / "source.spm"), str(model_dir / "target.spm"),
                    str(model_dir / "vocab.json")).save_pretrained(model_dir)
    config = MarianConfig(vocab_size=len(vocab), d_model=16, encoder_layers=1, decoder_layers=1,
                          encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=32,
                          decoder_ffn_dim=32, max_position_embeddings=64, pad_token_id=2, eos_token_id=0,
                          decoder_start_token_id=2, forced_eos_token_id=0)
    torch.manual_seed(0)
    model = MarianMTModel(config)
    # Keep random outputs non-empty: an immediate </s> would decode to "".
    model.generation_config.min_new_tokens = 3
    model.save_pretrained(model_dir)
    return model_dir


def test_model_translates_only_non_english_and_extends_the_cache(tiny_marian, real_cache, tmp_path, capsys):
    cached = list(real_cache)[:3]
    src, out, cache = tmp_path / "in.json", tmp_path / "out.json", tmp_path / "cache.json"
    src.write_text(_input_text(cached), encoding="utf-8")
    subset = {s: real_cache[s] for s in cached}
    cache.write_text(json.dumps(subset, indent=2, ensure_ascii=False), encoding="utf-8")
    assert main(["data", "translate", str(src), "--out", str(out), "--model", str(tiny_marian),
                 "--cache", str(cache), "--batch-size", "1", "--max-new-tokens", "8", "--device", "cpu"]) == 0
    report = capsys.readouterr().out
    assert "added 2 translations (5 in all)" in report
    changed = changed_strings(src.read_text(encoding="utf-8"), out.read_text(encoding="utf-8"))
    assert set(changed) == set(cached) | {"一个女人在收银台旁边等待", "一辆车着火了"}
    assert all(is_non_english(s) for s in changed)
    assert {s: changed[s] for s in cached} == subset  # cache hits are applied exactly
    new_cache = json.loads(cache.read_text(encoding="utf-8"))
    assert new_cache == {**subset, **{s: changed[s] for s in changed if s not in subset}}
    assert not list(tmp_path.glob(".*.tmp"))  # atomic writes leave no temporaries

    # Dry run: lists, writes nothing, loads no model.
    out.unlink()
    assert main(["data", "translate", str(src), "--dry-run", "--cache", str(cache), "--model", str(tmp_path)]) == 0
    report = capsys.readouterr().out
    assert report.count("  cache: ") == 5 and "dry run: nothing written" in report and not out.exists()


def test_scan_strings_knows_fields():
    tokens = scan_strings('{"a": ["x", {"caption": "y"}], "global_caption": "z", "k": [["w"]]}')
    fields = {t.value: (t.field, t.is_key) for t in tokens}
    assert fields["x"] == ("a", False) and fields["y"] == ("caption", False)
    assert fields["z"] == ("global_caption", False) and fields["w"] == ("k", False)
    assert fields["caption"] == (None, True)


def test_errors_are_one_line(tmp_path, capsys):
    src = tmp_path / "in.json"
    src.write_text('[{"global_caption": "一个人"}]', encoding="utf-8")
    assert main(["data", "translate", str(src), "--out", str(tmp_path / "o.json"), "--model", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("fgvad: error: --model") and "no config.json" in err and err.count("\n") == 1
    bad_cache = tmp_path / "cache.json"
    bad_cache.write_text('["not", "a", "dict"]')
    assert main(["data", "translate", str(src), "--dry-run", "--cache", str(bad_cache)]) == 1
    assert "must be an object" in capsys.readouterr().err
    assert main(["data", "translate", str(src)]) == 2
    assert "--out is required" in capsys.readouterr().err


def test_help_has_an_example(capsys):
    with pytest.raises(SystemExit):
        main(["data", "translate", "--help"])
    assert "fgvad data translate normal_train.json --out normal_train_en.json" in capsys.readouterr().out
