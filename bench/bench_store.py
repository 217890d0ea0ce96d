"""The bench store: synthetic events -> every kind -> one signed manifest, built once; swaps."""

from __future__ import annotations

import datetime as dt
import json
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Self

import polars as pl

from recsys_algo.contracts.manifest import Lineage, Window
from recsys_algo.contracts.names import Partition
from recsys_algo.contracts.signing import SigningKeys, parse_signing_keys
from recsys_algo.kinds.artifacts import ArtifactBlob, decode_artifact
from recsys_algo.kinds.kind import Kind
from recsys_algo.kinds.registry import SPECS, compute_kind
from recsys_algo.recipes.params import ModelParams
from recsys_algo.sources.synthetic import generator as synthetic
from recsys_algo.stages.ingest import canonicalize_partition, ingest_partition
from recsys_algo.stages.model_inputs import read_model_inputs
from recsys_algo.store import catalog, landing, registry
from recsys_algo.store.storage import FileStorage

TENANT, SURFACE = "bench", "home"
SIGNING_SPEC = "bench:" + "ab" * 32
AS_OF = dt.date(2026, 11, 1)
STORE_META = "bench-store.json"
USERS_FILE = "users.txt"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class BenchStore:
    root: Path
    users_file: Path  # one known user id per line (users with an `implicit` row)
    users: int
    items: int

    @property
    def storage(self) -> FileStorage:
        return FileStorage(self.root)


def build_store(
    root: Path, *, users: int, items: int, events_per_day: int, days: int, seed: int
) -> BenchStore:
    """Build once into root (generate, ingest, all kinds, publish); reuse it when params match."""
    params = {"users": users, "items": items, "events_per_day": events_per_day, "days": days}
    params["seed"] = seed
    meta_path = root / STORE_META
    if meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if meta["params"] == params:
            log(f"reusing the bench store in {root} ({meta['known_users']:,} known users)")
            return BenchStore(root, root / USERS_FILE, meta["known_users"], meta["items"])
        raise SystemExit(
            f"{root} holds a bench store built with {meta['params']}: use another --store"
        )
    if root.exists() and any(root.iterdir()):
        raise SystemExit(f"{root} is not empty and holds no {STORE_META}: use another --store")
    start = time.perf_counter()
    storage = FileStorage(root)
    config = synthetic.SyntheticConfig(events_per_day=events_per_day, n_users=users, n_items=items)
    catalog.write_catalog(storage, TENANT, synthetic.generate_catalog(seed, items))
    day_list = [AS_OF - dt.timedelta(days=i) for i in reversed(range(days))]
    for day in day_list:
        data = synthetic.generate_day(seed, day, TENANT, SURFACE, config=config)
        landing.write_landing_file(storage, TENANT, SURFACE, day, "synthetic.jsonl", data)
        partition = Partition(TENANT, SURFACE, day)
        ingest_partition(storage, partition)
        canonicalize_partition(storage, partition)
        log(f"generated and ingested {day} ({time.perf_counter() - start:.0f} s)")
    read = read_model_inputs(storage, Partition(TENANT, SURFACE, AS_OF), days)
    model_params = ModelParams()
    blobs = [compute_kind(kind, read.inputs, model_params.of(kind)) for kind in SPECS]
    log(f"computed {', '.join(SPECS)} ({time.perf_counter() - start:.0f} s)")
    window = Window(start=day_list[0].isoformat(), end=AS_OF.isoformat(), days=days)
    lineage = Lineage(inputs=read.fingerprints, code_version="bench", parameters={})
    registry.publish(
        storage, signing_keys(), tenant=TENANT, surface=SURFACE, as_of=AS_OF, window=window,
        blobs=blobs, lineage=lineage, metrics={},
    )  # fmt: skip
    known = known_users(next(b for b in blobs if b.kind == Kind.IMPLICIT))
    (root / USERS_FILE).write_text("\n".join(known) + "\n")
    n_items = read.inputs.catalog.height
    meta = {"params": params, "known_users": len(known), "items": n_items}
    meta_path.write_text(json.dumps(meta))
    seconds = time.perf_counter() - start
    log(f"published; {len(known):,} known users, {n_items:,} items ({seconds:.0f} s)")
    return BenchStore(root, root / USERS_FILE, len(known), n_items)


def signing_keys() -> SigningKeys:
    return parse_signing_keys(SIGNING_SPEC)


def known_users(implicit: ArtifactBlob) -> list[str]:
    frame = pl.from_arrow(decode_artifact(implicit.data, Kind.IMPLICIT, "bench implicit"))
    assert isinstance(frame, pl.DataFrame)
    return frame.filter(pl.col("entity") == "user")["id"].to_list()


def republish(storage: FileStorage, serial: int) -> str:
    """Publish the current artifacts again as a new version (new created_at, lineage marker).

    The blobs are read, not decoded or checked again (the service does that): the bench's own
    CPU should stay off the cores it measures."""
    current = registry.read_current(storage, signing_keys(), TENANT, SURFACE)
    assert current is not None, "the bench store has no published manifest"
    manifest = current.manifest
    blobs = [
        ArtifactBlob(kind, storage.read_bytes(ref.uri), ref.rows, ref.schema_version)
        for kind, ref in manifest.artifacts.items()
    ]
    lineage = Lineage(
        inputs=manifest.lineage.inputs, code_version="bench", parameters={"swap": serial}
    )
    outcome = registry.publish(
        storage, signing_keys(), tenant=TENANT, surface=SURFACE,
        as_of=dt.date.fromisoformat(manifest.as_of), window=manifest.window, blobs=blobs,
        lineage=lineage, metrics=dict(manifest.metrics),
    )  # fmt: skip
    assert outcome.swapped, outcome.message
    return outcome.manifest.manifest_version


class Background:
    """A loop (`_run`, which returns once `_stop` is set) in a daemon thread for the duration of
    `with obj.running():`. The publisher, the soak's event poster and the sampler are these."""

    _stop: threading.Event
    thread_name: ClassVar[str] = "background"

    def _run(self) -> None:
        raise NotImplementedError

    @contextmanager
    def running(self) -> Iterator[Self]:
        thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join()


@dataclass
class Publisher(Background):
    """A thread that re-publishes every `interval` seconds until stopped."""

    storage: FileStorage
    interval: float
    versions: list[str] = field(default_factory=list)
    published_at: dict[str, float] = field(default_factory=dict)  # version -> monotonic time
    errors: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def _run(self) -> None:
        # A fixed cadence (a slow publish does not push the next one back); a publish that
        # overruns a whole interval skips the missed slot rather than publishing back to back.
        next_at = time.monotonic() + self.interval
        while not self._stop.wait(max(0.0, next_at - time.monotonic())):
            try:
                version = republish(self.storage, len(self.versions) + 1)
                self.versions.append(version)
                self.published_at[version] = time.monotonic()
            except Exception as exc:  # reported, never hidden: the run's checks count these
                self.errors.append(f"{type(exc).__name__}: {exc}")
            next_at += self.interval
            while next_at < time.monotonic():
                next_at += self.interval
