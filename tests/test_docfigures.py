"""Figures in prose are generated: every marked block of the README, docs/ and scenarios/info/ is the text
``mutualaid docs`` wrote (sim/experiments/docfigures.py).

- every block's recorded hash matches its text, so a hand edit fails here without rerunning anything
  (and an edit of a copy is caught, by the check and by the command);
- cheap blocks, regenerated here, give the committed text exactly;
- the README sections whose figures were converted hold no run figure outside a block;
- ``mutualaid docs --check`` exits 2 with one line naming a stale block.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from sim.experiments import docfigures as df

ROOT = Path(__file__).resolve().parent.parent


def _blocks() -> list[df.Block]:
    out = []
    for p in df.doc_paths(ROOT):
        out += df.find_blocks(p.read_text(encoding="utf-8"), str(p.relative_to(ROOT)))
    return out


def test_every_block_is_registered_and_matches_its_hash():
    blocks = _blocks()
    assert blocks, "no figure blocks found"
    for b in blocks:
        assert b.name in df.REGISTRY, f"{b.path}: unknown figure block {b.name}"
        assert not b.hand_edited, \
            f"{b.path}: figure block {b.name} was edited by hand: run mutualaid docs --only {b.name}"
        fig = df.REGISTRY[b.name]
        assert (b.attrs["command"], b.attrs["seeds"]) == (fig.command, fig.seeds), b.name
        assert re.fullmatch(r"[0-9a-f]{12}(\+changes)?", b.attrs["commit"]), (b.name, b.attrs["commit"])
    assert set(df.REGISTRY) <= {b.name for b in blocks}, "a registered figure block is in no document"


def _copy(tmp_path: Path) -> Path:
    """A copy of the checkout's documents (the files :data:`docfigures.DOC_FILES` names)."""
    for p in df.doc_paths(ROOT):
        dest = tmp_path / p.relative_to(ROOT)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(p, dest)
    (tmp_path / "pyproject.toml").write_text("", encoding="utf-8")
    return tmp_path


def _edit_a_figure(path: Path, name: str) -> None:
    """Change one digit inside block ``name`` of ``path``, as a hand edit would."""
    text = path.read_text(encoding="utf-8")
    b = next(b for b in df.find_blocks(text) if b.name == name)
    inside = text[b.start:b.end]
    head, body = inside.split("\n", 1)
    m = re.search(r"\d", body)
    body = body[:m.start()] + str((int(m.group(0)) + 1) % 10) + body[m.end():]
    path.write_text(text[:b.start] + head + "\n" + body + text[b.end:], encoding="utf-8")


def test_a_hand_edit_of_a_copy_is_found_without_rerunning(tmp_path):
    root = _copy(tmp_path)
    readme = root / "README.md"
    assert not any(b.hand_edited for b in df.find_blocks(readme.read_text(encoding="utf-8")))
    _edit_a_figure(readme, "tour-nowak-may")
    edited = [b.name for b in df.find_blocks(readme.read_text(encoding="utf-8")) if b.hand_edited]
    assert edited == ["tour-nowak-may"]
    # a check that reruns nothing (only the instant YAML block) still names it
    out = df.update(root, check=True, only=["sweep-checkins-x-isolation-yaml"])
    assert len(out.problems) == 1 and "tour-nowak-may" in out.problems[0] and "by hand" in out.problems[0]


def test_markers_must_pair():
    with pytest.raises(df.DocsError, match="no end marker"):
        df.find_blocks('<!-- figures:x command="" seeds="" commit="" sha="" -->\ntext\n')
    with pytest.raises(df.DocsError, match="not a block's begin or end"):
        df.find_blocks("text\n<!-- /figures:x -->\n")


@pytest.mark.parametrize("name", ["sweep-checkins-x-isolation-yaml", "tour-nowak-may", "tour-struggle-kropotkin",
                                  "tour-kropotkin-variants"])
def test_a_cheap_block_regenerated_gives_the_committed_text(name):
    """The YAML is the shipped file; the others rerun their scenarios (a few seconds)."""
    assert df.REGISTRY[name].cheap
    out = df.update(ROOT, check=True, only=[name])
    assert not out.problems, out.problems
    assert out.current == [name]


