"""A JSON list file as text: every top-level element's span, so tools can rewrite a file
element by element and copy the rest byte for byte (``data split``, ``data hardneg``).

Kept elements keep the user's indentation, key order, number spelling and escapes; the
elements are joined with the file's own separator.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from fgvad.core.errors import AnnotationError
from fgvad.core.io import json_error, parse_json_text, read_utf8_text


@dataclass
class JsonListText:
    """A JSON list file's text with the span of every top-level element."""

    text: str  # without a UTF-8 BOM
    spans: list[tuple[int, int]]
    values: list[object]
    bom: bool = False

    def separator(self) -> str:
        """The text between the first two elements (e.g. ``",\\n  "``), or a sane default."""
        if len(self.spans) >= 2:
            return self.text[self.spans[0][1]:self.spans[1][0]]
        return ",\n  "

    def render(self, keep: list[int]) -> str:
        """The file with only the elements at ``keep`` (in order); everything else unchanged."""
        if not self.spans:
            return ("\ufeff" if self.bom else "") + self.text
        head = self.text[:self.spans[0][0]]
        tail = self.text[self.spans[-1][1]:]
        if not keep:
            # "[\n  " + "\n]" would leave odd whitespace; an empty list keeps the framing chars only.
            head, tail = head.rstrip(), tail.lstrip()
        body = self.separator().join(self.text[slice(*self.spans[i])] for i in keep)
        return ("\ufeff" if self.bom else "") + head + body + tail


def read_json_list_text(path: str | Path) -> JsonListText:
    """Parse a JSON list file and locate each element's text; one-line errors on bad input."""
    p = Path(path)
    text = read_utf8_text(p, keep_bom=True)  # the output keeps the input's bytes
    bom = text.startswith("\ufeff")
    if bom:
        text = text[1:]
    decoder = json.JSONDecoder()
    ws = " \t\r\n"
    pos = len(text) - len(text.lstrip(ws))
    if not text[pos:pos + 1] == "[":
        parse_json_text(text, p)  # names the syntax error, if there is one
        raise AnnotationError(f"{p}: top level must be a list of entries")
    spans: list[tuple[int, int]] = []
    values: list[object] = []
    pos += 1
    try:
        while True:
            while pos < len(text) and text[pos] in ws:
                pos += 1
            if text[pos:pos + 1] == "]" and not spans:
                pos += 1
                break
            value, end = decoder.raw_decode(text, pos)
            spans.append((pos, end))
            values.append(value)
            pos = end
            while pos < len(text) and text[pos] in ws:
                pos += 1
            if text[pos:pos + 1] == ",":
                pos += 1
                continue
            if text[pos:pos + 1] == "]":
                pos += 1
                break
            raise json.JSONDecodeError("expected ',' or ']'", text, pos)
        if text[pos:].strip(ws):
            raise json.JSONDecodeError("extra data after the list", text, pos)
    except json.JSONDecodeError as err:
        raise json_error(p, err) from None
    except RecursionError:
        raise AnnotationError(f"{p}: JSON nested too deeply") from None
    return JsonListText(text, spans, values, bom)
