"""`fgvad data translate`: translate non-English captions with a local model and a cache."""

from __future__ import annotations

import argparse

from fgvad.cli.data_options import add_strict, refuse_overwrite
from fgvad.core.errors import UsageError
from fgvad.core.io import check_output_path
from fgvad.data.tools.translate import ModelTranslator, translate_file
from fgvad.core.checks import existing_file, existing_folder, output_file, positive_int

DESCRIPTION = """\
Translate the non-English captions of an annotation JSON (either schema) with a local
translation model and a {source: translation} cache, leaving everything else byte for byte.

A caption counts as non-English when it contains any letter outside the Latin script
(CJK, kana, Hangul, Cyrillic, Arabic, ...); accented Latin is fine. Cached strings are
applied first; the rest go through --model (a transformers seq2seq folder, e.g. a MarianMT
zh->en model you downloaded). Without --model, cached strings are applied, the rest are
listed, and the exit status is 1.
"""

EXAMPLES = """\
examples:
  fgvad data translate normal_train.json --dry-run --cache translation_cache.json
  fgvad data translate normal_train.json --out normal_train_en.json \\
      --model models/opus-mt-zh-en --cache translation_cache.json
  fgvad data translate ucf_fgclip_train_with_timestamps_en.json --out train_en.json --cache translation_cache.json
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=existing_file(), help="annotation JSON (training list or the per-video normal-caption schema)")
    parser.add_argument("--out", type=output_file(), help="write the translated file here (required unless --dry-run)")
    parser.add_argument("--model", type=existing_folder, help="local transformers translation model folder (e.g. MarianMT zh->en)")
    parser.add_argument("--cache", type=output_file(), help="JSON {source: translation}; applied first and extended with new translations")
    parser.add_argument("--dry-run", action="store_true", help="list what would be translated; write nothing")
    parser.add_argument("--batch-size", type=positive_int, default=16, help="strings per model call (default 16)")
    parser.add_argument("--max-new-tokens", type=positive_int, default=256, help="longest translation in tokens (default 256)")
    parser.add_argument("--device", default=None, help="torch device for the model (default: cuda if available)")
    add_strict(parser, "report malformed entries, translate and carry them through")


def run(args: argparse.Namespace) -> int:
    if not args.dry_run and not args.out:
        raise UsageError("--out is required (or use --dry-run)")
    refuse_overwrite(args.out, args.file)
    if args.cache and not args.dry_run:
        check_output_path(args.cache, flag="--cache")  # new translations are added to it
    translator = None
    if args.model and not args.dry_run:
        model = ModelTranslator(args.model, args.device, args.batch_size, args.max_new_tokens)
        translator = lambda texts: model.translate(texts)  # noqa: E731 - loads the model only when needed
    return translate_file(args.file, args.out, cache_path=args.cache, translator=translator, dry_run=args.dry_run,
                          strict=args.strict)
