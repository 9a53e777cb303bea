"""The privacy scan finds the same leaks whether it runs in this process or in forked workers."""

from __future__ import annotations

import json

import pytest

from generator.render.sheets import to_xlsx
from generator.write import privacy
from generator.errors import BuildError
from tests.conftest import make_profile
from tests.golden import build_mini


def built_mini(tmp_path, monkeypatch, parallel_from: int) -> tuple:
    """The mini cohort built, its manifest, its profiles, and the scan set to fork from `parallel_from` files."""
    out = tmp_path / "output"
    build_mini(out)
    doc = json.loads((out / "manifest.json").read_text())
    profiles = [make_profile(id=e["id"], name=e["name"], email=f"{e['id']}@example.org", source=e["source"])
                for e in doc["profiles"]]
    monkeypatch.setattr(privacy, "PARALLEL_FROM", parallel_from)
    return out, doc, profiles

@pytest.mark.parametrize("parallel_from", [10_000, 1])
def test_a_planted_name_is_found(tmp_path, monkeypatch, parallel_from):
    out, doc, profiles = built_mini(tmp_path, monkeypatch, parallel_from)
    privacy.check(out, profiles, doc["profiles"])  # clean as built
    landing = out / "site" / "index.html"
    landing.write_text(landing.read_text() + "<p>Ada   Okafor</p>")
    with pytest.raises(BuildError) as err:
        privacy.check(out, profiles, doc["profiles"])
    assert [p.source for p in err.value.problems] == ["site/index.html"]
    assert err.value.problems[0].message.startswith("published file exposes the name of ")
    assert err.value.problems[0].message.endswith("profiles/ada-okafor.yaml; refusing to publish")


@pytest.mark.parametrize("parallel_from", [10_000, 1])
def test_repeated_pieces_are_judged_per_file(tmp_path, monkeypatch, parallel_from):
    """Pieces are searched once per process; whose folder a piece is found in is still decided per file."""
    out, doc, profiles = built_mini(tmp_path, monkeypatch, parallel_from)
    ada = next(e for e in doc["profiles"] if e["id"] == "ada-okafor")
    others = [e for e in doc["profiles"] if e["id"] != "ada-okafor"]
    planted = "\n<p>Written for Ada\n   Okafor, and for Ada&#32;Okafor.</p>\n"  # wrapped, and a character reference
    for entry in [ada, *others]:  # the same piece in her own guide (allowed) and in everyone else's
        page = out / entry["html"]
        text = page.read_text()
        page.write_text(text.replace("\n<main", planted + "<main", 1))
    with pytest.raises(BuildError) as err:
        privacy.check(out, profiles, doc["profiles"])
    assert sorted({p.source for p in err.value.problems}) == sorted(e["html"] for e in others)
    assert all(p.message.endswith("ada-okafor.yaml; refusing to publish") for p in err.value.problems)


def test_each_spelling_of_a_name_is_found_in_markup(tmp_path):
    site = tmp_path / "output" / "site"
    site.mkdir(parents=True)
    profile = make_profile(id="ada-okafor", name="Ada Okafor", email="ada@example.org", source="profiles/ada-okafor.yaml")
    for i, planted in enumerate(["<p>Dear Ada\n   Okafor,</p>", "<p>Dear Ada&#32;Okafor</p>", "<p>x</p>\n<p>ADA OKAFOR</p>",
                                 "<a title=\"ada@example.org\">mail</a>"]):
        (site / f"page{i}.html").write_text(f"<!DOCTYPE html>\n<html>\n<body>\n{planted}\n</body>\n</html>\n")
    (site / "clean.html").write_text("<p>Ada</p>\n<p>Okafor</p>\n<p>Adaokafor</p>\n")  # no whole name
    with pytest.raises(BuildError) as err:
        privacy.check(tmp_path / "output", [profile], [])
    assert sorted(p.source for p in err.value.problems) == [f"site/page{i}.html" for i in range(4)]


def test_inline_tags_in_any_case_join_a_name_and_other_tags_end_blocks():
    scanner = privacy.Scanner([make_profile(id="priya-nair", name="Priya Nair", email="priya@example.org",
                                            source="profiles/priya-nair.yaml")])

    def found(page: str) -> list[str]:
        return [f.what for f in scanner.scan("site/x.html", None, privacy.readable_text(page), published_path=False)]

    assert found("<p>Pri<B>ya</B> <SPAN>Nair</SPAN></p>") == ["name"]  # the capital tag is read as inline
    assert found("<tr><TD>Priya</TD><Td>Nair</Td></tr>") == ["name"]  # cells read as spaced
    assert found("<P>Priya</P><DIV>Nair</DIV>") == []  # a block tag, in capitals too, ends a block
    shared = "<p>" + "A paragraph every guide has. " * 40 + "</p>\n"
    assert found(shared * 3) == []
    # Blocks read once are not read again; a new block among them still is, and so is the same page again.
    assert found(shared + "<p>Also see Priya Nair.</p>" + shared) == ["name"]
    assert found(shared + "<p>Also see Priya Nair.</p>" + shared) == ["name"]
    assert found(f'<img alt="priya nair">{shared}') == ["name"]  # attribute values are read, and remembered
    assert found(f'<img alt="priya nair">{shared}') == ["name"]


def test_sheets_are_read_by_rows_with_their_cells_apart():
    scanner = privacy.Scanner([make_profile(id="priya-nair", name="Priya Nair", email="priya@example.org",
                                            source="profiles/priya-nair.yaml")])

    def found(data: bytes, suffix: str) -> list[str]:
        return [f.what for f in scanner.scan("site/x", None, privacy.readable_bytes(data, suffix), published_path=False)]

    assert found(b'name,city\r\n"Priya",Nair\r\n', ".csv") == ["name"]  # cells of one record, apart
    assert found(b'id,note\r\nx,"Priya\nNair"\r\n', ".csv") == ["name"]  # a line break inside a quoted cell
    assert found(b"a,Priya\r\nNair,b\r\n", ".csv") == []  # no name runs from one record to the next
    assert found(to_xlsx([["program", "city"], ["Priya", "Nair"]]), ".xlsx") == ["name"]
    assert found(to_xlsx([["a", "Priya"], ["Nair", "b"]]), ".xlsx") == []
    rows = [["program", "city"], *([f"Hospital {i}", "Town"] for i in range(30))]
    assert found(to_xlsx(rows), ".xlsx") == []
    # The same rows at other places in another sheet, and one new row: only the new row can hold a name.
    assert found(to_xlsx([rows[0], ["Priya Nair", "Town"], *rows[1:]]), ".xlsx") == ["name"]
    assert found(b"=1+1\r\n" + "Priya Nair".encode() + b"\r\n", ".csv") == ["name"]
