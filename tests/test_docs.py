"""The README and docs/ hold together: SPEC citations resolve, examples use shipped cards, links work.

Fast file reads only. Each check is a function returning what is wrong, so the tests below
can show it on a bad input as well as pass on the repository.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.helpers import REPO

README = REPO / "README.md"
SPEC = REPO / "docs" / "SPEC.md"
README_MAX_LINES = 250
# Documents describe the software, never the circumstances of writing it.
FORBIDDEN_PHRASES = ("this session", "this machine", "no gpu was available", "was not run here")
CITING_DIRS = ("src", "tests", "docs", "scripts", "bench", "studies")
CITING_SUFFIXES = {".py", ".md", ".sh", ".toml", ".c", ".txt"}

CITATION = re.compile(r"SPEC\s+sections?\s+(\d+(?:\s*(?:-|–|,|and|&)\s*\d+)*)")
SPEC_HEADING = re.compile(r"^## (\d+)\. \S", re.MULTILINE)
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
CARD_PATH = re.compile(r"(?<![\w/.-])(?:\.\./)?(task_cards/[\w./*-]+\.toml)")
CARD_FLAG = re.compile(r"--task[-_]card(?:=|[ \t]+)([^\s`'\")\[\]]+)")
MADE_ON_PAGE = re.compile(r"cat\s+>\s*(\S+)")
PLACEHOLDER = re.compile(r"[A-Z_|]+|\.\.\.")  # NAME, NAME|PATH, ... in usage lines


def doc_pages() -> list[Path]:
    return [README, *sorted((REPO / "docs").rglob("*.md"))]


def cited_sections(text: str) -> set[int]:
    """Section numbers of every "SPEC section N" / "SPEC sections N-M, K" in ``text``."""
    numbers: set[int] = set()
    for match in CITATION.finditer(text):
        for part in re.split(r"\s*(?:,|and|&)\s*", match.group(1)):
            bounds = [int(n) for n in re.split(r"\s*[-–]\s*", part)]
            numbers.update(range(bounds[0], bounds[-1] + 1))
    return numbers


def dangling_citations(spec_text: str, files: list[Path]) -> list[str]:
    headings = {int(n) for n in SPEC_HEADING.findall(spec_text)}
    problems = []
    for path in files:
        for number in sorted(cited_sections(path.read_text(errors="replace")) - headings):
            problems.append(f"{_shown(path)}: SPEC section {number} has no '## {number}.' heading")
    return problems


def _shown(path: Path) -> str:
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def citing_files() -> list[Path]:
    files = [README]
    for name in CITING_DIRS:
        for path in (REPO / name).rglob("*"):
            if path.suffix in CITING_SUFFIXES and path.is_file() and not _generated_or_cache(path):
                files.append(path)
    return files


def _generated_or_cache(path: Path) -> bool:
    return any(part.endswith(".egg-info") or part == "__pycache__" for part in path.parts)


def forbidden_phrases(text: str) -> list[str]:
    lowered = text.lower()
    return [phrase for phrase in FORBIDDEN_PHRASES if phrase in lowered]


def card_exists(reference: str) -> bool:
    """A card name (task_cards/NAME.toml or task_cards/symbolic/NAME.toml) or a path in the repository."""
    reference = reference.removeprefix("../")
    if any(ch in reference for ch in "*?["):
        return any(REPO.glob(reference))
    if reference.endswith(".toml") or "/" in reference:
        return (REPO / reference).is_file()
    return any((REPO / "task_cards" / sub / f"{reference}.toml").is_file() for sub in ("", "symbolic"))


def missing_cards(text: str) -> list[str]:
    """Cards a page uses that the repository does not ship and no earlier command on it makes."""
    made = {m.group(1) for m in MADE_ON_PAGE.finditer(text)}
    problems = []
    for match in [*CARD_PATH.finditer(text), *CARD_FLAG.finditer(text)]:
        reference = match.group(1)
        if PLACEHOLDER.fullmatch(reference):
            continue
        made_before = any(m.group(1) == reference and m.start() < match.start() for m in MADE_ON_PAGE.finditer(text))
        if not made_before and not card_exists(reference):
            problems.append(reference if reference not in made else f"{reference} (used before it is made)")
    return problems


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.DOTALL)
    return {_slug(m.group(1)) for m in re.finditer(r"^#{1,6} (.+)$", text, re.MULTILINE)}


def broken_links(page: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.DOTALL)  # code is not links
    problems = []
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        path_part, _, anchor = target.partition("#")
        resolved = (page.parent / path_part).resolve()
        if not resolved.exists():
            problems.append(f"{target} (no such file)")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            problems.append(f"{target} (no heading with that anchor)")
    return problems


# ---- the repository ----------------------------------------------------------------------------
def test_every_spec_citation_names_a_section_of_docs_spec():
    assert SPEC.is_file(), "docs/SPEC.md is missing"
    assert dangling_citations(SPEC.read_text(), citing_files()) == []


def test_spec_numbers_its_sections_one_to_eight():
    assert [int(n) for n in SPEC_HEADING.findall(SPEC.read_text())] == list(range(1, 9))


def test_the_readme_is_a_front_page():
    lines = len(README.read_text().splitlines())
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines; move detail to docs/ (at most {README_MAX_LINES})"


@pytest.mark.parametrize("page", doc_pages(), ids=lambda p: str(p.relative_to(REPO)))
def test_pages_describe_the_software_not_how_it_was_written(page):
    assert forbidden_phrases(page.read_text()) == []


@pytest.mark.parametrize("page", doc_pages(), ids=lambda p: str(p.relative_to(REPO)))
def test_examples_use_only_shipped_cards_or_cards_made_on_the_page(page):
    assert missing_cards(page.read_text()) == []


@pytest.mark.parametrize("page", doc_pages(), ids=lambda p: str(p.relative_to(REPO)))
def test_relative_links_point_at_existing_files(page):
    assert broken_links(page) == []


def test_the_documented_tiny_card_is_the_test_suites_tiny_card():
    from tests.training.helpers import TINY_BASE
    from tokenized_cot_icl.foundation.config import Args
    from tokenized_cot_icl.foundation.task_cards import load_task_card

    assert load_task_card(REPO / "task_cards" / "tiny.toml") == {0: Args(**TINY_BASE)}


# ---- each check bites --------------------------------------------------------------------------
def test_a_dangling_or_ranged_citation_is_reported(tmp_path):
    assert cited_sections("see SPEC sections 2-4 and SPEC section 7, SPEC\n  section 8") == {2, 3, 4, 7, 8}
    assert cited_sections("SPEC sections 3, 5 and 6") == {3, 5, 6}
    cites = tmp_path / "module.py"
    cites.write_text(f'"""The rule (SPEC section {9})."""\n')  # {9}: this file cites nothing itself
    assert dangling_citations("## 1. One\n## 9. Nine\n", [cites]) == []
    assert dangling_citations("## 1. One\n## 2. Two\n", [cites]) == [
        f"{cites}: SPEC section {9} has no '## {9}.' heading"
    ]


def test_a_circumstance_phrase_is_reported():
    assert forbidden_phrases("Measured on 2 CPU cores.") == []
    assert forbidden_phrases("No GPU was available, so this was not run here.") == [
        "no gpu was available",
        "was not run here",
    ]


def test_an_unshipped_card_is_reported_unless_made_earlier_on_the_page():
    assert missing_cards("$ cot-icl train --task-card quickstart --task-card-key 0") == []
    assert missing_cards("$ cot-icl symbolic export --task_card transfer") == []
    assert missing_cards("`task_cards/eval/drop_cot.toml`, `--eval-card ../task_cards/eval/scaling.toml`") == []
    assert missing_cards("$ cot-icl train --task_card tiny.toml") == ["tiny.toml"]
    assert missing_cards("see task_cards/nowhere.toml") == ["task_cards/nowhere.toml"]
    made = "$ cat > mine.toml <<'EOF'\n[base]\nEOF\n$ cot-icl train --task-card mine.toml\n"
    assert missing_cards(made) == []
    used_first = "$ cot-icl train --task-card mine.toml\n$ cat > mine.toml <<'EOF'\nEOF\n"
    assert missing_cards(used_first) == ["mine.toml (used before it is made)"]


def test_a_broken_link_or_anchor_is_reported(tmp_path):
    (tmp_path / "OTHER.md").write_text("# Other\n\n## Some part\n")
    page = tmp_path / "page.md"
    page.write_text(
        "# Title\n\n[ok](OTHER.md) [self](#x) [web](https://example.org) [anchor](OTHER.md#some-part)\n"
        "[gone](NOWHERE.md) [bad anchor](OTHER.md#missing) ![image](gone.png)\n"
        "```\n[in code](ALSO_NOWHERE.md)\n```\n"
    )
    assert broken_links(page) == [
        "NOWHERE.md (no such file)",
        "OTHER.md#missing (no heading with that anchor)",
        "gone.png (no such file)",
    ]
