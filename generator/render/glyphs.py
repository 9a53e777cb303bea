"""Which characters the PDF can print: the code points some installed font has a glyph for.

WeasyPrint draws text with the fonts fontconfig knows, and falls back from the theme's font list to any
installed font that has the character. A character no installed font has prints as an empty box, with no
error; `matchguide check` warns about each one (`profiles/x.yaml:2: name: U+1F31F has no font in the PDF`).
"""

from __future__ import annotations

import shutil
import subprocess
import unicodedata
from functools import lru_cache
from typing import Any, Iterable

from generator.errors import Problem

# Characters that are never drawn on their own: spaces, joiners, variation selectors, other format characters.
_NOT_DRAWN = {"Zs", "Zl", "Zp", "Cc", "Cf", "Mn", "Me"}


@lru_cache(maxsize=1)
def covered() -> tuple[tuple[int, int], ...] | None:
    """The code point ranges the installed fonts cover, merged and sorted; None when fontconfig is not there
    to ask (then nothing is reported). Read once per process."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return None
    try:
        listing = subprocess.run([fc_list, "--format", "%{charset}\\n"], capture_output=True, text=True,
                                 timeout=60, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    ranges: list[tuple[int, int]] = []
    for token in listing.split():
        low, _, high = token.partition("-")
        try:
            ranges.append((int(low, 16), int(high or low, 16)))
        except ValueError:
            continue
    merged: list[tuple[int, int]] = []
    for low, high in sorted(ranges):
        if merged and low <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], high))
        else:
            merged.append((low, high))
    return tuple(merged)


def missing(text: str, ranges: tuple[tuple[int, int], ...]) -> list[str]:
    """The characters of `text` no font covers, each once, in order of appearance."""
    out: list[str] = []
    for char in dict.fromkeys(text):
        if unicodedata.category(char) in _NOT_DRAWN:
            continue
        if not _in(ord(char), ranges):
            out.append(char)
    return out


def glyph_warnings(profiles: Iterable[Any]) -> list[Problem]:
    """A located warning for every character of a name, advisor or practice exam name that no installed font
    can print in the PDF."""
    ranges = covered()
    if ranges is None:
        return []
    warnings: list[Problem] = []
    for profile in profiles:
        fields: list[tuple[tuple, str | None]] = [(("name",), profile.name), (("advisor",), profile.advisor)]
        step2 = profile.step2_ck
        for index, exam in enumerate(step2.practice if step2 is not None else ()):
            fields.append((("step2_ck", "practice", index, "name"), exam.name))
        for path, value in fields:
            for char in missing(value or "", ranges):
                field = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in path).replace(".[", "[")
                warnings.append(Problem(profile.source, profile.line_of(path), field,
                                        f"U+{ord(char):04X} has no font in the PDF (it prints as an empty box); "
                                        "install a font that has it, such as one of the Noto fonts"))
    return warnings


def _in(code: int, ranges: tuple[tuple[int, int], ...]) -> bool:
    low, high = 0, len(ranges)
    while low < high:
        middle = (low + high) // 2
        if ranges[middle][1] < code:
            low = middle + 1
        elif ranges[middle][0] > code:
            high = middle
        else:
            return True
    return False
