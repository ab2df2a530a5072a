"""`fgvad data translate`: find non-English captions and translate only those.

CLIP text encoders barely read Chinese, and the users' files mix Chinese captions (and
strings such as "a man in a baseball帽") into English data. This command

- detects non-English captions by script (:func:`is_non_english`),
- applies the users' ``{source: translation}`` cache first, exactly,
- translates the rest with a local transformers seq2seq model (e.g. a MarianMT zh->en
  folder), batched and greedy, and extends the cache atomically,
- writes a file that is the input byte for byte except for the translated string
  literals: the JSON text is scanned for string tokens and only those tokens are
  replaced, so indentation, blank lines, key order, number spelling and escapes survive
  even in hand-edited files that no ``json.dumps`` setting reproduces.

Only strings under caption fields are touched (``global_caption``, ``region_captions``,
``caption``/``Caption``, ``hard_negatives``, ...); video paths and keys never change.

Malformed entries of a training list (e.g. a region caption without its box track) are
translated like any other and reported by count and entry; ``strict`` refuses the file.
Keyframe numbering does not matter here, so a frame 0 is not a problem for this command.
"""

from __future__ import annotations

import json
import re
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from fgvad.core.errors import AnnotationError, CheckpointError, UsageError
from fgvad.core.io import parse_json_text, read_json, read_utf8_text, write_text_atomic
from fgvad.core.text import is_non_english

# Object keys whose string values (or list items) are captions; other strings (paths, names) are never touched.
CAPTION_FIELDS = frozenset({
    "global_caption", "region_captions", "caption", "captions", "short_caption", "long_caption",
    "short_expr", "long_expr", "hard_negatives", "text",
})


def is_caption_field(name: str | None) -> bool:
    if name is None:
        return False
    low = name.lower()
    return low in CAPTION_FIELDS or low.endswith("caption") or low.endswith("captions")


# --------------------------------------------------------------------------- JSON string tokens

_TOKEN_RE = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\],:]', re.DOTALL)


@dataclass(frozen=True)
class StringToken:
    start: int  # span of the literal in the text, quotes included
    end: int
    value: str
    field: str | None  # the object key this value sits under (for list items: the list's key)
    is_key: bool


def scan_strings(text: str) -> list[StringToken]:
    """Every string literal of a valid JSON text, with the field it belongs to. Text must be valid JSON."""
    tokens: list[StringToken] = []
    # Frames: [kind, field, expecting_key, current_key]
    stack: list[list] = []
    for m in _TOKEN_RE.finditer(text):
        tok = m.group(0)
        if tok[0] == '"':
            value = tok[1:-1] if "\\" not in tok else json.loads(tok)
            top = stack[-1] if stack else None
            if top is not None and top[0] == "{" and top[2]:
                top[3] = value
                tokens.append(StringToken(m.start(), m.end(), value, None, True))
            else:
                fld = None if top is None else (top[3] if top[0] == "{" else top[1])
                tokens.append(StringToken(m.start(), m.end(), value, fld, False))
        elif tok == "{":
            stack.append(["{", None, True, None])
        elif tok == "[":
            top = stack[-1] if stack else None
            fld = None if top is None else (top[3] if top[0] == "{" else top[1])
            stack.append(["[", fld, False, None])
        elif tok in "}]":
            stack.pop()
        elif tok == ",":
            if stack and stack[-1][0] == "{":
                stack[-1][2] = True
        elif tok == ":":
            stack[-1][2] = False
    return tokens


def _encode_like(original_token: str, value: str, new: str) -> str:
    # A file written with \\u escapes (json.dumps default) stays ASCII; a UTF-8 file stays UTF-8.
    escaped = original_token.isascii() and not value.isascii()
    return json.dumps(new, ensure_ascii=escaped)


def replace_strings(text: str, tokens: Iterable[StringToken], mapping: dict[str, str]) -> tuple[str, int]:
    """``text`` with each token whose value is in ``mapping`` replaced; returns (new text, replacements)."""
    pieces: list[str] = []
    pos = n = 0
    for tok in tokens:
        new = mapping.get(tok.value)
        if new is None or new == tok.value:
            continue
        pieces.append(text[pos:tok.start])
        pieces.append(_encode_like(text[tok.start:tok.end], tok.value, new))
        pos = tok.end
        n += 1
    pieces.append(text[pos:])
    return "".join(pieces), n


