"""The one ending of every output: manifest, roster, privacy check, then the atomic switch."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

from generator.load.profiles import Profile
from generator.render.html import Renderer
from generator.write import manifest, privacy, roster
from generator.write.writer import StagedOutput


def finish(staged: StagedOutput, doc: dict, renderer: Renderer, cohort: Sequence[Profile], guides: list[dict],
           ledger_path: Path | None = None, facts: Mapping[str, dict] | None = None, *,
           scanned: bool = False) -> None:
    """Write the manifest, the roster and the cohort calendar (read from the send ledger), check the staged tree
    for exposed personal data, and switch it in.

    `scanned` says the caller has already run the privacy check on the published tree as it now stands (a build
    does, to withhold the guides concerned); otherwise any finding stops here and nothing is switched in.
    """
    staged.write_text(manifest.NAME, manifest.dumps(doc))
    roster.write(staged, doc, renderer, cohort, ledger_path, facts)
    if not scanned:
        privacy.check(staged.staging, cohort, guides, privacy.vocabulary(renderer))
    staged.commit()
