"""Every image the docs show is in the repository and is a PNG (scripts/screenshots.py)."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_every_image_a_doc_links_exists_and_is_a_png() -> None:
    shown = []
    for doc in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        for target in re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", doc.read_text(encoding="utf-8")):
            image = (doc.parent / target).resolve()
            assert image.is_file(), f"{doc.name} shows {target}, which does not exist"
            assert image.read_bytes()[:8] == PNG_MAGIC, f"{target} is not a PNG"
            shown.append(image.name)
    # The four docs/operations.md promises (issue 16): graph, partitions, rollback, hold.
    assert {p.name for p in (REPO / "docs" / "screenshots").glob("*.png")} <= set(shown)
    assert len(shown) >= 4