# --------------------------------------------------------------------------- cache and model


def load_cache(path: str | Path | None) -> dict[str, str]:
    """The users' ``{source: translation}`` JSON; a missing file is an empty cache (it will be created)."""
    if path is None:
        return {}
    p = Path(path)
    if not p.exists():
        return {}
    data = read_json(p, what="translation cache")
    if not isinstance(data, dict):
        raise AnnotationError(f"{p}: a translation cache must be an object {{source: translation}}")
    bad = next((k for k, v in data.items() if not isinstance(v, str)), None)
    if bad is not None:
        raise AnnotationError(f"{p}: cache entry {bad[:40]!r}: translation must be a string")
    return data


def save_cache(path: str | Path, cache: dict[str, str]) -> None:
    try:
        write_text_atomic(path, json.dumps(cache, indent=2, ensure_ascii=False))
    except OSError as err:
        raise UsageError(f"--cache {path}: cannot write ({err.strerror or err})") from None


@dataclass
class ModelTranslator:
    """A local transformers seq2seq model (MarianMT, NLLB, ...), greedy and batched."""

    model_dir: str | Path
    device: str | None = None
    batch_size: int = 16
    max_new_tokens: int = 256
    _model: object = field(default=None, repr=False)
    _tokenizer: object = field(default=None, repr=False)

    def load(self) -> "ModelTranslator":
        d = Path(self.model_dir)
        if not (d / "config.json").is_file():
            raise CheckpointError(f"--model {d}: not a model folder (no config.json)")
        import torch
        from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

        try:
            with warnings.catch_warnings():
                # MarianTokenizer recommends sacremoses for punctuation normalisation; it is optional.
                warnings.filterwarnings("ignore", message=".*sacremoses")
                self._tokenizer = AutoTokenizer.from_pretrained(str(d), local_files_only=True)
            self._model = AutoModelForSeq2SeqLM.from_pretrained(str(d), local_files_only=True)
        except (OSError, ValueError, KeyError) as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise CheckpointError(f"--model {d}: cannot load a translation model ({first})") from None
        self.device = self.device or ("cuda" if torch.cuda.is_available() else "cpu")
        self._model.to(self.device).eval()
        return self

    def translate(self, texts: list[str], progress: bool = True) -> list[str]:
        import torch
        from tqdm.auto import tqdm

        if self._model is None:
            self.load()
        out: list[str | None] = [None] * len(texts)
        # Length-sorted batches pad less; results go back to the caller's order.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        batches = [order[i:i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        with torch.inference_mode(), tqdm(total=len(texts), desc="translate", unit="str",
                                          file=sys.stderr, disable=not progress) as bar:
            for batch in batches:
                enc = self._tokenizer([texts[i] for i in batch], return_tensors="pt", padding=True,
                                      truncation=True).to(self.device)
                ids = self._model.generate(**enc, num_beams=1, do_sample=False, max_new_tokens=self.max_new_tokens)
                for i, text in zip(batch, self._tokenizer.batch_decode(ids, skip_special_tokens=True)):
                    out[i] = text.strip()
                bar.update(len(batch))
        return [t or "" for t in out]


# --------------------------------------------------------------------------- the whole job


@dataclass
class TranslationPlan:
    tokens: list[StringToken]
    foreign: list[str]  # distinct non-English caption strings, file order
    n_foreign_occurrences: int
    cached: dict[str, str]  # source -> cached translation
    pending: list[str]  # not in the cache
    foreign_elsewhere: int  # non-English strings outside caption fields (left alone)


def plan_translation(text: str, cache: dict[str, str]) -> TranslationPlan:
    tokens = scan_strings(text)
    seen: dict[str, None] = {}
    occurrences = elsewhere = 0
    for tok in tokens:
        if not is_non_english(tok.value):
            continue
        if tok.is_key or not is_caption_field(tok.field):
            elsewhere += 1
            continue
        occurrences += 1
        seen.setdefault(tok.value, None)
    foreign = list(seen)
    cached = {s: cache[s] for s in foreign if s in cache}
    pending = [s for s in foreign if s not in cache]
    return TranslationPlan(tokens, foreign, occurrences, cached, pending, elsewhere)


