"""Tokenisation: upstream padding/truncation, CLIP BPE files, the offline word-level tokenizer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from tokenizers import pre_tokenizers

from fgvad.core.errors import CheckpointError
from fgvad.models.fgclip import FGCLIPModel, tiny_fgclip_config
from fgvad.models.tokenizer import build_offline_tokenizer, has_tokenizer, load_tokenizer, tokenize

CAPTIONS = [
    "A man in a red jacket breaks the shop window.",
    "Two people fight near the parked car; a man falls.",
    "An empty street at night, cars pass slowly.",
]


def _tiny_clip_bpe_folder(folder: Path) -> Path:
    """vocab.json + merges.txt in CLIP's format (byte-level alphabet, '</w>' word ends, specials at 49406/7)."""
    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    vocab = {c: i for i, c in enumerate(alphabet)}
    vocab.update({c + "</w>": i + len(alphabet) for i, c in enumerate(alphabet)})
    merges = ["h e", "l l", "l o</w>", "he ll", "hell o</w>"]
    for merge in merges:
        vocab[merge.replace(" ", "")] = len(vocab)
    vocab.update({"<|startoftext|>": 49406, "<|endoftext|>": 49407})
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n")
    return folder


def test_clip_bpe_files_short_and_long(tmp_path):
    folder = _tiny_clip_bpe_folder(tmp_path / "bpe")
    assert has_tokenizer(folder)
    tokenizer = load_tokenizer(folder)
    hello = tokenizer.convert_tokens_to_ids("hello</w>")
    ids = tokenize(tokenizer, ["Hello hello", "a " * 400])
    assert ids.shape == (2, 77) and ids.dtype == torch.long
    assert ids[0, :4].tolist() == [49406, hello, hello, 49407]
    assert (ids[0, 3:] == 49407).all()  # padding is the EOS id, as upstream
    # Truncated rows keep bos first and EOS last.
    assert ids[1, 0] == 49406 and ids[1, -1] == 49407 and (ids[1, 1:-1] != 49407).all()
    long = tokenize(tokenizer, "hello", long=True)
    assert long.shape == (1, 248) and long[0, :3].tolist() == [49406, hello, 49407]


def test_offline_tokenizer_round_trip(tmp_path):
    tokenizer = build_offline_tokenizer(CAPTIONS, tmp_path / "tok")
    restored = load_tokenizer(tmp_path / "tok")
    for tok in (tokenizer, restored):
        ids = tokenize(tok, ["A MAN breaks the window.", "zebra"], long=True)
        assert ids.shape == (2, 248)
        words = [tok.convert_ids_to_tokens(int(i)) for i in ids[0, 1:7]]
        assert words == ["a", "man", "breaks", "the", "window", "."]
        assert ids[0, 0] == 49406 and ids[0, 7] == 49407 and (ids[0, 7:] == 49407).all()
        assert ids[1, :3].tolist() == [49406, 0, 49407]  # unknown word -> 0
        assert int(ids.max()) <= 49407
    # Most frequent tokens first ("a" and "." appear three times each; ties alphabetical).
    assert [tokenizer.convert_tokens_to_ids(t) for t in (".", "a", "man")] == [1, 2, 3]
    truncated = tokenize(restored, " ".join(["man"] * 300))
    assert truncated.shape == (1, 77) and truncated[0, -1] == 49407 and truncated[0, 0] == 49406


def test_model_folder_restores_tokenizer(tmp_path):
    tokenizer = build_offline_tokenizer(CAPTIONS)
    model = FGCLIPModel.from_config(tiny_fgclip_config(image_size=16, patch=8, vision_width=16, text_width=16,
                                                       projection_dim=8, heads=2))
    model.save_pretrained(tmp_path, tokenizer=tokenizer)
    reloaded = FGCLIPModel.from_pretrained(tmp_path)
    assert reloaded.tokenizer is not None
    ids = tokenize(reloaded.tokenizer, CAPTIONS)
    torch.testing.assert_close(ids, tokenize(tokenizer, CAPTIONS))
    with torch.no_grad():
        torch.testing.assert_close(reloaded.get_text_features(ids), model.get_text_features(ids))


def test_missing_tokenizer_is_a_checkpoint_error(tmp_path):
    with pytest.raises(CheckpointError, match="no tokenizer files"):
        load_tokenizer(tmp_path)
