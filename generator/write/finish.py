"""The one ending of every output: manifest, roster, privacy check, then the atomic switch."""

from __future__ import annotations

from typing import Sequence

from generator.load.profiles import Profile
from generator.render.html import Renderer
from generator.write import manifest, privacy, roster
from generator.write.writer import StagedOutput


def finish(staged: StagedOutput, doc: dict, renderer: Renderer, cohort: Sequence[Profile], guides: list[dict], *,
           scanned: bool = False) -> None:
    """Write the manifest and the roster, check the staged tree for exposed personal data, and switch it in.

    `scanned` says the caller has already run the privacy check on the published tree as it now stands (a build
    does, to withhold the guides concerned); otherwise any finding stops here and nothing is switched in.
    """
    staged.write_text(manifest.NAME, manifest.dumps(doc))
    staged.write_text(roster.NAME, roster.render(doc, renderer))
    if not scanned:
        privacy.check(staged.staging, cohort, guides, privacy.vocabulary(renderer))
    staged.commit()
