"""Publishing: the Pages workflow, a site that works at a subpath and from disk, capability URLs, privacy, roster."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import pytest
import yaml
from pypdf import PdfReader

from generator.cli import main
from generator.errors import BuildError
from generator.write.privacy import check as privacy_check
from tests.conftest import ROOT, make_profile

AS_OF = "2026-11-25"
KEY = "publish-test-site-key-0123456789"
CANARY_NOTE = "CANARY-NOTE-q8z3v7 keep this between us"
CANARY = {"id": "zephyrine-quillfeather", "name": "Zephyrine Quillfeather", "email": "zq.canary-5kx2@example.org"}
WORKFLOWS = ROOT / ".github" / "workflows"


# ---------------------------------------------------------------- helpers

def make_project(root: Path, *, profiles: list[str] | None = None) -> Path:
    """A copy of content/ and themes/, the sample profiles (or some of them), a canary and one invalid profile."""
    root.mkdir(parents=True, exist_ok=True)
    for name in ("content", "themes"):
        shutil.copytree(ROOT / name, root / name)
    (root / "profiles").mkdir()
    for path in sorted((ROOT / "profiles").glob("*.yaml")):
        if profiles is None or path.stem in profiles:
            shutil.copy(path, root / "profiles" / path.name)
    write_profile(root, CANARY["id"], CANARY["name"], CANARY["email"], notes=CANARY_NOTE)
    (root / "profiles" / "broken.yaml").write_text(
        "name: Broken Profile\nemail: broken@example.org\ngraduation_year: 2020\n"
        "step1: {result: pass, attempts: 1}\nstep2_ck: {result: pass, score: two hundred, attempts: 1}\n", "utf-8")
    return root


def write_profile(root: Path, pid: str, name: str, email: str, *, notes: str = "Private advisor remark.") -> None:
    """A valid profile with an advisor and notes, copied from the sample shape."""
    doc = {
        "name": name, "email": email, "graduation_year": 2021, "cycle": 2027,
        "step1": {"result": "pass", "attempts": 1},
        "step2_ck": {"result": "pass", "score": 241, "attempts": 1, "exam_date": "2026-06-02"},
        "visa": "j1", "usce_months": 3, "us_lors": 2, "advisor": "Dr. Okafor", "notes": notes,
    }
    text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True).replace("'2026-06-02'", "2026-06-02")
    (root / "profiles" / f"{pid}.yaml").write_text(text, "utf-8")


def build(project: Path, monkeypatch: pytest.MonkeyPatch, *args: str, key: str = KEY) -> int:
    """`matchguide build` through the real CLI, run in the project folder."""
    monkeypatch.chdir(project)
    monkeypatch.setenv("MATCHGUIDE_SITE_KEY", key)
    return main(["build", "--as-of", AS_OF, "--quiet", *args])


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under a folder with the hash of its bytes."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


class Refs(HTMLParser):
    """Every URL a page refers to (href, src, srcset, action, CSS url()), and its meta tags."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.urls: list[str] = []
        self.meta: dict[str, str] = {}
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        values = dict(attrs)
        for name in ("href", "src", "action", "poster", "data", "formaction", "xlink:href"):
            if values.get(name) is not None:
                self.urls.append(values[name].strip())
        if values.get("srcset"):
            self.urls += [part.strip().split()[0] for part in values["srcset"].split(",") if part.strip()]
        if tag == "meta" and values.get("name"):
            self.meta[values["name"].lower()] = values.get("content") or ""
        self.urls += css_urls(values.get("style") or "")

    def handle_data(self, data: str) -> None:
        if self.tags and self.tags[-1] == "style":
            self.urls += css_urls(data)


def css_urls(css: str) -> list[str]:
    """The URLs of `url(...)` and `@import` in a style sheet."""
    found = re.findall(r"""url\(\s*['"]?([^'")\s]*)""", css) + re.findall(r"""@import\s+['"]([^'"]+)""", css)
    return [u for u in found if u]


def refs(path: Path) -> Refs:
    """Parse one HTML file."""
    parser = Refs()
    parser.feed(path.read_text("utf-8"))
    return parser


