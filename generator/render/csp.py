"""The Content-Security-Policy of every published page: nothing loads or runs but what the page needs.

Each page of the site (landing, 404, every guide) gets a `<meta http-equiv="Content-Security-Policy">` as the first
element after its charset. The policy starts from `default-src 'none'` and adds
only what that page uses: its stylesheet (`style-src 'self'`), the hash of each
inline `<style>` element (the 404 page carries its style inline), `data:` images (the icon) and same-origin images when the page has
any. Scripts, frames, fonts from elsewhere, forms and `<base>` stay forbidden,
so text that slipped through every other defence still cannot run or load.
`matchguide serve` relaxes the policy of the pages it serves for its reload
script alone (`relax_for_script`).
"""

from __future__ import annotations

import base64
import hashlib
import re

META_NAME = "Content-Security-Policy"
_META = re.compile(r'<meta\s+http-equiv="Content-Security-Policy"\s+content="([^"]*)">', re.IGNORECASE)
_STYLE = re.compile(r"<style\b[^>]*>(.*?)</style\s*>", re.IGNORECASE | re.DOTALL)
_STYLESHEET = re.compile(r'<link\b[^>]*\brel="?stylesheet"?[^>]*>', re.IGNORECASE)
_IMAGE = re.compile(r'<img\b[^>]*\bsrc="(?!data:)[^"]', re.IGNORECASE)
_CHARSET = re.compile(r"<meta\s+charset=[^>]*>", re.IGNORECASE)
_HEAD = re.compile(r"<head\b[^>]*>", re.IGNORECASE)
_DOCTYPE = re.compile(r"<!doctype[^>]*>", re.IGNORECASE)


def source_hash(text: str) -> str:
    """The CSP hash source of an inline element's text: `'sha256-...'`."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"


def policy_for(page: str) -> str:
    """The narrowest policy under which this page shows as written."""
    styles = (["'self'"] if _STYLESHEET.search(page) else []) + [source_hash(s) for s in _STYLE.findall(page)]
    images = (["'self'"] if _IMAGE.search(page) else []) + ["data:"]
    parts = ["default-src 'none'"]
    if styles:
        parts.append("style-src " + " ".join(dict.fromkeys(styles)))
    parts += ["img-src " + " ".join(images), "base-uri 'none'", "form-action 'none'"]
    return "; ".join(parts)


def protect(page: str) -> str:
    """The page with its policy as the first element after the charset (a policy covers what follows it)."""
    if _META.search(page):
        page = _META.sub("", page, count=1)
    meta = f'<meta http-equiv="{META_NAME}" content="{policy_for(page)}">'  # quotes, letters, +/= only: no escaping
    for anchor in (_CHARSET, _HEAD, _DOCTYPE):
        found = anchor.search(page)
        if found:
            return page[:found.end()] + "\n" + meta + page[found.end():]
    return meta + "\n" + page


def relax_for_script(page: str, script: str, *, connect_self: bool = True) -> str:
    """The page's policy also allowing exactly this inline script (by its hash) and requests to its own server."""
    found = _META.search(page)
    if not found:
        return page
    extra = f"; script-src {source_hash(script)}" + ("; connect-src 'self'" if connect_self else "")
    meta = f'<meta http-equiv="{META_NAME}" content="{found.group(1)}{extra}">'
    return page[:found.start()] + meta + page[found.end():]


_ALIGN = re.compile(r"text-align:\s*(left|center|right)")


def align_classes(state: object) -> None:
    """A markdown-it core rule: table alignment as a class (`align-right`), not a style attribute the policy blocks."""
    for token in getattr(state, "tokens"):
        style = token.attrs.get("style") if token.type in ("th_open", "td_open") else None
        if isinstance(style, str):
            found = _ALIGN.search(style)
            del token.attrs["style"]
            if found:
                token.attrSet("class", f"align-{found.group(1)}")
