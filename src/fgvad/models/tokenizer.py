"""Tokenisation for FG-CLIP: short (77) and long (248) CLIP token ids, padded as upstream does.

Upstream FG-CLIP tokenises with the checkpoint's CLIP tokenizer, ``padding="max_length"`` and
``truncation=True``: ``<|startoftext|>`` (49406) first, ``<|endoftext|>`` (49407) last even when
the text is cut, then 49407 as padding up to exactly 77 or 248 tokens. The model pools at the
first 49407, so the padding value must be 49407 whatever pad token a tokenizer declares.

:func:`build_offline_tokenizer` makes a small word-level tokenizer from captions (for the
demo and tests, which have no network). It keeps the CLIP special ids (49406/49407) so the
same model and pooling rule work; ordinary words get ids 1.. in order of frequency, id 0 is
the unknown token, so a model with the usual 49408-row table accepts it unchanged.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from fgvad.core.constants import BOS_TOKEN_ID, EOS_TOKEN_ID, LONG_TEXT_LENGTH, SHORT_TEXT_LENGTH
from fgvad.core.errors import CheckpointError

if TYPE_CHECKING:
    import torch

BOS_TOKEN = "<|startoftext|>"
EOS_TOKEN = "<|endoftext|>"
UNK_TOKEN = "<|unk|>"
_TOKENIZER_FILES = ("tokenizer.json", "vocab.json")


def has_tokenizer(folder: str | Path) -> bool:
    """Whether ``folder`` holds tokenizer files (``tokenizer.json`` or ``vocab.json`` + ``merges.txt``)."""
    folder = Path(folder)
    return (folder / "tokenizer.json").is_file() or (
        (folder / "vocab.json").is_file() and (folder / "merges.txt").is_file()
    )


def load_tokenizer(path: str | Path) -> Any:
    """Load the CLIP tokenizer saved in a checkpoint folder, from local files only.

    Reads ``tokenizer.json`` when present (any fast tokenizer, including the offline one),
    else ``vocab.json`` + ``merges.txt`` as a CLIP BPE tokenizer.
    """
    from transformers import CLIPTokenizer, PreTrainedTokenizerFast

    folder = Path(path)
    if not has_tokenizer(folder):
        raise CheckpointError(f"{folder}: no tokenizer files (tokenizer.json, or vocab.json + merges.txt)")
    try:
        if (folder / "tokenizer.json").is_file():
            tokenizer = PreTrainedTokenizerFast(tokenizer_file=str(folder / "tokenizer.json"))
            _restore_special_tokens(tokenizer)
            return tokenizer
        return CLIPTokenizer(vocab=str(folder / "vocab.json"), merges=str(folder / "merges.txt"))
    except Exception as exc:  # the tokenizers library raises its own exception types
        raise CheckpointError(f"{folder}: cannot load the tokenizer ({str(exc).splitlines()[0]})") from None


def _restore_special_tokens(tokenizer: Any) -> None:
    # A bare tokenizer.json does not say which token is bos/eos/pad; CLIP's are fixed names.
    vocab = tokenizer.get_vocab()
    if BOS_TOKEN in vocab and tokenizer.bos_token is None:
        tokenizer.bos_token = BOS_TOKEN
    if EOS_TOKEN in vocab:
        if tokenizer.eos_token is None:
            tokenizer.eos_token = EOS_TOKEN
        if tokenizer.pad_token is None:
            tokenizer.pad_token = EOS_TOKEN
    if UNK_TOKEN in vocab and tokenizer.unk_token is None:
        tokenizer.unk_token = UNK_TOKEN


def _eos_id(tokenizer: Any) -> int:
    eos = tokenizer.convert_tokens_to_ids(EOS_TOKEN)
    if eos is None or eos == tokenizer.unk_token_id:
        eos = tokenizer.eos_token_id
    return EOS_TOKEN_ID if eos is None else int(eos)


def tokenize(tokenizer: Any, texts: str | Sequence[str], long: bool = False) -> "torch.Tensor":
    """Token ids (N, 77) or, with ``long=True``, (N, 248), as upstream FG-CLIP makes them.

    Each row: bos, the text's tokens (truncated so that the EOS is kept at the end), EOS,
    then EOS-id padding up to the full length.
    """
    import torch

    if isinstance(texts, str):
        texts = [texts]
    length = LONG_TEXT_LENGTH if long else SHORT_TEXT_LENGTH
    eos = _eos_id(tokenizer)
    encoded = tokenizer(list(texts), add_special_tokens=True, truncation=True, max_length=length,
                        padding=False)["input_ids"]
    ids = torch.full((len(encoded), length), eos, dtype=torch.long)
    for row, tokens in enumerate(encoded):
        tokens = list(tokens)[:length]
        if tokens and tokens[-1] != eos:
            # A tokenizer without a post-processor adding EOS: make room for it, as upstream's
            # CLIP tokenizer always ends a row with EOS.
            tokens = tokens[: length - 1] + [eos]
        ids[row, : len(tokens)] = torch.tensor(tokens, dtype=torch.long)
    return ids


def build_offline_tokenizer(texts: Iterable[str], out_dir: str | Path | None = None,
                            max_words: int = 49000) -> Any:
    """A lower-cased word-level tokenizer learned from ``texts`` (no network).

    Ids: 0 unknown, 1.. words by frequency (ties alphabetical), 49406 bos, 49407 eos (also
    pad). Punctuation marks are their own tokens. Saved with ``save_pretrained`` into
    ``out_dir`` when given, so :func:`load_tokenizer` (and ``FGCLIPModel.from_pretrained``)
    restores it.
    """
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    if max_words >= BOS_TOKEN_ID:
        raise ValueError(f"max_words must stay below {BOS_TOKEN_ID} so that the special ids are free")
    normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    pre_tokenizer = pre_tokenizers.Whitespace()
    counts: Counter[str] = Counter()
    for text in texts:
        words = pre_tokenizer.pre_tokenize_str(normalizer.normalize_str(text))
        counts.update(word for word, _ in words)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:max_words]
    vocab = {UNK_TOKEN: 0, BOS_TOKEN: BOS_TOKEN_ID, EOS_TOKEN: EOS_TOKEN_ID}
    for index, (word, _) in enumerate(ranked, start=1):
        vocab[word] = index
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token=UNK_TOKEN))
    backend.normalizer = normalizer
    backend.pre_tokenizer = pre_tokenizer
    backend.post_processor = processors.TemplateProcessing(
        single=f"{BOS_TOKEN} $A {EOS_TOKEN}",
        special_tokens=[(BOS_TOKEN, BOS_TOKEN_ID), (EOS_TOKEN, EOS_TOKEN_ID)],
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, bos_token=BOS_TOKEN, eos_token=EOS_TOKEN, pad_token=EOS_TOKEN,
        unk_token=UNK_TOKEN, model_max_length=LONG_TEXT_LENGTH,
    )
    if out_dir is not None:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        tokenizer.save_pretrained(str(out_dir))
    return tokenizer


__all__ = ["build_offline_tokenizer", "has_tokenizer", "load_tokenizer", "tokenize",
           "SHORT_TEXT_LENGTH", "LONG_TEXT_LENGTH"]