#: figures left in the converted sections on purpose (a pattern of the text around them), each with why it is
#: not a run's; they are taken out before the search
NOT_RUN_FIGURES = {
    r"near the 0\.318 Nowak & May report": "Nowak & May's (1992) published share, the literature the run is set beside",
    r"docs/ODD\.md 1\.4\b": "a section of docs/ODD.md",
    r"parameter table \(7\.12\)": "a section of docs/ODD.md",
    r"\b95 % (intervals|bands)": "the level of the intervals, a setting",
}


def _section(text: str, heading: str) -> str:
    i = text.index(heading)
    m = re.compile(r"^#{2,3} ", re.M).search(text, i + len(heading))
    return text[i:m.start() if m else len(text)]


@pytest.mark.parametrize("heading", ["### Educators: when does cooperation win?",
                                     "### Trainers: what does outreach do?", "## Validation"])
def test_converted_readme_sections_quote_no_run_figure_outside_a_block(heading):
    text = df.strip_blocks((ROOT / "README.md").read_text(encoding="utf-8"))
    prose = re.sub(r"^```.*?^```", "", _section(text, heading), flags=re.M | re.S)
    prose = " ".join(prose.split())
    for pattern in NOT_RUN_FIGURES:
        prose = re.sub(pattern, "", prose)
    stray = re.findall(r"(?<![\w.])(?:[+-]?\d+\.\d+|\d+(?:\.\d+)? ?%)", prose)
    assert not stray, f"{heading}: figures outside a generated block: {stray} (put them in a figure block of " \
                      f"sim/experiments/docfigures.py, or say in NOT_RUN_FIGURES why they are not a run's)"


def _error_lines(capsys) -> list[str]:
    """stderr without the progress lines ("docs: NAME: COMMAND ..."), which a terminal or a log shows."""
    return [line for line in capsys.readouterr().err.strip().splitlines() if not line.startswith("docs: ")]


def test_docs_check_exits_2_with_one_line_naming_the_stale_block(tmp_path, monkeypatch, capsys):
    from sim import cli

    root = _copy(tmp_path)
    monkeypatch.setattr(df, "checkout_root", lambda: root)
    name = "sweep-checkins-x-isolation-yaml"
    assert cli.main(["docs", "--check", "--only", name]) == 0
    capsys.readouterr()
    # stale: a valid block (its hash holds) whose text is not what the command writes now
    readme = root / "README.md"
    text = readme.read_text(encoding="utf-8")
    b = next(b for b in df.find_blocks(text) if b.name == name)
    fig = df.REGISTRY[name]
    old = df.render(name, fig.command, fig.seeds, "0123456789ab", b.text.replace("seed: 2024", "seed: 2023"))
    readme.write_text(text[:b.start] + old + text[b.end:], encoding="utf-8")
    assert cli.main(["docs", "--check", "--only", name]) == 2
    err = _error_lines(capsys)
    assert len(err) == 1 and name in err[0] and "differs from a new run" in err[0], err
    # the same command without --check rewrites it, and then the check passes
    assert cli.main(["docs", "--only", name]) == 0
    assert cli.main(["docs", "--check", "--only", name]) == 0
    capsys.readouterr()
    # a hand edit is named too, by the plain check
    _edit_a_figure(readme, name)
    assert cli.main(["docs", "--check", "--only", name]) == 2
    err = _error_lines(capsys)
    assert len(err) == 1 and name in err[0] and "by hand" in err[0], err


def test_the_readme_names_the_expensive_blocks():
    """The README says which blocks a plain `mutualaid docs` does not rerun."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    for fig in df.REGISTRY.values():
        if not fig.cheap:
            assert f"`{fig.name}`" in df.strip_blocks(text), f"README does not name the expensive block {fig.name}"


def test_the_info_page_does_not_show_the_markers():
    from sim.info import read_info

    for name in ("kropotkin", "struggle"):
        notice = read_info(name)["Things to notice"]
        assert "figures:" not in notice and notice.startswith("- "), name
