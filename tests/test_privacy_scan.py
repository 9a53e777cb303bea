"""The privacy scan finds the same leaks whether it runs in this process or in forked workers."""

from __future__ import annotations

import json

import pytest

from generator.write import privacy
from generator.errors import BuildError
from tests.conftest import make_profile
from tests.golden import build_mini


@pytest.mark.parametrize("parallel_from", [10_000, 1])
def test_a_planted_name_is_found(tmp_path, monkeypatch, parallel_from):
    out = tmp_path / "output"
    build_mini(out)
    doc = json.loads((out / "manifest.json").read_text())
    profiles = [make_profile(id=e["id"], name=e["name"], email=f"{e['id']}@example.org", source=e["source"])
                for e in doc["profiles"]]
    monkeypatch.setattr(privacy, "PARALLEL_FROM", parallel_from)
    privacy.check(out, profiles, doc["profiles"])  # clean as built
    landing = out / "site" / "index.html"
    landing.write_text(landing.read_text() + "<p>Ada   Okafor</p>")
    with pytest.raises(BuildError) as err:
        privacy.check(out, profiles, doc["profiles"])
    assert [p.source for p in err.value.problems] == ["site/index.html"]
    assert err.value.problems[0].message.startswith("published file exposes the name of ")
    assert err.value.problems[0].message.endswith("profiles/ada-okafor.yaml; refusing to publish")