def site_urls(site: Path) -> list[tuple[Path, str]]:
    """Every (file, URL) of every HTML and CSS file of the site."""
    found = []
    for path in sorted(site.rglob("*")):
        if path.suffix == ".html":
            found += [(path, u) for u in refs(path).urls]
        elif path.suffix == ".css":
            found += [(path, u) for u in css_urls(path.read_text("utf-8"))]
    return found


def guide_slugs(out: Path) -> list[str]:
    """The guide folder names of a build."""
    return sorted(p.name for p in (out / "site" / "g").iterdir())


def expected_slug(key: str, applicant_id: str) -> str:
    """HMAC-SHA256(key, id), lowercase base32, 26 characters (130 bits): computed here, not by the generator."""
    digest = hmac.new(key.encode(), applicant_id.encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode().lower()[:26]


@pytest.fixture(scope="module")
def html_build(tmp_path_factory) -> Path:
    """The sample cohort, a canary and a broken profile, HTML only."""
    project = make_project(tmp_path_factory.mktemp("html"))
    with pytest.MonkeyPatch.context() as mp:
        assert build(project, mp, "--no-pdf") == 1  # the broken profile is reported; every other guide is built
    return project / "output"


@pytest.fixture(scope="module")
def pdf_build(tmp_path_factory) -> Path:
    """Two applicants (one the canary) and a broken profile, with PDFs."""
    project = make_project(tmp_path_factory.mktemp("pdf"), profiles=["aisha-rahman"])
    with pytest.MonkeyPatch.context() as mp:
        assert build(project, mp, "--jobs", "2") == 1
    return project / "output"


@pytest.fixture(params=["html_build", "pdf_build"])
def output(request) -> Path:
    return request.getfixturevalue(request.param)


# ---------------------------------------------------------------- the workflows

def load_workflow(name: str) -> dict:
    doc = yaml.safe_load((WORKFLOWS / name).read_text("utf-8"))
    doc["on"] = doc.pop(True, doc.get("on"))  # YAML 1.1 reads the key `on` as true
    return doc


def steps_using(job: dict, action: str) -> list[dict]:
    return [s for s in job["steps"] if s.get("uses", "").split("@")[0] == action]


def test_pages_workflow_builds_shards_merges_and_deploys():
    wf = load_workflow("pages.yml")
    assert {"push", "workflow_dispatch"} <= set(wf["on"]) and wf["on"]["push"]["branches"] == ["main"]
    assert wf["concurrency"]["group"] and wf["concurrency"]["cancel-in-progress"] is False
    assert wf["permissions"] == {"contents": "read"}  # each job asks only for what it needs
    jobs = wf["jobs"]
    pinned = {"actions/checkout": "v4", "actions/setup-python": "v5", "actions/upload-artifact": "v4",
              "actions/download-artifact": "v4", "actions/configure-pages": "v5",
              "actions/upload-pages-artifact": "v3", "actions/deploy-pages": "v4"}
    used = {s["uses"] for job in jobs.values() for s in job["steps"] if "uses" in s}
    assert used == {f"{a}@{v}" for a, v in pinned.items()}

    shard = jobs["build"]
    ks = shard["strategy"]["matrix"]["shard"]
    assert ks == list(range(1, len(ks) + 1)) and len(ks) >= 2
    assert shard["env"]["MATCHGUIDE_SITE_KEY"] == "${{ secrets.MATCHGUIDE_SITE_KEY }}"
    runs = [s.get("run", "") for s in shard["steps"]]
    make = [r for r in runs if r.startswith("make build")]
    assert len(make) == 1 and "--shard ${{ matrix.shard }}/${{ strategy.job-total }}" in make[0]
    assert "AS_OF=\"${{ needs.plan.outputs.as_of }}\"" in make[0] and "plan" in shard["needs"]
    assert any("-z \"$MATCHGUIDE_SITE_KEY\"" in r and "exit 1" in r for r in runs)  # no secret, no build
    (upload,) = steps_using(shard, "actions/upload-artifact")
    assert upload["with"]["name"] == "shard-${{ matrix.shard }}" and upload["with"]["path"] == "output/"
    assert upload["with"]["include-hidden-files"] is True  # .nojekyll survives
    assert upload["with"]["retention-days"] <= 1

    merge = jobs["merge"]
    assert set(merge["needs"]) >= {"build"} and merge["env"]["MATCHGUIDE_SITE_KEY"].startswith("${{ secrets.")
    order = [s.get("uses", s.get("run", "")).split("@")[0] for s in merge["steps"]]
    merge_run = next(r for r in order if "matchguide merge" in r)
    assert merge_run.split()[1:] == ["merge", "output", "shards/shard-*"]
    (download,) = steps_using(merge, "actions/download-artifact")
    assert download["with"] == {"pattern": "shard-*", "path": "shards/"}
    assert (order.index("actions/download-artifact") < order.index(merge_run) < order.index("actions/configure-pages")
            < order.index("actions/upload-pages-artifact"))
    (pages_upload,) = steps_using(merge, "actions/upload-pages-artifact")
    assert pages_upload["with"]["path"] == "output/site/"  # the site only: never the manifest, roster or pdf/

    deploy = jobs["deploy"]
    assert deploy["needs"] == "merge"
    assert deploy["permissions"] == {"pages": "write", "id-token": "write", "contents": "read"}
    assert deploy["environment"] == {"name": "github-pages", "url": "${{ steps.deployment.outputs.page_url }}"}
    (step,) = steps_using(deploy, "actions/deploy-pages")
    assert step["id"] == "deployment"
    for name, job in jobs.items():
        assert "pages" not in job.get("permissions", {}) or name in ("merge", "deploy")
        assert "id-token" not in job.get("permissions", {}) or name == "deploy"


def test_ci_workflow_runs_the_ci_script():
    wf = load_workflow("ci.yml")
    assert {"push", "pull_request"} <= set(wf["on"])
    (job,) = wf["jobs"].values()
    assert [s["run"] for s in job["steps"] if "run" in s][-1] == "bash .ci/run"
    assert job["timeout-minutes"] <= 90 and (ROOT / ".ci" / "run").is_file()


def test_makefile_build_passes_the_build_date():
    text = (ROOT / "Makefile").read_text()
    assert re.search(r"^build:.*\n\t.*matchguide build --as-of \$\(AS_OF\) \$\(ARGS\)", text, re.M)


# ---------------------------------------------------------------- a site that works anywhere

def test_every_link_is_relative_and_resolves_inside_the_site(output: Path):
    site = output / "site"
    urls = site_urls(site)
    assert len(urls) > 20
    for path, url in urls:
        parts = urlsplit(url)
        if parts.scheme in ("data", "mailto") or url.startswith("#"):
            continue
        assert not parts.scheme and not parts.netloc and not url.startswith("/"), f"{path}: {url}"
        target = PurePosixPath(path.relative_to(site).parent.as_posix()) / parts.path
        resolved = (site / target).resolve()
        assert resolved.is_relative_to(site.resolve()), f"{path}: {url} leaves the site (breaks at a subpath)"
        assert resolved.is_file(), f"{path}: {url} points at nothing"


def test_no_third_party_resources_and_no_scripts(output: Path):
    for path in (p for p in (output / "site").rglob("*") if p.suffix in (".html", ".css")):
        text = path.read_text("utf-8")
        assert not re.search(r"""(src|href|action)\s*=\s*["']?\s*(https?:)?//""", text, re.I), path
        assert not re.search(r"""url\(\s*['"]?\s*(https?:)?//""", text, re.I), path
        assert "<script" not in text.lower(), path


def test_nojekyll_and_a_404_page_that_works_at_any_depth(output: Path):
    site = output / "site"
    assert (site / ".nojekyll").is_file()
    page = refs(site / "404.html")
    assert page.meta["robots"].replace(" ", "") == "noindex,nofollow"
    # Pages serves 404.html for a missing address at any depth: a relative link in it would break.
    assert all(u.startswith(("data:", "#")) for u in page.urls), page.urls


def test_guides_are_unlisted(output: Path):
    site = output / "site"
    slugs = guide_slugs(output)
    landing = (site / "index.html").read_text("utf-8")
    assert slugs and not any(s in landing for s in slugs)
    assert not [u for u in refs(site / "index.html").urls if "g/" in u]
    assert not (site / "g" / "index.html").exists()
    assert not list(site.rglob("sitemap*")) and not (site / "robots.txt").exists()
    for path in (p for p in site.rglob("*") if p.is_file()):
        rel = path.relative_to(site).as_posix()
        text = path.read_bytes()
        for s in slugs:
            assert rel.startswith(f"g/{s}/") or s.encode() not in text, f"{rel} names the guide {s}"


def test_guides_carry_noindex_and_no_referrer(output: Path):
    for guide in (output / "site" / "g").glob("*/index.html"):
        meta = refs(guide).meta
        assert {t.strip() for t in meta["robots"].split(",")} >= {"noindex", "nofollow"}, guide
        assert meta["referrer"] == "no-referrer", guide


def test_published_files_carry_no_email_and_no_advisor_notes(output: Path):
    doc = json.loads((output / "manifest.json").read_text())
    canary = next(e for e in doc["profiles"] if e["id"] == CANARY["id"])
    emails = [yaml.safe_load(p.read_text())["email"] for p in (output.parent / "profiles").glob("*.yaml")]
    for path in (p for p in (output / "site").rglob("*") if p.is_file()):
        data = path.read_bytes()
        texts = [data.decode("utf-8", "replace")]
        if path.suffix == ".pdf":
            texts.append("\n".join(page.extract_text() for page in PdfReader(path).pages))
        for text in texts:
            assert "CANARY-NOTE" not in text and "q8z3v7" not in text, path
            assert not [e for e in emails if e in text], path
            addresses = re.findall(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", text)
            assert all(a.endswith("@matchguide.invalid") for a in addresses), (path, addresses)  # calendar UIDs
    guide = (output / canary["html"]).read_text("utf-8")
    assert CANARY["name"] in guide  # the guide itself is personal: the check above is not vacuous
    if canary["pdf"]:
        pdf = PdfReader(output / canary["html"].replace("index.html", "guide.pdf"))
        assert CANARY["name"] in "".join(p.extract_text() for p in pdf.pages)


# ---------------------------------------------------------------- capability URLs

def test_guide_addresses_are_hmacs_of_the_id(html_build: Path):
    doc = json.loads((html_build / "manifest.json").read_text())
    assert len(doc["profiles"]) >= 16
    for entry in doc["profiles"]:
        s = expected_slug(KEY, entry["id"])
        assert entry["html"] == f"site/g/{s}/index.html"
        assert re.fullmatch(r"[a-z2-7]{26}", s)  # 26 base32 characters = 130 bits
        first, last = entry["name"].lower().split()[0], entry["name"].lower().split()[-1]
        assert entry["id"] not in s and first not in s and last not in s


def test_addresses_are_stable_with_a_key_and_change_with_another(tmp_path: Path, monkeypatch, html_build: Path):
    project = make_project(tmp_path / "p", profiles=["aisha-rahman", "linh-nguyen"])
    assert build(project, monkeypatch, "--no-pdf", "--out", "one") == 1
    assert build(project, monkeypatch, "--no-pdf", "--out", "two", "--force") == 1
    assert build(project, monkeypatch, "--no-pdf", "--out", "other", key="a-different-site-key-987654321") == 1
    one, two, other = (guide_slugs(project / d) for d in ("one", "two", "other"))
    assert one == two and len(one) == 3
    assert set(one) <= set(guide_slugs(html_build))  # the same key gives the same address in any build
    assert not set(one) & set(other)
    assert other == sorted(expected_slug("a-different-site-key-987654321", i)
                           for i in ("aisha-rahman", "linh-nguyen", CANARY["id"]))


# ---------------------------------------------------------------- the privacy check

def plant(project: Path, template: str, text: str) -> None:
    """Put literal text into a theme template, just after <main...> (or <body>)."""
    path = project / "themes" / "default" / template
    source = path.read_text("utf-8")
    anchor = re.search(r"<main[^>]*>|<body[^>]*>", source)
    path.write_text(source[:anchor.end()] + text + source[anchor.end():], "utf-8")


@pytest.fixture()
def built(tmp_path: Path, monkeypatch) -> Path:
    """A small project with a first, good build in output/."""
    project = make_project(tmp_path / "p", profiles=["aisha-rahman", "priya-nair"])
    assert build(project, monkeypatch, "--no-pdf") == 1
    return project


def refused(project: Path, monkeypatch, capsys, *args: str) -> str:
    """Build again; the build must fail and leave the previous output exactly as it was."""
    before = snapshot(project / "output")
    capsys.readouterr()
    assert build(project, monkeypatch, "--no-pdf", *args) == 1
    err = capsys.readouterr().err
    assert snapshot(project / "output") == before
    assert "refusing to publish" in err and "the previous output was left as it was" in err
    return err


def test_a_name_on_the_landing_page_fails_the_build(built: Path, monkeypatch, capsys):
    plant(built, "landing.html", "<p>Congratulations to Priya Nair!</p>")
    err = refused(built, monkeypatch, capsys)
    assert "error: site/index.html: published file exposes the name of profiles/priya-nair.yaml" in err


def test_an_escaped_name_is_still_found(built: Path, monkeypatch, capsys):
    write_profile(built, "siobhan-obrien", "Siobhán O'Brien", "siobhan@example.org")
    plant(built, "landing.html", "<p>{{ \"Well done, Siobhán O'Brien\" }}</p>")  # autoescaped: O&#39;Brien
    err = refused(built, monkeypatch, capsys)
    assert "site/index.html: published file exposes the name of profiles/siobhan-obrien.yaml" in err


def test_a_name_wrapped_across_lines_is_still_found(built: Path, monkeypatch, capsys):
    plant(built, "404.html", "<p>Aisha\n    Rahman</p>")
    err = refused(built, monkeypatch, capsys)
    assert "site/404.html: published file exposes the name of profiles/aisha-rahman.yaml" in err


def withheld(project: Path, monkeypatch, capsys, *args: str) -> tuple[str, dict, dict]:
    """Build again; the build reports problems (exit 1) and switches in: (stderr, guides before, manifest after)."""
    before = {e["id"]: e for e in json.loads((project / "output" / "manifest.json").read_text())["profiles"]}
    capsys.readouterr()
    assert build(project, monkeypatch, "--no-pdf", *args) == 1
    err = capsys.readouterr().err
    assert "refusing to publish" not in err and "previous output was left" not in err
    return err, before, json.loads((project / "output" / "manifest.json").read_text())


def test_an_email_in_a_guide_withholds_that_guide_and_keeps_its_last_good_version(built: Path, monkeypatch, capsys):
    plant(built, "layouts/guide.html", "{% if f.name == 'Aisha Rahman' %}<p>Write to aisha.rahman@example.org</p>"
                                       "{% endif %}")
    old_page = {p: (built / "output" / p).read_bytes() for p in ("site/index.html",)}
    before_aisha = (built / "output" / json.loads((built / "output" / "manifest.json").read_text())["profiles"][0]["html"])
    before_bytes = before_aisha.read_bytes()
    err, before, after = withheld(built, monkeypatch, capsys, "--force")
    guide = before["aisha-rahman"]["html"]
    assert (f"error: {guide}: published file exposes the email of profiles/aisha-rahman.yaml; "
            "the guide of profiles/aisha-rahman.yaml is withheld") in err  # even in her own guide
    assert [e["id"] for e in after["kept_previous"]] == ["aisha-rahman"]  # her last good guide stays published
    assert before_aisha.read_bytes() == before_bytes and b"aisha.rahman@" not in before_bytes
    assert "priya-nair" in {e["id"] for e in after["profiles"]}  # everyone else is published
    assert (built / "output" / "site" / "index.html").read_bytes() == old_page["site/index.html"]


def test_a_name_in_another_applicants_guide_withholds_only_that_guide(built: Path, monkeypatch, capsys):
    plant(built, "layouts/guide.html", "{% if f.name != 'Priya Nair' %}<p>Also see Priya <b>Nair</b>'s plan.</p>"
                                       "{% endif %}")
    err, before, after = withheld(built, monkeypatch, capsys)
    assert (f"{before['aisha-rahman']['html']}: published file exposes the name of profiles/priya-nair.yaml; "
            "the guide of profiles/aisha-rahman.yaml is withheld") in err
    assert f"{before['priya-nair']['html']}: published" not in err  # her own guide may name her
    assert "aisha-rahman" in {e["id"] for e in after["kept_previous"]}
    assert "priya-nair" in {e["id"] for e in after["profiles"]}


def test_an_id_that_is_a_word_of_the_landing_page_blocks_nothing(built: Path, monkeypatch, capsys):
    assert re.search(r"\binternal\b", (built / "output" / "site" / "index.html").read_text())
    write_profile(built, "internal", "Ines Ternal", "ines@example.org")
    err, _, after = withheld(built, monkeypatch, capsys)  # exit 1 for broken.yaml only
    assert "exposes" not in err and "internal" in {e["id"] for e in after["profiles"]}


def test_a_failed_first_build_publishes_nothing(tmp_path: Path, monkeypatch, capsys):
    project = make_project(tmp_path / "p", profiles=["aisha-rahman"])
    plant(project, "landing.html", "<p>Aisha Rahman</p>")
    assert build(project, monkeypatch, "--no-pdf") == 1
    assert "refusing to publish" in capsys.readouterr().err
    assert not (project / "output").exists() and not list(project.glob(".output.*staging"))


def test_the_check_finds_each_pdf_read_already_by_the_worker_that_wrote_it(tmp_path: Path, monkeypatch):
    from generator.write import privacy

    project = make_project(tmp_path / "p", profiles=["aisha-rahman", "priya-nair"])
    (project / "profiles" / "broken.yaml").unlink()
    read_before: list[bool] = []
    real = privacy.cached_text

    def cached_text(data: bytes, cache: Path | None) -> list[str]:
        assert cache is not None
        read_before.append((cache / f"{hashlib.sha256(data).hexdigest()}.json").is_file())
        return real(data, cache)

    monkeypatch.setattr(privacy, "cached_text", cached_text)  # the check's reading, in this process only
    assert build(project, monkeypatch) == 0
    assert read_before == [True] * 3  # one published PDF per guide, each read while the PDFs were made


def test_privacy_check_on_a_tree(tmp_path: Path):
    person = make_profile(id="ana-souza", name="Ana Souza", email="ana@example.org", source="profiles/ana-souza.yaml")
    entries = [{"id": "ana-souza", "html": "site/g/abc/index.html"}]
    own = tmp_path / "site" / "g" / "abc"
    own.mkdir(parents=True)
    (own / "index.html").write_text("<h1>ANA SOUZA</h1> bananas, ana-souzas", "utf-8")
    (tmp_path / "site" / "index.html").write_text("Havana, banana, Anastasia", "utf-8")
    privacy_check(tmp_path, [person], entries)  # her name in her own guide; no whole-word match elsewhere
    leak = tmp_path / "site" / "g" / "ana-souza" / "index.html"
    leak.parent.mkdir()
    leak.write_text("nothing personal", "utf-8")
    with pytest.raises(BuildError) as caught:
        privacy_check(tmp_path, [person], entries)
    assert [str(p) for p in caught.value.problems] == [
        "site/g/ana-souza/index.html: published file exposes the id of profiles/ana-souza.yaml; refusing to publish"]


# ---------------------------------------------------------------- the roster

class Roster(HTMLParser):
    """The roster's table rows (text and links of each cell) and its error list."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[list[dict]] = []
        self.errors: list[str] = []
        self._cell: dict | None = None
        self._in_errors = False
        self._applicant = False
        self._item: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "tr":
            self._applicant = (values.get("id") or "").startswith("a-")  # the applicant table, not the figures
            if self._applicant:
                self.rows.append([])
        elif tag == "td" and self._applicant:
            self._cell = {"text": "", "links": []}
            self.rows[-1].append(self._cell)
        elif tag == "a" and self._cell is not None:
            self._cell["links"].append(values.get("href"))
        elif tag == "ul" and "errors" in (values.get("class") or ""):
            self._in_errors = True
        elif tag == "li" and self._in_errors:
            self._item = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self._cell = None
        elif tag == "li" and self._item is not None:
            self.errors.append("".join(self._item).strip())
            self._item = None
        elif tag == "ul":
            self._in_errors = False

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell["text"] += data
        if self._item is not None:
            self._item.append(data)


def test_roster_lists_every_applicant_and_every_error(pdf_build: Path):
    output = pdf_build
    doc = json.loads((output / "manifest.json").read_text())
    assert len(doc["profiles"]) == 2 and doc["errors"]
    assert not list((output / "site").rglob("roster*"))  # the roster is never published
    parser = Roster()
    parser.feed((output / "roster.html").read_text("utf-8"))
    rows = [r for r in parser.rows if r]
    assert len(rows) == len(doc["profiles"])
    for entry, row in zip(doc["profiles"], rows):
        text = " ".join(c["text"] for c in row)
        assert entry["name"] in row[0]["text"] and entry["id"] in row[0]["text"]
        assert row[1]["text"].startswith(entry["band"])
        programs = entry["programs"]
        assert (f"{programs['min']}–{programs['max']}" if programs else "—") in text
        assert all(flag in text for flag in entry["flags"])
        links = [link for c in row for link in c["links"]]
        assert links == [entry["html"], entry["pdf"]]
        assert all((output / link).is_file() for link in links)  # relative to output/, where the roster is
    assert len(parser.errors) == len(doc["errors"]) >= 1
    for err, shown in zip(doc["errors"], parser.errors):
        where = err["source"] if err["line"] is None else f"{err['source']}:{err['line']}"
        assert shown.startswith(f"{where}: ") and err["message"] in shown
    assert any("broken.yaml" in e and "step2_ck.score" in e for e in parser.errors)


# ---------------------------------------------------------------- in a browser: at a project subpath and from disk

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
REPO = "cohort-guides"


class ProjectPages:
    """Serves a site like GitHub Pages serves a project site: under /<repo>/, its 404.html for anything missing."""

    def __init__(self, site: Path):
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.outside: list[str] = []  # requests that left /<repo>/: a link that breaks at a subpath
        pages = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                if not path.startswith(f"/{REPO}/"):
                    pages.outside.append(path)
                    return self.send_error(404)
                rel = path.removeprefix(f"/{REPO}/")
                target = site / (rel + "index.html" if rel.endswith("/") or not rel else rel)
                status = 200 if target.is_file() and target.resolve().is_relative_to(site.resolve()) else 404
                served = target if status == 200 else site / "404.html"
                body = served.read_bytes()
                kind = {".html": "text/html", ".css": "text/css", ".pdf": "application/pdf"}.get(
                    served.suffix, "application/octet-stream")
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}/{REPO}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM} (Debian package `chromium`)")
def test_the_site_works_at_a_project_subpath_and_from_disk(pdf_build: Path):
    from playwright.sync_api import sync_playwright

    site = pdf_build / "site"
    guide = json.loads((pdf_build / "manifest.json").read_text())["profiles"][0]["html"].removeprefix("site/")
    server = ProjectPages(site)
    problems: list[str] = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.on("requestfailed", lambda r: problems.append(f"failed: {r.url}"))
            page.on("response", lambda r: r.status >= 400 and not r.url.endswith("/missing/page")
                    and problems.append(f"HTTP {r.status}: {r.url}"))
            page.goto("about:blank")
            unstyled = page.evaluate("getComputedStyle(document.body).fontFamily")
            for start in (server.base + guide, (site / guide).as_uri()):
                page.goto(start, wait_until="load")
                assert page.evaluate("getComputedStyle(document.body).fontFamily") != unstyled, start  # CSS loaded
                links = page.eval_on_selector_all("a[href]:not([href^='#'])", "as => as.map(a => a.href)")
                assert len(links) >= 3 and all(link.startswith(start.rsplit("/", 1)[0].rsplit("/g/", 1)[0])
                                               for link in links), links
                for link in links:  # home page, PDF, calendar: each one there, inside the site
                    if start.startswith("http"):
                        assert page.request.get(link).status == 200, link
                    else:
                        assert Path(urlsplit(link).path).is_file(), link
                page.click("a[href$='index.html']")  # back to the landing page
                page.wait_for_load_state("load")
                assert page.evaluate("getComputedStyle(document.body).fontFamily") != unstyled
                assert "Looking for your guide?" in page.content()
            response = page.goto(server.base + "g/missing/page")
            assert response.status == 404 and "This page does not exist" in page.content()
            browser.close()
    finally:
        server.close()
    assert problems == [] and server.outside == []
