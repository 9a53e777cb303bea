"""The text a PDF shows, read from its compressed content streams, for the privacy check.

A reader of a guide's PDF sees the text its content streams draw. WeasyPrint writes that text as glyph ids
of subset fonts, in Flate-compressed streams; the fonts' ToUnicode maps turn the ids back into characters.
This is a small reader of exactly that: uncompressed and Flate streams, object streams, Tj/TJ/'/" with the
font chosen by Tf, and the document's string metadata (title, author). It is a few times faster than a
general PDF library, which matters when a cohort of a thousand guides is checked on every build.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path

_OBJECT = re.compile(rb"(\d+)\s+\d+\s+obj\b")
_LENGTH = re.compile(rb"/Length\s+(\d+)(?!\s+\d+\s+R)")
_STREAM = re.compile(rb"stream\r?\n")
_FONT_REFS = re.compile(rb"/([^\s/<>\[\]()]+)\s+(\d+)\s+\d+\s+R")
_FONT_DICT = re.compile(rb"/Font\s*(?:<<(.*?)>>|(\d+)\s+\d+\s+R)", re.S)
_TO_UNICODE = re.compile(rb"/ToUnicode\s+(\d+)\s+\d+\s+R")
_HEX_PAIR = re.compile(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>")
_BFRANGE = re.compile(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*(<[0-9A-Fa-f]+>|\[[^\]]*\])")
_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f", b"(": b"(", b")": b")", b"\\": b"\\"}
_INFO_STRING = re.compile(rb"/(?:Title|Author|Subject|Keywords|Creator)\s*(\((?:\\.|[^\\()])*\)|<[0-9A-Fa-f\s]*>)", re.S)
GAP = -250  # a TJ adjustment (thousandths of an em) wider than this reads as a space between words


@dataclass
class _Cmap:
    """A ToUnicode map: code bytes to text."""

    width: int = 2
    codes: dict[int, str] = field(default_factory=dict)
    hex_codes: dict[bytes, str] = field(default_factory=dict)  # the same, keyed by the code's hex digits

    def decode(self, data: bytes) -> str:
        """The text of a string's bytes."""
        w = self.width
        return "".join([self.codes.get(int.from_bytes(data[i:i + w], "big"), "") for i in range(0, len(data) - w + 1, w)])

    def decode_hex(self, token: bytes) -> str:
        """The text of a hex string token `<0050004a>` (the common case, without converting to bytes)."""
        digits = token[1:-1]
        w = self.width * 2
        if len(digits) % w or not digits.isalnum():
            return self.decode(_string(token))
        codes = self.hex_codes
        return "".join([codes.get(digits[i:i + w], "") for i in range(0, len(digits), w)])


def pdf_text(data: bytes) -> list[str]:
    """The runs of text a PDF draws, in stream order, and its metadata strings; empty for what is not a PDF."""
    objects = _objects(data)
    cmaps = _cmaps(objects)
    runs: list[str] = []
    for body, stream in objects.values():
        if stream is None:
            if b"/Title" in body or b"/Author" in body:
                runs.extend(_utf16_or_latin(_string(s)) for s in _INFO_STRING.findall(body))
            continue
        if b"/Subtype /Image" in body or b"/Length1" in body or b"/ObjStm" in body or b"begincmap" in stream[:200]:
            continue
        if b"BT" in stream:
            runs.extend(_show(stream, cmaps))
    return [r for r in runs if r]


def _objects(data: bytes) -> dict[int, tuple[bytes, bytes | None]]:
    """Every object by number: (its dictionary text, its decoded stream or None), object streams unpacked."""
    found: dict[int, tuple[bytes, bytes | None]] = {}
    starts = [(m.start(), m.end(), int(m.group(1))) for m in _OBJECT.finditer(data)]
    for index, (_, end, number) in enumerate(starts):
        limit = starts[index + 1][0] if index + 1 < len(starts) else len(data)
        body = data[end:limit]
        stream_at = _STREAM.search(body)
        head = body[:stream_at.start()] if stream_at else body.split(b"endobj", 1)[0]
        if stream_at is None:
            found[number] = (head, None)
            continue
        length = _LENGTH.search(head)
        raw = body[stream_at.end():stream_at.end() + int(length.group(1))] if length else \
            body[stream_at.end():body.rfind(b"endstream")]
        stream = _decoded(head, raw)
        if stream is None:
            continue
        found[number] = (head, stream)
        if b"/ObjStm" in head:
            found.update(_unpack(head, stream))
    return found


def _decoded(head: bytes, raw: bytes) -> bytes | None:
    if b"/FlateDecode" not in head:
        return raw if b"/Filter" not in head else None
    try:
        return zlib.decompressobj().decompress(raw)
    except zlib.error:
        return None


def _unpack(head: bytes, stream: bytes) -> dict[int, tuple[bytes, None]]:
    first = re.search(rb"/First\s+(\d+)", head)
    if not first:
        return {}
    offset = int(first.group(1))
    numbers = [int(n) for n in stream[:offset].split()]
    pairs = list(zip(numbers[::2], numbers[1::2]))
    out: dict[int, tuple[bytes, None]] = {}
    for i, (number, start) in enumerate(pairs):
        end = pairs[i + 1][1] if i + 1 < len(pairs) else len(stream) - offset
        out[number] = (stream[offset + start:offset + end], None)
    return out