def apply_translations(text: str, plan: TranslationPlan, mapping: dict[str, str]) -> tuple[str, int]:
    """Rewrite the caption tokens in ``mapping`` and prove the result is the input plus those changes."""
    caption_tokens = [t for t in plan.tokens if not t.is_key and is_caption_field(t.field)]
    new_text, n = replace_strings(text, caption_tokens, mapping)
    json.loads(new_text)  # a bug here must never write a broken file
    after = [t.value for t in scan_strings(new_text)]
    wanted = [mapping.get(t.value, t.value) if (not t.is_key and is_caption_field(t.field)) else t.value
              for t in plan.tokens]
    if after != wanted:
        raise AssertionError("translate: rewritten text does not match the planned replacements")
    return new_text, n


def read_json_text(path: str | Path) -> tuple[str, str]:
    """(BOM or "", text) of a JSON file, validated."""
    p = Path(path)
    text = read_utf8_text(p, keep_bom=True)  # the output keeps the input's bytes
    bom = "\ufeff" if text.startswith("\ufeff") else ""
    text = text[len(bom):]
    parse_json_text(text, p)
    return bom, text


def report_malformed(src: str | Path, text: str, *, strict: bool, echo: Callable[[str], None]) -> int:
    """Check a training list entry by entry (the loader's rule, any keyframe numbering); echo each
    malformed entry, or raise the first with ``strict``. Other schemas are not entry lists: 0."""
    from fgvad.data.annotations import parse_each

    data = json.loads(text)
    if not isinstance(data, list):
        return 0
    problems = parse_each(data, keyframe_base=0).problems
    if problems and strict:
        raise AnnotationError(f"{src}: {problems[0].message} (--strict)")
    if problems:
        echo(f"  {len(problems)} malformed entries (carried through, their captions translated like the rest):")
        for problem in problems:
            echo(f"    {problem.message}")
    return len(problems)


def translate_file(src: str | Path, out: str | Path | None, *, cache_path: str | Path | None = None,
                   translator: Callable[[list[str]], list[str]] | None = None, dry_run: bool = False,
                   echo: Callable[[str], None] = print, strict: bool = False) -> int:
    """Run the command's job; returns the exit status (1 when strings were left untranslated)."""
    bom, text = read_json_text(src)
    cache = load_cache(cache_path)
    plan = plan_translation(text, cache)
    echo(f"{src}: {plan.n_foreign_occurrences} non-English caption strings ({len(plan.foreign)} distinct); "
         f"{len(plan.cached)} distinct in the cache, {len(plan.pending)} not")
    report_malformed(src, text, strict=strict, echo=echo)
    if plan.foreign_elsewhere:
        echo(f"  {plan.foreign_elsewhere} non-English strings outside caption fields (paths, keys) left as they are")
    if dry_run:
        for s in plan.foreign:
            echo(f"  {'cache' if s in plan.cached else 'model'}: {s}")
        echo("  dry run: nothing written")
        return 0
    mapping = dict(plan.cached)
    left: list[str] = []
    still_foreign = 0
    if plan.pending and translator is not None:
        results = translator(plan.pending)
        for source, result in zip(plan.pending, results):
            if not result.strip():
                left.append(source)
                continue
            mapping[source] = result
            cache[source] = result
            still_foreign += is_non_english(result)
        if cache_path is not None and len(plan.pending) > len(left):
            save_cache(cache_path, cache)
            echo(f"  cache {cache_path}: added {len(plan.pending) - len(left)} translations ({len(cache)} in all)")
    else:
        left = list(plan.pending)
    new_text, n = apply_translations(text, plan, mapping)
    write_text_atomic(out, bom + new_text)
    echo(f"  replaced {n} strings: {len(plan.cached)} distinct from the cache, "
         f"{len(mapping) - len(plan.cached)} by the model; wrote {out}")
    if still_foreign:
        echo(f"  warning: {still_foreign} model outputs are still not English (is --model a to-English model?)")
    if left:
        why = "no --model given" if translator is None else "the model returned nothing"
        echo(f"  {len(left)} distinct strings left untranslated ({why}):")
        for s in left:
            echo(f"    {s}")
        return 1
    return 0
