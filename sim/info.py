"""The Info of a shipped scenario: ``scenarios/info/NAME.md``, in the tradition of NetLogo's Info tab.

Each file has exactly the level-2 sections of :data:`SECTIONS`, in that order (an optional level-1 title
may come first). "Things to notice" states only what a test checks over many seeds, each bullet ending
with the test that backs it; ``tests/test_info.py`` holds the files to that, to real ODD anchors and to
real scenario keys.

>>> from sim.info import read_info
>>> list(read_info("baseline"))
['What it is', 'How it works', 'Things to notice', 'Things to try', 'How to cite']
"""

from __future__ import annotations

import re
from pathlib import Path

from sim.core.shipped import INFO_DIR
SECTIONS = ("What it is", "How it works", "Things to notice", "Things to try", "How to cite")

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
_FIGURES = re.compile(r"^<!-- /?figures:")


class InfoError(ValueError):
    """An Info file that does not have exactly the sections of :data:`SECTIONS`; the message names the file."""


def info_path(name: str) -> Path:
    """``scenarios/info/NAME.md`` for a scenario name (``"baseline"``); the file need not exist."""
    if not isinstance(name, str) or not _NAME.fullmatch(name) or ".." in name:
        raise InfoError(f"Info: {name!r} is not a scenario name (letters, digits, '-', '_' and '.')")
    return INFO_DIR / f"{name}.md"


def read_info(name: str) -> dict[str, str]:
    """The sections of a scenario's Info, ``{title: markdown}`` in the order of :data:`SECTIONS`.

    Raises :class:`FileNotFoundError` when the scenario has no Info file, and :class:`InfoError` naming
    the file and the section when a section is missing, extra, repeated, out of order or empty.
    """
    path = info_path(name)
    if not path.is_file():
        raise FileNotFoundError(f"no Info for scenario {name!r}: {path} not found")
    text = path.read_text(encoding="utf-8")
    where = f"{path.parent.parent.name}/{path.parent.name}/{path.name}"
    found: list[tuple[str, list[str]]] = []
    preamble: list[str] = []
    fenced = False
    for line in text.splitlines():
        if _FIGURES.match(line):  # the markers of a generated block (mutualaid docs) are not the page's text
            continue
        if _FENCE.match(line):
            fenced = not fenced
        heading = None if fenced else re.match(r"^## +(.+?)\s*#*\s*$", line)
        if heading:
            found.append((heading.group(1), []))
        elif found:
            found[-1][1].append(line)
        else:
            preamble.append(line)
    if any(s.strip() and not s.startswith("# ") for s in preamble):
        raise InfoError(f"{where}: text before the first section (only a '# title' may come first)")
    titles = [t for t, _ in found]
    for title in titles:
        if title not in SECTIONS:
            raise InfoError(f"{where}: unexpected section '## {title}'; the sections are: "
                            + ", ".join(f"'## {s}'" for s in SECTIONS))
        if titles.count(title) > 1:
            raise InfoError(f"{where}: section '## {title}' appears {titles.count(title)} times")
    for title in SECTIONS:
        if title not in titles:
            raise InfoError(f"{where}: missing section '## {title}'")
    if tuple(titles) != SECTIONS:
        raise InfoError(f"{where}: sections out of order: {', '.join(titles)}; expected {', '.join(SECTIONS)}")
    out = {title: "\n".join(body).strip() for title, body in found}
    for title, body in out.items():
        if not body:
            raise InfoError(f"{where}: section '## {title}' is empty")
    return out
