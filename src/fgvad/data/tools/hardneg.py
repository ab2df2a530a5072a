"""`fgvad data hardneg`: generated hard negatives for every region caption.

A hard negative of "a man in a red shirt punches a woman" differs from it in one detail that
a fine-grained model has to see: a colour ("blue shirt"), a count ("two men"), an action
("hugs"), an object or attribute ("a woman ... a man"). Each region caption gets up to ``per_region``
such edits of itself, in a deterministic order (seeded by the caption and ``seed``), and,
when a caption offers fewer edits than that, sentences from templates of its video's class
(what the same scene looks like without the anomaly). No negative equals its positive
(compared without case, spacing or final punctuation) and none repeats.

The negatives are written into each entry's ``hard_negatives`` field (one list per region,
what the loader and the hard-negative loss read). Everything else is carried through as
``data split`` does: every entry keeps its bytes, the new field is inserted before the
entry's closing brace; malformed entries, entries without regions and entries that already
have ``hard_negatives`` are copied unchanged and counted.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from fgvad.core.datasets import NORMAL
from fgvad.core.errors import AnnotationError
from fgvad.data.annotations import KEYFRAME_BASE_DEFAULT, Entry, EntryProblem, parse_each
from fgvad.data.jsonlist import JsonListText, read_json_list_text

DEFAULT_PER_REGION = 10  # the users' fgclip-vad generated 10 per region

COLOURS = ("red", "blue", "green", "yellow", "black", "white", "gray", "orange", "purple", "pink", "brown")


def _pairs(*pairs: str) -> dict[str, str]:
    """``"a:b"`` pairs -> a symmetric word map."""
    table: dict[str, str] = {}
    for pair in pairs:
        left, right = pair.split(":")
        table.setdefault(left, right)
        table.setdefault(right, left)
    return table


ACTIONS = _pairs(
    "punches:hugs", "punching:hugging", "punched:hugged", "kicks:pats", "kicking:patting", "kicked:patted",
    "hits:touches", "hitting:touching", "runs:walks", "running:walking", "ran:walked", "grabs:holds",
    "grabbing:holding", "grabbed:held", "steals:buys", "stealing:buying", "stole:bought", "pushes:pulls",
    "pushing:pulling", "pushed:pulled", "falls:sits", "falling:sitting", "fell:sat", "throws:catches",
    "throwing:catching", "threw:caught", "fights:talks", "fighting:talking", "attacks:greets",
    "attacking:greeting", "attacked:greeted", "enters:leaves", "entering:leaving", "opens:closes",
    "opening:closing", "breaks:fixes", "breaking:fixing", "broke:fixed", "shoots:photographs",
    "shooting:photographing", "drags:carries", "dragging:carrying", "tackles:helps", "tackling:helping",
    "chases:follows", "chasing:following", "robs:pays", "robbing:paying", "burns:cleans", "burning:cleaning",
    "smashes:taps", "smashing:tapping", "lies:stands", "lying:standing",
)
OBJECTS = _pairs(
    "knife:phone", "knives:phones", "gun:camera", "guns:cameras", "pistol:wallet", "bag:box", "bags:boxes",
    "backpack:suitcase", "car:truck", "cars:trucks", "bicycle:motorcycle", "door:window", "doors:windows",
    "bottle:cup", "chair:table", "stick:umbrella", "bat:broom", "money:tickets", "shelf:counter", "fire:smoke",
    "helmet:hat", "jacket:coat", "shirt:sweater", "hood:cap",
)
ATTRIBUTES = _pairs(
    "man:woman", "men:women", "boy:girl", "boys:girls", "left:right", "big:small", "tall:short", "young:old",
    "front:back", "inside:outside", "dark:light",
)
_SINGULAR_PLURAL = {"man": "men", "woman": "women", "person": "people", "boy": "boys", "girl": "girls",
                    "child": "children", "officer": "officers", "guard": "guards", "car": "cars", "vehicle": "vehicles"}
_PLURAL_SINGULAR = {v: k for k, v in _SINGULAR_PLURAL.items()}
_NUMBERS = ("two", "three", "four")

# Per class: the same kind of scene without the anomaly (the class is the video's label).
CATEGORY_TEMPLATES: dict[str, tuple[str, ...]] = {
    "Abuse": ("a person gently helping another person up", "two people talking calmly face to face"),
    "Arrest": ("a police officer chatting with a passer-by", "a person walking past a parked police car"),
    "Arson": ("a person lighting a candle on a table", "a person cooking on a small grill"),
    "Assault": ("two people shaking hands", "a person waving at a friend"),
    "Burglary": ("a person unlocking the front door with a key", "a person carrying groceries into a house"),
    "Explosion": ("a street with traffic passing normally", "steam rising slowly from a vent"),
    "Fighting": ("people standing together and talking", "two people dancing in a hallway"),
    "RoadAccidents": ("cars waiting at a red light", "a car parking slowly in a lot"),
    "Robbery": ("a customer paying at the counter", "a person handing a package to another person"),
    "Shooting": ("a person taking a photo with a phone", "people walking calmly across a square"),
    "Shoplifting": ("a customer putting items into a basket", "a person paying for goods at the till"),
    "Stealing": ("a person unlocking their own bicycle", "a person picking up their own bag"),
    "Vandalism": ("a person cleaning a wall", "a person repairing a window"),
    "Fire": ("a lit fireplace inside a room", "sunlight reflecting on a building"),
    "People_falling": ("a person sitting down on a bench", "a person bending to tie a shoe"),
    "Object_falling": ("a person placing a box on a shelf", "a worker lowering a crate carefully"),
    "Traffic_accident": ("cars driving in their lanes", "a car stopping at a crossing"),
    "Water_incident": ("people swimming calmly in a pool", "a boat moored at a pier"),
    NORMAL: ("a person being attacked", "people fighting on the street", "a car crashing into a wall"),
}
GENERIC_TEMPLATES = (
    "an empty street at night", "a person standing still", "a parked car", "a closed shop door",
    "a person walking a dog", "two people waiting in line", "a person reading a newspaper",
    "a cyclist riding past", "a person sitting on a chair", "a quiet parking lot",
)

_WORD_RE = re.compile(r"[A-Za-z]+(?:-[A-Za-z]+)*")


def _normalised(text: str) -> str:
    return " ".join(text.lower().split()).rstrip(".!?;, ")


def _match_case(original: str, new: str) -> str:
    return new[:1].upper() + new[1:] if original[:1].isupper() else new


def _word_edits(caption: str, table: dict[str, str] | None, kind: str) -> list[str]:
    edits = []
    for match in _WORD_RE.finditer(caption):
        word = match.group(0)
        low = word.lower()
        if kind == "colour":
            choices = [c for c in COLOURS if c != low] if low in COLOURS else []
        else:
            choices = [table[low]] if table and low in table else []
        for choice in choices:
            edits.append(caption[:match.start()] + _match_case(word, choice) + caption[match.end():])
    return edits


def _count_edits(caption: str) -> list[str]:
    edits = []
    singular = re.compile(r"\b(a|an|one) (\w+ )?(" + "|".join(_SINGULAR_PLURAL) + r")\b", re.IGNORECASE)
    for m in singular.finditer(caption):
        noun = _SINGULAR_PLURAL[m.group(3).lower()]
        for number in _NUMBERS[:2]:
            edits.append(caption[:m.start()] + _match_case(m.group(1), number) + " " + (m.group(2) or "") + noun
                         + caption[m.end():])
    plural = re.compile(r"\b(two|three|four|several|many) (\w+ )?(" + "|".join(_PLURAL_SINGULAR) + r")\b",
                        re.IGNORECASE)
    for m in plural.finditer(caption):
        noun = _PLURAL_SINGULAR[m.group(3).lower()]
        edits.append(caption[:m.start()] + _match_case(m.group(1), "a") + " " + (m.group(2) or "") + noun
                     + caption[m.end():])
        for number in _NUMBERS:
            if number != m.group(1).lower():
                edits.append(caption[:m.start()] + _match_case(m.group(1), number) + caption[m.start() + len(m.group(1)):])
                break
    return edits


def hard_negatives(caption: str, label: str = NORMAL, per_region: int = DEFAULT_PER_REGION, seed: int = 0) -> list[str]:
    """Up to ``per_region`` texts that differ from ``caption`` in one detail (see the module
    docstring); deterministic for the same caption, label and seed. Never ``caption`` itself."""
    digest = hashlib.sha256(f"{seed}\x00{caption}".encode("utf-8")).digest()
    rng = random.Random(int.from_bytes(digest[:8], "big"))
    kinds = [_word_edits(caption, None, "colour"), _count_edits(caption), _word_edits(caption, ACTIONS, "action"),
             _word_edits(caption, OBJECTS, "object"), _word_edits(caption, ATTRIBUTES, "attribute")]
    for edits in kinds:
        rng.shuffle(edits)
    order = [edits[i] for i in range(max((len(k) for k in kinds), default=0)) for edits in kinds if i < len(edits)]
    templates = list(CATEGORY_TEMPLATES.get(label, ())) + list(GENERIC_TEMPLATES)
    rng.shuffle(templates)
    seen = {_normalised(caption)}
    out: list[str] = []
    for text in order + templates:
        key = _normalised(text)
        if key in seen:
            continue
        seen.add(key)
        out.append(text)
        if len(out) == per_region:
            break
    return out


# --------------------------------------------------------------------------- the file


@dataclass
class HardnegReport:
    entries: int = 0
    written: int = 0  # entries given hard_negatives
    regions: int = 0
    negatives: int = 0
    kept: Counter = field(default_factory=Counter)  # reason -> entries carried through unchanged
    malformed: list[EntryProblem] = field(default_factory=list)


def _insert_field(entry_text: str, name: str, value: object) -> str:
    """``entry_text`` (a JSON object) with ``"name": value`` added last, in the object's own layout."""
    close = entry_text.rstrip().rfind("}")
    body_end = len(entry_text[:close].rstrip())
    first_key = re.match(r"\{([ \t]*\r?\n)?([ \t]*)", entry_text)
    newline, indent = (first_key.group(1), first_key.group(2)) if first_key else (None, "")
    gap = newline.rstrip(" \t") + indent if newline else " "
    addition = f",{gap}{json.dumps(name)}: {json.dumps(value, ensure_ascii=False)}"
    return entry_text[:body_end] + addition + entry_text[body_end:]


