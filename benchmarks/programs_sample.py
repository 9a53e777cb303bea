"""Write an invented program spreadsheet: the sample content/data/programs.csv, or a large one for the bench.

Every name, code, website and figure is made up: the names are invented words ("Thistlewick Regional
Medical Center"), the codes are `IM-<state>-<number>`, the websites are under example.org. Cities and
states are real. The same seed and size always give the same bytes.

    python benchmarks/programs_sample.py content/data/programs.csv            # the shipped sample (320 rows)
    python benchmarks/programs_sample.py --rows 2000 /tmp/programs.csv         # the bench's spreadsheet
"""

from __future__ import annotations

import argparse
import csv
import io
import random
from pathlib import Path

COLUMNS = ("program_id", "name", "city", "state", "type", "visa_j1", "visa_h1b", "img_percent", "step2_min",
           "step2_typical", "max_years_since_graduation", "failed_attempts", "usce_required", "signals", "website",
           "notes")
COMMENT = ("# Invented sample programs: every name, code, website and figure in this file is made up "
           "(cities and states are real). Replace it with your own spreadsheet: see docs/program-list.md.")
CITIES = {
    "AL": ["Huntsville", "Mobile"], "AK": ["Anchorage"], "AZ": ["Tucson", "Mesa", "Flagstaff"],
    "AR": ["Little Rock", "Fort Smith"], "CA": ["Fresno", "Bakersfield", "Riverside", "Stockton", "Modesto"],
    "CO": ["Pueblo", "Greeley"], "CT": ["Hartford", "Waterbury", "Bridgeport"], "DE": ["Wilmington", "Dover"],
    "DC": ["Washington"], "FL": ["Orlando", "Tampa", "Pensacola", "Gainesville", "Ocala"],
    "GA": ["Macon", "Augusta", "Savannah"], "HI": ["Honolulu"], "ID": ["Boise"],
    "IL": ["Peoria", "Rockford", "Springfield", "Evanston", "Joliet"], "IN": ["Muncie", "Evansville", "Fort Wayne"],
    "IA": ["Des Moines", "Davenport"], "KS": ["Wichita", "Topeka"], "KY": ["Louisville", "Bowling Green"],
    "LA": ["Shreveport", "Baton Rouge", "Lafayette"], "ME": ["Bangor", "Lewiston"],
    "MD": ["Baltimore", "Cumberland", "Salisbury"], "MA": ["Worcester", "Springfield", "Pittsfield"],
    "MI": ["Flint", "Saginaw", "Lansing", "Kalamazoo", "Dearborn"], "MN": ["Duluth", "St. Cloud"],
    "MS": ["Jackson", "Hattiesburg"], "MO": ["Springfield", "Joplin", "Columbia"], "MT": ["Billings"],
    "NE": ["Omaha", "Lincoln"], "NV": ["Reno", "Las Vegas"], "NH": ["Manchester"],
    "NJ": ["Newark", "Paterson", "Camden", "Trenton", "Elizabeth", "Hackensack"],
    "NM": ["Albuquerque", "Las Cruces"],
    "NY": ["Brooklyn", "Bronx", "Queens", "Buffalo", "Rochester", "Syracuse", "Albany", "Flushing", "Jamaica"],
    "NC": ["Greensboro", "Greenville", "Asheville"], "ND": ["Fargo", "Bismarck"],
    "OH": ["Dayton", "Toledo", "Akron", "Youngstown", "Canton"], "OK": ["Tulsa", "Lawton"],
    "OR": ["Portland", "Eugene"], "PA": ["Erie", "Scranton", "Allentown", "Johnstown", "Harrisburg"],
    "PR": ["San Juan", "Ponce", "Mayagüez"], "RI": ["Providence", "Pawtucket"], "SC": ["Columbia", "Florence"],
    "SD": ["Sioux Falls"], "TN": ["Memphis", "Chattanooga", "Johnson City"],
    "TX": ["Lubbock", "El Paso", "Odessa", "Temple", "Amarillo", "Harlingen"], "UT": ["Provo"],
    "VT": ["Burlington"], "VA": ["Roanoke", "Norfolk", "Lynchburg"], "WA": ["Spokane", "Yakima"],
    "WV": ["Huntington", "Morgantown", "Charleston"], "WI": ["Milwaukee", "La Crosse", "Green Bay"],
    "WY": ["Casper"],
}
# Invented place words: no real hospital is called any of these.
PREFIXES = ("Bramble", "Thistle", "Quill", "Heron", "Copper", "Juniper", "Marigold", "Sable", "Wren", "Amber",
            "Fennel", "Kestrel", "Lantern", "Oriole", "Pewter", "Saffron", "Tamarack", "Wicker", "Yarrow", "Zephyr",
            "Larch", "Mossy", "Plover", "Rushing", "Teasel", "Umber", "Vetch", "Whistle", "Bracken", "Sorrel")
