"""Capability URLs: each guide's folder name is an HMAC of the applicant id under a secret key."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from generator.errors import BuildError, Problem

KEY_ENV = "MATCHGUIDE_SITE_KEY"
SLUG_CHARS = 26  # base32: 26 characters carry 130 bits
GUIDE_DIR = "site/g"  # each guide lives at site/g/<slug>/


def site_key(key_file: Path, env: dict[str, str] | None = None) -> bytes:
    """The secret from $MATCHGUIDE_SITE_KEY, else from the key file, which is made on first use."""
    env = os.environ if env is None else env
    if env.get(KEY_ENV, "").strip():
        value = env[KEY_ENV].strip().encode()  # stripped like the key file, so both give the same addresses
        if len(value) < 16:
            raise BuildError(Problem(KEY_ENV, None, None, "the site key must be at least 16 characters"))
        return value
    try:
        if key_file.exists():
            value = key_file.read_bytes().strip()
            if len(value) < 16:
                raise BuildError(Problem(str(key_file), 1, None, "the site key must be at least 16 characters"))
            return value
        key_file.parent.mkdir(parents=True, exist_ok=True)
        value = secrets.token_hex(32).encode()
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(value + b"\n")
        return value
    except OSError as exc:
        raise BuildError(Problem(str(key_file), None, None, f"cannot read or create the site key: {exc.strerror}")) from None


def slug(key: bytes, applicant_id: str) -> str:
    """A stable, unguessable folder name for one applicant's guide (130 bits, lowercase base32)."""
    digest = hmac.new(key, applicant_id.encode("utf-8"), hashlib.sha256).digest()
    return base64.b32encode(digest).decode("ascii").lower()[:SLUG_CHARS]
