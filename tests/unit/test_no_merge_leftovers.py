"""No file of the repository keeps a merge's conflict markers (docs/benchmarks.md once did)."""

from __future__ import annotations

import os
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TEXT_SUFFIXES = {".py", ".md", ".toml", ".yaml", ".yml", ".cfg", ".ini", ".txt", ".sh", ".json"}
MARKER = re.compile(r"^(<{7} |>{7} |={7}$)", re.MULTILINE)


def repository_text_files(root: Path) -> list[Path]:
    """Text files under root, skipping hidden folders (.git, .venv), caches and bench output."""
    found = []
    for folder, subfolders, names in os.walk(root):
        subfolders[:] = [d for d in subfolders if not d.startswith(".") and d != "__pycache__"]
        for name in names:
            path = Path(folder) / name
            if path.suffix in TEXT_SUFFIXES or name in {"Makefile", "run"}:
                found.append(path)
    return sorted(found)


def conflict_markers(paths: list[Path]) -> list[str]:
    hits = []
    for path in paths:
        text = path.read_text(encoding="utf-8", errors="replace")
        # "=======" alone is also a Markdown heading underline: count it only beside a "<<<<<<<".
        if "<" * 7 + " " not in text and ">" * 7 + " " not in text:
            continue
        for match in MARKER.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            hits.append(f"{path}:{line}: {match.group(0).strip()}")
    return hits


def test_no_tracked_file_holds_conflict_markers() -> None:
    files = repository_text_files(REPO)
    assert any(p.name == "README.md" for p in files)
    assert conflict_markers(files) == []


def test_the_finder_sees_a_left_conflict(tmp_path: Path) -> None:
    doc = tmp_path / "docs" / "x.md"
    doc.parent.mkdir()
    doc.write_text("a\n" + "<" * 7 + " HEAD\nb\n" + "=" * 7 + "\nc\n" + ">" * 7 + " speed\n")
    (tmp_path / "ok.md").write_text("Title\n" + "=" * 7 + "\n")
    assert conflict_markers(repository_text_files(tmp_path)) == [
        f"{doc}:2: {'<' * 7}",
        f"{doc}:4: {'=' * 7}",
        f"{doc}:6: {'>' * 7}",
    ]