SUFFIXES = ("crest", "wick", "ford", "haven", "mere", "gate", "brook", "stead", "moor", "vale", "hollow", "bend")
INSTITUTIONS = {
    "community": ("Community Hospital", "Regional Medical Center", "General Hospital", "Medical Center"),
    "university-affiliated": ("Affiliated Medical Center", "Health System", "Teaching Hospital"),
    "academic": ("University Hospital", "University Medical Center", "College of Medicine"),
}
NOTES = ("Coordinator answered by email; confirm visa policy again in August.", "Took two of our applicants last year.",
         "Interview is virtual.", "Website says Step 2 CK screen; ask if waived for strong USCE.",
         "=HYPERLINK(\"https://example.org\")", "Prefers US letters from internal medicine.")


def rows(count: int, seed: int = 2027) -> list[dict[str, str]]:
    """`count` invented programs: realistic spreads of type, visa, IMG share and scores, with blank cells."""
    rng = random.Random(seed)
    states = sorted(CITIES)
    places = [p + s for p in PREFIXES for s in SUFFIXES]
    rng.shuffle(places)
    used: set[str] = set()
    out = []
    for i in range(count):
        state = states[i % len(states)] if i < len(states) else rng.choice(states)
        city = rng.choice(CITIES[state])
        kind = rng.choices(list(INSTITUTIONS), weights=(50, 30, 20))[0]
        name = f"{places[i % len(places)]} {rng.choice(INSTITUTIONS[kind])} Internal Medicine Residency"
        if name in used:
            name = name.replace(" Internal Medicine", f" ({city}) Internal Medicine")
        used.add(name)
        out.append({
            "program_id": f"IM-{state}-{i + 1:04d}",
            "name": name,
            "city": city,
            "state": state,
            "type": kind,
            **_figures(rng, kind),
            "website": rng.choice(["", f"https://{places[i % len(places)].lower()}-im.example.org/residency"]),
            "notes": rng.choice(NOTES) if rng.random() < 0.2 else "",
        })
    return out


def _figures(rng: random.Random, kind: str) -> dict[str, str]:
    academic, community = kind == "academic", kind == "community"
    img = (rng.uniform(0, 35) if academic else rng.uniform(25, 95) if community else rng.uniform(8, 60))
    typical = round(rng.gauss(248 if academic else 232 if community else 240, 5))
    return {
        "visa_j1": _pick(rng, ("yes", 70), ("no", 12), ("unknown", 18)),
        "visa_h1b": _pick(rng, ("yes", 45 if academic else 30), ("no", 45), ("unknown", 25)),
        "img_percent": "" if rng.random() < 0.08 else (f"{img:.1f}" if rng.random() < 0.3 else str(round(img))),
        "step2_min": "" if rng.random() < 0.7 else str(typical - rng.randint(8, 18)),
        "step2_typical": "" if rng.random() < 0.15 else str(typical),
        "max_years_since_graduation": "" if rng.random() < 0.55 else rng.choice(["3", "5", "5", "7", "10"]),
        "failed_attempts": _pick(rng, ("none", 30 if academic else 15), ("one", 35), ("any", 15), ("", 25)),
        "usce_required": _pick(rng, ("yes", 30), ("no", 40), ("", 30)),
        "signals": _pick(rng, ("", 85), ("yes", 10), ("no", 5)),
    }


def _pick(rng: random.Random, *choices: tuple[str, int]) -> str:
    return rng.choices([c for c, _ in choices], weights=[w for _, w in choices])[0]


def csv_text(programs: list[dict[str, str]], comment: bool = True) -> str:
    """The spreadsheet as CSV text (LF line ends, RFC 4180 quoting), with the comment row first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if comment:
        writer.writerow([COMMENT])
    writer.writerow(COLUMNS)
    for program in programs:
        writer.writerow([program[c] for c in COLUMNS])
    return buffer.getvalue()


def main(argv: list[str] | None = None) -> int:
    """Write the spreadsheet to the path given."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--rows", type=int, default=320)
    parser.add_argument("--seed", type=int, default=2027)
    args = parser.parse_args(argv)
    args.path.write_text(csv_text(rows(args.rows, args.seed)), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
