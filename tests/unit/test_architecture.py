"""The layout's rules that import-linter cannot see: kinds named once, modules kept small."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from recsys_algo.kinds.kind import KINDS

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("recsys_algo", "recsys_pipelines", "recsys_service")
KINDS_DIR = REPO / "recsys_algo" / "kinds"
MAX_MODULE_LINES = 300


def modules() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (REPO / package).rglob("*.py"))


def kind_names_in(path: Path, root: Path = REPO) -> list[str]:
    """Where a module spells a kind: a string equal to its name, or a name or attribute
    (a field, a keyword, a variable) called like it."""
    names = {str(kind) for kind in KINDS}
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        spelled = None
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            spelled = node.value
        elif isinstance(node, ast.Attribute):
            spelled = node.attr
        elif isinstance(node, ast.keyword):
            spelled = node.arg
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            spelled = node.target.id
        if spelled in names:
            found.append(f"{path.relative_to(root)}:{getattr(node, 'lineno', 0)} {spelled!r}")
    return found


def test_the_code_has_modules_to_check() -> None:
    assert len(modules()) > 50


def test_kind_names_are_spelled_only_in_the_kinds_package() -> None:
    outside = [p for p in modules() if KINDS_DIR not in p.parents]
    spelled = [hit for path in outside for hit in kind_names_in(path)]
    assert spelled == [], "kind names outside recsys_algo/kinds/: " + "; ".join(spelled)


def test_the_kind_name_finder_sees_strings_fields_and_keywords(tmp_path: Path) -> None:
    planted = tmp_path / "planted.py"
    planted.write_text(
        'WEIGHTS = {"cooc": 0.8}\n'
        "def f(params):\n    return params.session_seq, g(implicit=1)\n"
        "class P:\n    content_sim: int = 0\n"
    )
    hits = sorted(hit.split(" ", 1)[1] for hit in kind_names_in(planted, tmp_path))
    assert hits == ["'content_sim'", "'cooc'", "'implicit'", "'session_seq'"]


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(REPO)))
def test_no_module_is_over_300_lines(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_MODULE_LINES, f"{lines} lines: split it by responsibility"