def add_hard_negatives(listing: JsonListText, *, per_region: int = DEFAULT_PER_REGION, seed: int = 0,
                       keyframe_base: int = KEYFRAME_BASE_DEFAULT, strict: bool = False) -> tuple[str, HardnegReport]:
    """The file's new text and a report. ``strict``: the first malformed entry raises."""
    report = HardnegReport(entries=len(listing.values))
    pieces: list[str] = []
    expected: list[object] = []
    for index, outcome in enumerate(parse_each(listing.values, keyframe_base).outcomes):
        text = listing.text[slice(*listing.spans[index])]
        raw = listing.values[index]
        new_value = raw
        if isinstance(outcome, EntryProblem):
            if strict:
                raise AnnotationError(outcome.message)
            report.malformed.append(outcome)
            report.kept["malformed"] += 1
        elif outcome.is_image or not outcome.regions:
            report.kept["no region captions"] += 1
        elif isinstance(raw, dict) and "hard_negatives" in raw:
            report.kept["already has hard_negatives"] += 1
        else:
            entry: Entry = outcome
            negatives = [hard_negatives(r.caption, entry.label, per_region, seed) for r in entry.regions]
            text = _insert_field(text, "hard_negatives", negatives)
            new_value = {**raw, "hard_negatives": negatives}
            report.written += 1
            report.regions += len(negatives)
            report.negatives += sum(len(n) for n in negatives)
        pieces.append(text)
        expected.append(new_value)
    new_text = _render(listing, pieces)
    if json.loads(new_text.removeprefix("\ufeff")) != expected:  # a bug here must never write a wrong file
        raise AssertionError("hardneg: rewritten text does not parse to the planned entries")
    return new_text, report


def _render(listing: JsonListText, pieces: list[str]) -> str:
    if not listing.spans:
        return ("\ufeff" if listing.bom else "") + listing.text
    out = [listing.text[:listing.spans[0][0]]]
    for i, piece in enumerate(pieces):
        out.append(piece)
        end = listing.spans[i][1]
        nxt = listing.spans[i + 1][0] if i + 1 < len(pieces) else len(listing.text)
        out.append(listing.text[end:nxt])
    return ("\ufeff" if listing.bom else "") + "".join(out)


def hardneg_file(path: str | Path, **options: object) -> tuple[str, HardnegReport]:
    return add_hard_negatives(read_json_list_text(path), **options)  # type: ignore[arg-type]


def summary_lines(path: str | Path, report: HardnegReport) -> list[str]:
    lines = [f"{path}: {report.entries} entries; hard negatives for {report.regions} regions of {report.written} "
             f"entries ({report.negatives} texts)"]
    for reason, n in report.kept.most_common():
        lines.append(f"  carried through unchanged: {n} entries ({reason})")
    for problem in report.malformed:
        lines.append(f"    malformed: {problem.message}")
    return lines
