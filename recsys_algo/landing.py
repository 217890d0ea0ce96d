"""Landing-zone IO (minimal reader; the data branch extends it with writers)."""

from __future__ import annotations

import datetime as dt

from recsys_algo import layout
from recsys_algo.storage import Storage


def read_landing_files(
    storage: Storage, tenant: str, surface: str, day: dt.date
) -> list[tuple[str, bytes]]:
    prefix = layout.raw_prefix(tenant, surface, day)
    return [
        (key.rsplit("/", 1)[-1], storage.read_bytes(key))
        for key in storage.list(prefix)
        if key.endswith(".jsonl")
    ]
