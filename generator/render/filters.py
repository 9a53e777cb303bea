"""The values a guide prints: dates, numbers and money as a reader expects them, and Markdown-escaped text (pure)."""

from __future__ import annotations

from datetime import date
from typing import Any

from jinja2 import Environment

_MD_SPECIAL = "\\`*_{}[]()#+-.!|<>&~^:\"'=$@%;,/?"
_MD_ESCAPES = str.maketrans({char: "\\" + char for char in _MD_SPECIAL})  # one pass in C, for every printed value


def md_escape(value: Any) -> str:
    """Escape every Markdown-significant character so a value renders as literal text."""
    text = value if isinstance(value, str) else format_value(value)
    return text.translate(_MD_ESCAPES)


def format_value(value: Any) -> str:
    """Plain text for a fact value: dates spelled out, None as an empty string."""
    if value is None:
        return ""
    if isinstance(value, date):
        return long_date(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def long_date(value: date | None) -> str:
    """`1 September 2027`."""
    return "" if value is None else f"{value.day} {value:%B %Y}"


def short_date(value: date | None) -> str:
    """`1 Sep 2027`."""
    return "" if value is None else f"{value.day} {value:%b %Y}"


def month_year(value: date | None) -> str:
    """`September 2027`."""
    return "" if value is None else f"{value:%B %Y}"


def money(value: Any) -> str:
    """US dollars without cents: `$3,630`."""
    return "" if value is None else f"${int(value):,}"


def number(value: Any) -> str:
    """A number with thousands separators; whole floats without decimals."""
    if value is None:
        return ""
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}"
    return f"{int(value):,}"


def install_filters(env: Environment) -> None:
    """The filters section bodies and templates use: `date`, `shortdate`, `number`, `month`, `money`."""
    env.filters.update(date=long_date, shortdate=short_date, number=number, month=month_year, money=money)
