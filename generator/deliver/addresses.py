"""Addresses a guide must never be sent to: placeholders, and the domains reserved for documentation.

`matchguide new` writes `ID@example.invalid` until the advisor knows the real
address; the sample cohort uses example.org. Neither ever reaches an applicant,
so `email` refuses both (the dry run lists them as not ready, with the reason).
"""

from __future__ import annotations

# Top-level domains reserved by RFC 2606 and RFC 6761: no address under them ever receives mail.
PLACEHOLDER_TLDS = ("invalid", "test", "localhost", "example")
# Second-level domains reserved for documentation (RFC 2606); their mail goes nowhere (RFC 7505 null MX).
EXAMPLE_DOMAINS = ("example.com", "example.org", "example.net")
ALLOW_EXAMPLE_ENV = "MATCHGUIDE_ALLOW_EXAMPLE_ADDRESSES"


def _domain(address: str) -> str:
    return address.rpartition("@")[2].lower().rstrip(".")


def placeholder_address(address: str) -> str | None:
    """Why this address is a placeholder that can never receive mail (`ID@example.invalid`), or None."""
    tld = _domain(address).rpartition(".")[2]
    if tld in PLACEHOLDER_TLDS:
        return f"{address} is a placeholder: addresses under .{tld} never receive mail"
    return None


def undeliverable(address: str, *, allow_example: bool = False) -> str | None:
    """Why `email` must not send to this address, or None.

    Placeholders are refused always. The documentation domains (example.com, .org, .net) are refused
    unless `allow_example` (MATCHGUIDE_ALLOW_EXAMPLE_ADDRESSES=1: for trying matchguide with the sample
    cohort against a test mail server).
    """
    reason = placeholder_address(address)
    if reason:
        return f"{reason}; write the applicant's real address in their profile"
    domain = _domain(address)
    if not allow_example and any(domain == d or domain.endswith("." + d) for d in EXAMPLE_DOMAINS):
        return (f"{address} is an example address ({domain} is reserved for documentation and receives no mail); "
                f"write the applicant's real address, or set {ALLOW_EXAMPLE_ENV}=1 to send to a test server")
    return None
