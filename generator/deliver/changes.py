"""What changed in a guide since the version that was last sent: a snapshot at send time, a short human diff.

When `matchguide email --send` starts a message, the ledger's `sending` record
carries a snapshot of the guide as the manifest described it then: band,
program range, section ids and titles, and the program list's size, `short`
and programs. The roster and `email --resend-changed` compare the manifest of
today with the snapshot of the guide that was last sent (pure functions).
"""

from __future__ import annotations

from typing import Any

SNAPSHOT_KEY = "guide"  # the key of the snapshot in a ledger record


def snapshot(entry: dict, titles: dict[str, str] | None = None) -> dict:
    """The parts of a manifest entry a reader would notice changing, small enough for every ledger record."""
    titles = titles or {}
    sections = [s for s in entry.get("sections") or [] if isinstance(s, str)]
    return {
        "band": entry.get("band"),
        "programs": _range(entry.get("programs")),
        "sections": sections,
        "titles": {s: titles[s] for s in sections if isinstance(titles.get(s), str)},
        "program_list": _list_summary(entry.get("program_list")),
    }


def _range(programs: Any) -> dict | None:
    if isinstance(programs, dict) and isinstance(programs.get("min"), int) and isinstance(programs.get("max"), int):
        return {"min": programs["min"], "max": programs["max"]}
    return None


def _list_summary(plist: Any) -> dict | None:
    """count, short, the listed program ids (sorted) and how many need their visa confirmed; None without a list."""
    if not isinstance(plist, dict):
        return None
    ids = sorted({p for key in ("reach", "target", "likely") for p in plist.get(key) or [] if isinstance(p, str)})
    count = plist.get("count")
    return {"count": count if isinstance(count, int) else len(ids), "short": bool(plist.get("short")),
            "programs": ids, "confirm_visa": len(plist.get("confirm_visa") or [])}


def differences(before: dict | None, after: dict) -> dict:
    """The diff of two snapshots: `lines` (short sentences), `program_list_changed`, `known` (a snapshot existed)."""
    if not isinstance(before, dict):
        return {"known": False, "program_list_changed": False,
                "lines": ["the guide changed since it was sent (what changed was not recorded when it was sent)"]}
    lines: list[str] = []
    if before.get("band") != after.get("band"):
        lines.append(f"score band: {_band(before.get('band'))} → {_band(after.get('band'))}")
    if before.get("programs") != after.get("programs"):
        lines.append(f"programs to apply to: {_span(before.get('programs'))} → {_span(after.get('programs'))}")
    old_sections = [s for s in before.get("sections") or [] if isinstance(s, str)]
    titles = {**(before.get("titles") or {}), **(after.get("titles") or {})}
    added = [s for s in after["sections"] if s not in old_sections]
    removed = [s for s in old_sections if s not in after["sections"]]
    if added:
        lines.append("new sections: " + "; ".join(_title(s, titles) for s in added))
    if removed:
        lines.append("sections no longer in the guide: " + "; ".join(_title(s, titles) for s in removed))
    list_lines = _list_lines(before.get("program_list"), after.get("program_list"))
    lines += list_lines
    if not lines:
        lines.append("the wording or dates changed; band, programs, sections and program list are the same")
    return {"known": True, "program_list_changed": bool(list_lines), "lines": lines}


def _list_lines(old: Any, new: Any) -> list[str]:
    if not isinstance(old, dict) and not isinstance(new, dict):
        return []
    if not isinstance(old, dict):
        return [f"program list: new, {new['count']} programs" + (" (short)" if new["short"] else "")]
    if not isinstance(new, dict):
        return ["program list: no longer in the guide"]
    parts = []
    if old.get("count") != new["count"]:
        parts.append(f"{old.get('count')} → {new['count']} programs")
    before, after = set(old.get("programs") or []), set(new["programs"])
    if after - before or before - after:
        parts.append(f"{len(after - before)} added, {len(before - after)} removed")
    if bool(old.get("short")) != new["short"]:
        parts.append("now short" if new["short"] else "no longer short")
    if old.get("confirm_visa") != new["confirm_visa"]:
        parts.append(f"visa to confirm: {old.get('confirm_visa')} → {new['confirm_visa']}")
    return ["program list: " + ", ".join(parts)] if parts else []


def _band(band: Any) -> str:
    return str(band).replace("_", " ") if band else "none"


def _span(programs: Any) -> str:
    return f"{programs['min']}–{programs['max']}" if isinstance(programs, dict) else "none (no score yet)"


def _title(section: str, titles: dict[str, str]) -> str:
    return titles.get(section) or section.replace("-", " ")
