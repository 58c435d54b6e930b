"""The package never imports the repository's studies: ``studies/`` builds on the library, not the reverse."""

from __future__ import annotations

import ast

from tests.helpers import REPO


def _imported_roots(path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_the_package_does_not_import_studies():
    offenders = [
        str(path.relative_to(REPO))
        for path in sorted((REPO / "src" / "tokenized_cot_icl").rglob("*.py"))
        if "studies" in _imported_roots(path)
    ]
    assert offenders == []


def test_studies_are_importable_from_the_repository_root():
    import studies.reproduction

    assert studies.reproduction.__file__.startswith(str(REPO / "studies"))
