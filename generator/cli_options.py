"""The command line's shared option groups (argparse parents) and the option types they parse."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path


def iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}") from None


def shard(text: str) -> tuple[int, int]:
    try:
        k, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected K/N such as 1/4, got {text!r}") from None
    if not 1 <= k <= n:
        raise argparse.ArgumentTypeError(f"expected 1 <= K <= N, got {text!r}")
    return k, n


def parents() -> dict[str, argparse.ArgumentParser]:
    """Option groups several commands share, as argparse parent parsers."""
    paths = argparse.ArgumentParser(add_help=False)
    paths.add_argument("--profiles", type=Path, default=Path("profiles"), metavar="DIR", help="applicant profiles (default: profiles)")
    paths.add_argument("--content", type=Path, default=Path("content"), metavar="DIR", help="guide content (default: content)")
    paths.add_argument("--theme", type=Path, default=Path("themes/default"), metavar="DIR", help="theme folder (default: themes/default)")
    site = argparse.ArgumentParser(add_help=False, parents=[paths])
    site.add_argument("--as-of", type=iso_date, metavar="DATE", help="the build date, YYYY-MM-DD (default: today); the only clock")
    site.add_argument("--cycle", type=int, metavar="YEAR", help="the site's ERAS cycle (default: the next one after --as-of)")
    site.add_argument("--programs", type=Path, metavar="FILE",
                      help="the program spreadsheet, .csv or .xlsx (default: content/data/programs.csv when it exists)")
    only = argparse.ArgumentParser(add_help=False)
    only.add_argument("--only", nargs="+", metavar="ID", help="only these applicant ids")
    sheet = argparse.ArgumentParser(add_help=False)  # import and export: profiles checked against the strategy data
    sheet.add_argument("--dir", type=Path, default=Path("profiles"), metavar="DIR", help="profiles folder (default: profiles)")
    sheet.add_argument("--content", type=Path, default=Path("content"), metavar="DIR",
                       help="guide content, for the strategy data the checks use (default: content)")
    sheet.add_argument("--as-of", type=iso_date, metavar="DATE", help="the date the checks assume, YYYY-MM-DD (default: today)")
    sheet.add_argument("--cycle", type=int, metavar="YEAR", help="the site's ERAS cycle (default: the next one after --as-of)")
    return {"paths": paths, "site": site, "only": only, "sheet": sheet}