def _cmaps(objects: dict[int, tuple[bytes, bytes | None]]) -> dict[bytes, _Cmap]:
    """Font resource name -> its ToUnicode map (WeasyPrint names each font once for the whole document)."""
    parsed: dict[int, _Cmap] = {}
    fonts: dict[bytes, _Cmap] = {}
    for body, _ in objects.values():
        for inline, ref in _FONT_DICT.findall(body):
            entries = inline if not ref else objects.get(int(ref), (b"", None))[0]
            for name, number in _FONT_REFS.findall(entries):
                font = objects.get(int(number), (b"", None))[0]
                to_unicode = _TO_UNICODE.search(font)
                if to_unicode:
                    key = int(to_unicode.group(1))
                    if key not in parsed:
                        parsed[key] = _parse_cmap(objects.get(key, (b"", b""))[1] or b"")
                    fonts[name] = parsed[key]
    return fonts


def _parse_cmap(text: bytes) -> _Cmap:
    cmap = _Cmap()
    space = re.search(rb"begincodespacerange\s*<([0-9A-Fa-f]+)>", text)
    if space:
        cmap.width = max(1, len(space.group(1)) // 2)
    for block in re.findall(rb"beginbfchar(.*?)endbfchar", text, re.S):
        for code, target in _HEX_PAIR.findall(block):
            cmap.codes[int(code, 16)] = _utf16(bytes.fromhex(target.decode()))
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", text, re.S):
        for low, high, target in _BFRANGE.findall(block):
            lo, hi = int(low, 16), int(high, 16)
            if hi - lo > 0xFFFF:
                continue
            if target.startswith(b"["):
                for offset, item in enumerate(re.findall(rb"<([0-9A-Fa-f]+)>", target)):
                    cmap.codes[lo + offset] = _utf16(bytes.fromhex(item.decode()))
            else:
                base = bytes.fromhex(target[1:-1].decode())
                start = int.from_bytes(base, "big")
                for code in range(lo, hi + 1):
                    cmap.codes[code] = _utf16((start + code - lo).to_bytes(len(base), "big"))
    for code, text in cmap.codes.items():
        digits = f"{code:0{cmap.width * 2}x}".encode()
        cmap.hex_codes[digits] = cmap.hex_codes[digits.upper()] = text
    return cmap


def _utf16(data: bytes) -> str:
    return data.decode("utf-16-be", "replace")


def _utf16_or_latin(data: bytes) -> str:
    return _utf16(data[2:]) if data.startswith(b"\xfe\xff") else data.decode("latin-1")


def _literal(token: bytes) -> bytes:
    """The bytes of a literal string token `(...)`."""
    body = token[1:-1]
    body = re.sub(rb"\\([0-7]{1,3})", lambda m: bytes([int(m.group(1), 8) & 0xFF]), body)
    body = re.sub(rb"\\\r?\n", b"", body)
    return re.sub(rb"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), body, flags=re.S)


def _string(token: bytes) -> bytes:
    if token.startswith(b"<"):
        digits = re.sub(rb"\s", b"", token[1:-1])
        return bytes.fromhex((digits + b"0" * (len(digits) % 2)).decode())
    return _literal(token)


def _show(stream: bytes, cmaps: dict[bytes, _Cmap]) -> list[str]:
    """The text runs of one content stream: one run per text-showing operator, TJ gaps as spaces."""
    runs: list[str] = []
    font: _Cmap | None = None
    for block in _TEXT_BLOCK.findall(stream):
        for name, array, single in _TEXT_OPS.findall(block):
            if name:
                font = cmaps.get(name)
            elif single:
                runs.append(_text(font, single))
            else:
                out = []
                for piece, gap in _ARRAY_ITEM.findall(array):
                    if piece:
                        out.append(_text(font, piece))
                    elif gap[:1] == b"-" and float(gap) < GAP:
                        out.append(" ")
                runs.append("".join(out))
    return runs


_TEXT_BLOCK = re.compile(rb"(?<![^\s])BT\s(.*?)(?<=\s)ET(?![^\s])", re.S)
_STRING = rb"\((?:\\.|[^\\()]|\((?:\\.|[^\\()])*\))*\)|<[0-9A-Fa-f\s]*>"
_TEXT_OPS = re.compile(rb"/([^\s/<>\[\]()]+)\s+[-+\d.]+\s+Tf\b|\[((?:" + _STRING + rb"|[^\]()<])*)\]\s*TJ\b|(" + _STRING
                       + rb")\s*(?:Tj\b|'|[-+\d.]+\s+[-+\d.]+\s*\")", re.S)
_ARRAY_ITEM = re.compile(rb"(" + _STRING + rb")|([-+]?(?:\d+\.?\d*|\.\d+))", re.S)


def _text(font: _Cmap | None, token: bytes) -> str:
    if font is None:
        return _string(token).decode("latin-1")
    return font.decode_hex(token) if token[:1] == b"<" else font.decode(_string(token))


def cached_text(data: bytes, cache: Path | None) -> list[str]:
    """`pdf_text`, kept in `cache` (a folder) by the digest of the PDF: an unchanged guide's PDF is read once.

    A build fills the cache in its PDF workers, as each PDF is written (`remember_text`), so the privacy check at
    the end reads no PDF twice.
    """
    if cache is None:
        return pdf_text(data)
    entry = cache / (hashlib.sha256(data).hexdigest() + ".json")
    try:
        return json.loads(entry.read_text("utf-8"))
    except (OSError, ValueError):
        pass
    runs = pdf_text(data)
    try:
        cache.mkdir(parents=True, exist_ok=True)
        temp = entry.with_suffix(f".{os.getpid()}.tmp")
        temp.write_text(json.dumps(runs), "utf-8")
        os.replace(temp, entry)
    except OSError:
        pass  # a cache that cannot be written only costs time
    return runs


def remember_text(pdf: Path, cache: Path) -> None:
    """Read a PDF just written into the cache (in the worker that wrote it); a PDF that cannot be read is left
    for the privacy check, which reports it."""
    try:
        cached_text(pdf.read_bytes(), cache)
    except Exception:  # noqa: BLE001  the check reads it again, and says what is wrong
        pass
