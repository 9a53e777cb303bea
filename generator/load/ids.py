"""The one rule for ids (applicants, sections, examples): written once, used by every loader and command."""

from __future__ import annotations

import re

ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
ID_RULE = "lowercase letters, digits and hyphens, starting with a letter or digit, at most 64 characters"
