"""Every shipped scenario and sweep (and the switches they leave off) gives the outputs recorded in
tests/golden.json, on both engines: a refactoring that changes no rule changes no number.

After a change that is meant to change the model's numbers, run ``python -m tests.golden --write`` and
say why in the commit (tests/golden.py tells what is run and hashed).
"""

from __future__ import annotations

import json

from tests import golden


def test_outputs_match_the_recorded_fingerprints():
    recorded = json.loads(golden.GOLDEN.read_text(encoding="utf-8"))
    now = golden.fingerprints()
    assert sorted(now) == sorted(recorded), "a scenario or sweep was added or removed: rerun with --write"
    changed = {k: (recorded[k], now[k]) for k in recorded if recorded[k] != now[k]}
    assert not changed, (f"{len(changed)} of {len(recorded)} outputs changed (recorded, now): {changed}; if the "
                         f"change was meant, run python -m tests.golden --write and say why in the commit")


def test_both_engines_agree_on_every_case():
    recorded = json.loads(golden.GOLDEN.read_text(encoding="utf-8"))
    cases = {k.rsplit("/", 1)[0] for k in recorded if not k.startswith("sweep/")}
    assert len(cases) >= 13
    assert [c for c in sorted(cases) if recorded[f"{c}/kernel"] != recorded[f"{c}/agents"]] == []
