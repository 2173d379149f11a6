"""The scenarios' Info panels (scenarios/info/*.md, sim/info.py): complete, and true to the code and the tests.

Every shipped scenario has an Info file with exactly the five sections; its ODD links point at real
headings of docs/ODD.md (GitHub's anchors); every scenario key it asks the user to try is a real key and
the values it suggests load; every "Things to notice" bullet ends with the test that backs it, and that
test exists.
"""

import ast
import re
from pathlib import Path

import pytest
import yaml

from sim import info
from sim.core.scenarios import ScenarioError, all_keys, field_of, load_scenario, scenario_names
from sim.info import SECTIONS, InfoError, info_path, read_info

ROOT = Path(__file__).resolve().parents[1]
NAMES = scenario_names()
LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")
DOTTED = re.compile(r"`([A-Za-z_]+\.[A-Za-z_]+)`")
#: "set `game.T` to 1.9": a key and the value suggested for it
SETTING = re.compile(r"`([A-Za-z_]+(?:\.[A-Za-z_]+)?)`(?: set)? to (-?\d+(?:\.\d+)?|[A-Za-z_]+)")
CITED = re.compile(r"\(test: (tests/[\w/]+\.py)::(\w+)\)$")


def github_slug(title: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    t = re.sub(r"[^\w\- ]", "", title.strip().lower())
    return t.replace(" ", "-")


def odd_anchors() -> set[str]:
    """Anchors of docs/ODD.md's headings (outside fenced code), repeated titles numbered as GitHub does."""
    seen: dict[str, int] = {}
    out, fenced = set(), False
    for line in (ROOT / "docs" / "ODD.md").read_text(encoding="utf-8").splitlines():
        if re.match(r"^\s{0,3}(```|~~~)", line):
            fenced = not fenced
        m = None if fenced else re.match(r"^#{1,6} +(.+?)\s*#*\s*$", line)
        if m:
            slug = github_slug(m.group(1))
            n = seen.get(slug, 0)
            seen[slug] = n + 1
            out.add(slug if n == 0 else f"{slug}-{n}")
    return out


def bullets(markdown: str) -> list[str]:
    """The top-level list items of a section, each joined into one line."""
    out: list[str] = []
    for line in markdown.splitlines():
        if line.startswith("- "):
            out.append(line[2:].strip())
        elif out and line.startswith((" ", "\t")) and line.strip():
            out[-1] += " " + line.strip()
        elif out and not line.strip():
            out.append("")
    return [b for b in out if b]


def test_github_slugs_match_the_table_of_contents():
    assert github_slug("7.3 Support, conflict and loneliness") == "73-support-conflict-and-loneliness"
    assert github_slug("Members (`members.parquet`, with `--members`)") == "members-membersparquet-with---members"
    anchors = odd_anchors()
    toc = re.findall(r"\]\(#([^)]+)\)", (ROOT / "docs" / "ODD.md").read_text(encoding="utf-8"))
    assert toc and set(toc) <= anchors


@pytest.mark.parametrize("name", NAMES)
def test_every_scenario_has_an_info_with_the_five_sections(name):
    sections = read_info(name)
    assert tuple(sections) == SECTIONS
    assert all(body.strip() for body in sections.values())


def test_no_info_without_a_scenario():
    files = sorted(info.INFO_DIR.iterdir())
    assert [p for p in files if p.suffix != ".md"] == []
    assert sorted(p.stem for p in files) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_links_point_at_real_odd_headings_and_files(name):
    text = info_path(name).read_text(encoding="utf-8")
    anchors = odd_anchors()
    for label, target in LINK.findall(text):
        if re.match(r"^[a-z]+://", target):
            continue
        path, _, anchor = target.partition("#")
        # relative to the Info file, as GitHub and any Markdown viewer resolve it
        assert (info.INFO_DIR / path).is_file(), f"{name}: link to a missing file {target}"
        if anchor:
            assert (info.INFO_DIR / path).resolve() == (ROOT / "docs" / "ODD.md").resolve(), \
                f"{name}: anchor into {path}"
            assert anchor in anchors, f"{name}: [{label}]({target}): no such heading in docs/ODD.md"
        number = re.fullmatch(r"ODD (\d+(?:\.\d+)?)", label)
        if number:  # [ODD 7.3] points at section 7.3
            assert anchor.startswith(number.group(1).replace(".", "") + "-"), f"{name}: [{label}]({target})"
    works = read_info(name)["How it works"]
    assert "](../../docs/ODD.md#" in works, f"{name}: 'How it works' links to no ODD section"


@pytest.mark.parametrize("name", NAMES)
def test_things_to_try_use_real_keys_and_values_that_load(name):
    keys = set(all_keys())
    items = bullets(read_info(name)["Things to try"])
    assert items, f"{name}: no experiments to try"
    for item in items:
        dotted = DOTTED.findall(item)
        settings = SETTING.findall(item)
        assert dotted or settings, f"{name}: an experiment without a scenario key: {item}"
        for key in dotted:
            assert key in keys, f"{name}: `{key}` is not a scenario key"
            field_of(key)
        for key, value in settings:
            assert key in keys, f"{name}: `{key}` is not a scenario key"
        for over in [{k: yaml.safe_load(v)} for k, v in settings] + [{k: yaml.safe_load(v) for k, v in settings}]:
            try:
                load_scenario(name, over)
            except ScenarioError as e:
                pytest.fail(f"{name}: {item}: {e}")
        assert "?" in item, f"{name}: what to look for should be a question: {item}"


def _test_functions(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}


@pytest.mark.parametrize("name", NAMES)
def test_every_thing_to_notice_names_an_existing_test(name):
    items = bullets(read_info(name)["Things to notice"])
    assert items, f"{name}: nothing to notice"
    for item in items:
        m = CITED.search(item)
        assert m, f"{name}: a claim without its test, '(test: tests/test_x.py::test_name)' at the end: {item}"
        path, func = ROOT / m.group(1), m.group(2)
        assert path.is_file(), f"{name}: {m.group(1)} does not exist"
        assert func.startswith("test_") and func in _test_functions(path), f"{name}: no {func} in {m.group(1)}"


@pytest.mark.parametrize("name", NAMES)
def test_how_to_cite_names_the_project_and_its_version(name):
    import tomllib

    version = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    cite = read_info(name)["How to cite"]
    assert "mutual-aid-sim" in cite and f"version {version}" in cite
    assert f"`{name}`" in cite


# ----------------------------------------------------------------------------- read_info's errors


GOOD = "".join(f"## {s}\n\nText.\n\n" for s in SECTIONS)


@pytest.fixture
def info_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(info, "INFO_DIR", tmp_path)
    return tmp_path


def test_read_info_reads_sections_in_order_with_a_title_and_subheadings(info_dir):
    text = GOOD.replace("## How it works\n\nText.", "## How it works\n\nText.\n\n### Detail\n\n```\n## not a section\n```")
    (info_dir / "x.md").write_text("# x\n\n" + text)
    got = read_info("x")
    assert tuple(got) == SECTIONS and got["What it is"] == "Text."
    assert "### Detail" in got["How it works"] and "## not a section" in got["How it works"]


@pytest.mark.parametrize("text, message", [
    (GOOD.replace("## Things to try\n\nText.\n\n", ""), "missing section '## Things to try'"),
    (GOOD + "## Credits\n\nText.\n", "unexpected section '## Credits'"),
    (GOOD + "## How to cite\n\nAgain.\n", "'## How to cite' appears 2 times"),
    (GOOD.replace("## What it is", "## TMP").replace("## How it works", "## What it is").replace("## TMP",
                                                                                                "## How it works"),
     "out of order"),
    (GOOD.replace("## Things to notice\n\nText.", "## Things to notice\n\n  "), "'## Things to notice' is empty"),
    ("Intro.\n\n" + GOOD, "text before the first section"),
])
def test_read_info_names_the_file_and_the_section(info_dir, text, message):
    (info_dir / "x.md").write_text(text)
    with pytest.raises(InfoError, match=re.escape(message)) as e:
        read_info("x")
    assert "x.md" in str(e.value)


def test_read_info_without_a_file_or_with_a_bad_name(info_dir):
    with pytest.raises(FileNotFoundError, match="no Info for scenario 'nothing'"):
        read_info("nothing")
    for bad in ("../baseline", "a/b", "", ".hidden"):
        with pytest.raises(InfoError, match="not a scenario name"):
            info_path(bad)
