"""Script detection: which letters of a caption an English CLIP tokenizer cannot read.

Unicode names every Latin letter "LATIN ..." (accented and fullwidth forms included), so a
letter whose name does not start with LATIN belongs to another script (CJK, kana, Hangul,
Cyrillic, Arabic, ...). Digits, punctuation and symbols (fullwidth ones too) are not
letters and never count. ``fgvad data check`` reports such captions, ``fgvad data translate``
and ``fgvad data convert`` use the same rule to pick what to translate.

A bilingual model (FG-CLIP 2, SigLIP 2) reads Chinese as well: its captions' Han characters
(:data:`CHINESE_SCRIPTS`, Unicode names "CJK ...") need no translation.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache


CHINESE_SCRIPTS = ("CJK",)  # script_name() of Han characters (CJK UNIFIED / COMPATIBILITY IDEOGRAPH ...)


@lru_cache(maxsize=65536)
def is_foreign_letter(ch: str) -> bool:
    """True for a letter (Unicode category L*) outside the Latin script."""
    return not ch.isascii() and unicodedata.category(ch).startswith("L") and not unicodedata.name(ch, "").startswith("LATIN")


def is_non_english(text: str) -> bool:
    """True when ``text`` holds a letter of a non-Latin script (CJK, kana, Hangul, Cyrillic, Arabic, ...)."""
    return not text.isascii() and any(is_foreign_letter(ch) for ch in text)


def non_latin_letters(text: str) -> str:
    """The distinct letters of ``text`` outside the Latin script, in order of first appearance."""
    return "".join(dict.fromkeys(ch for ch in text if is_foreign_letter(ch)))


def script_name(ch: str) -> str:
    """The script word of a character's Unicode name ("CJK", "HANGUL", "CYRILLIC", ...)."""
    return unicodedata.name(ch, "UNKNOWN").split()[0]
