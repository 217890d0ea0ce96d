"""Data sources the CLI offers: the synthetic generator and the MovieLens import."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

from tqdm import tqdm

from recsys_algo.sources.movielens import importer as movielens
from recsys_algo.sources.synthetic import generator as synthetic
from recsys_algo.store.catalog import write_catalog
from recsys_algo.store.landing import write_landing_file
from recsys_algo.store.storage import Storage

SYNTHETIC_FILE = "synthetic.jsonl"


def generate(
    storage: Storage,
    tenant: str,
    surface: str,
    start: dt.date,
    days: int,
    events_per_day: int,
    seed: int,
) -> str:
    """Write the catalog and one landing file per day; same arguments, same bytes."""
    config = synthetic.SyntheticConfig(events_per_day=events_per_day)
    write_catalog(
        storage,
        tenant,
        synthetic.generate_catalog(seed, config.n_items, config.n_clusters),
    )
    lines = 0
    for offset in tqdm(
        range(days), desc=f"generate {tenant}/{surface}", unit="day", file=sys.stderr, disable=None
    ):
        day = start + dt.timedelta(days=offset)
        data = synthetic.generate_day(seed, day, tenant, surface, config=config)
        write_landing_file(storage, tenant, surface, day, SYNTHETIC_FILE, data)
        lines += data.count(b"\n")
    last = start + dt.timedelta(days=days - 1)
    return (
        f"generated {tenant}/{surface}: {days} days {start}..{last}, {lines} lines, "
        f"{config.n_items} catalog items (seed {seed}) in {storage.url}"
    )


def import_movielens(storage: Storage, path: Path, tenant: str, surface: str) -> str:
    summary = movielens.import_movielens(path, storage, tenant, surface)
    return f"imported MovieLens into {tenant}/{surface}: {summary}"
