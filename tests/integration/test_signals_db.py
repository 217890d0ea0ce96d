"""recsys_algo.store.signals on a real PostgreSQL: round trip, versions, swap, retention, errors."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import polars as pl
import psycopg2
import pytest

from recsys_algo.contracts.errors import ArtifactError, ConfigError, DataSourceError
from recsys_algo.contracts.manifest import Manifest
from recsys_algo.kinds.artifacts import encode_artifact, encode_table
from recsys_algo.stages.rollback import rollback_scope
from recsys_algo.store import registry, signals_read
from recsys_algo.store import signals as signals_db
from recsys_algo.store.storage import FileStorage
from tests.service.builders import item_ids, publish_scope, signing_keys
from tests.support.builders import neighbor_frame, popularity_frame

TENANT, SURFACE = "acme", "home"
T0 = dt.datetime(2026, 11, 20, 6, tzinfo=dt.UTC)
# Ids CSV and COPY must carry verbatim; scores whose text form must round-trip exactly.
AWKWARD_IDS = ["a,b", 'quote"d', "new\nline", "back\\slash", "tab\there", "ünï", "  pad  ", "N"]
UNREACHABLE_DSN = "postgresql://recsys:pw@127.0.0.1:1/signals"
AWKWARD_SCORES = [0.1 + 0.2, 1 / 3, 2.0**-1074, 1e300, 123456.789e-20, 7.0, 0.5, 5e-324]


def _blobs(storage: FileStorage, manifest: Manifest) -> dict[str, bytes]:
    return {kind: storage.read_bytes(ref.uri) for kind, ref in manifest.artifacts.items()}


def _publish(storage: FileStorage, n: int, prefix: str = "p", minutes: int = 0) -> Manifest:
    cooc = [(f"{prefix}000", f"{prefix}{i:03d}", 1.0 / i) for i in range(1, 6)]
    return publish_scope(
        storage,
        TENANT,
        SURFACE,
        item_ids(prefix, n),
        neighbors={"cooc": cooc, "content_sim": cooc[:2]},
        now=T0 + dt.timedelta(minutes=minutes),
    )


def _count(dsn: str, sql: str) -> int:
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(sql)
        return int(cur.fetchone()[0])


@pytest.fixture
def storage(tmp_path: Path) -> FileStorage:
    return FileStorage(tmp_path / "store")


def test_round_trip_gives_tables_that_re_encode_to_the_published_bytes(
    storage: FileStorage, postgres_dsn: str
) -> None:
    scores = sorted(AWKWARD_SCORES, reverse=True)
    halves = [
        popularity_frame(AWKWARD_IDS[a:b]).with_columns(pl.Series("score", scores[a:b]))
        for a, b in ((0, 4), (4, 8))
    ]
    # Two record batches: the artifact's batch layout must survive the round trip.
    popularity = pl.concat(halves, rechunk=False)
    neighbors = neighbor_frame(
        [
            (AWKWARD_IDS[i], AWKWARD_IDS[j], min(AWKWARD_SCORES[j], 1.0))
            for i in range(3)
            for j in range(8)
            if i != j
        ]
    )
    blobs = {
        "popularity": encode_artifact(popularity, "popularity", 1),
        "cooc": encode_artifact(neighbors, "cooc", 1),
        "session_seq": encode_artifact(neighbors.head(5), "session_seq", 1),
    }
    assert len(popularity.to_arrow().to_batches()) == 2
    manifest = _publish(storage, 3)
    # Re-publish with the awkward blobs through the registry, so the manifest signs them.
    from recsys_algo.store.registry import publish

    manifest = publish(
        storage,
        signing_keys(),
        tenant=TENANT,
        surface=SURFACE,
        as_of=dt.date(2026, 11, 21),
        window=manifest.window,
        blobs=list(blobs.values()),
        lineage=manifest.lineage,
        metrics={},
    ).manifest

    written = signals_db.write_signals(postgres_dsn, manifest, _blobs(storage, manifest))

    assert written.swapped
    signals = signals_read.read_signals(postgres_dsn, TENANT, SURFACE)
    assert signals is not None
    assert sorted(signals.tables) == ["cooc", "popularity", "session_seq"]
    for kind, blob in blobs.items():
        assert encode_table(signals.tables[kind], kind, 1).data == blob.data, kind
    loaded = signals_read.load_signals(postgres_dsn, signing_keys(), TENANT, SURFACE)
    assert loaded is not None and loaded[1] == manifest
    assert signals_read.list_scopes(postgres_dsn) == [(TENANT, SURFACE)]


def test_only_the_db_kinds_are_written_and_implicit_is_left_out(
    storage: FileStorage, postgres_dsn: str
) -> None:
    manifest = _publish(storage, 20)
    blobs = {**_blobs(storage, manifest), "implicit": b"not stored in the database"}
    signals_db.write_signals(postgres_dsn, manifest, blobs)
    assert _count(postgres_dsn, "SELECT count(*) FROM recsys_popularity") == 20
    assert _count(postgres_dsn, "SELECT count(DISTINCT kind) FROM recsys_neighbors") == 2


def test_replaying_the_current_version_changes_nothing(
    storage: FileStorage, postgres_dsn: str
) -> None:
    manifest = _publish(storage, 10)
    signals_db.write_signals(postgres_dsn, manifest, _blobs(storage, manifest))
    token = signals_read.current_token(postgres_dsn, TENANT, SURFACE)

    again = signals_db.write_signals(postgres_dsn, manifest, _blobs(storage, manifest))

    assert not again.swapped and "replay" in again.message
    assert signals_read.current_token(postgres_dsn, TENANT, SURFACE) == token
    assert _count(postgres_dsn, "SELECT count(*) FROM recsys_popularity") == 10


def test_an_older_manifest_never_replaces_a_newer_one(
    storage: FileStorage, postgres_dsn: str
) -> None:
    older = _publish(storage, 10, "a", minutes=0)
    newer = _publish(storage, 10, "b", minutes=5)
    signals_db.write_signals(postgres_dsn, newer, _blobs(storage, newer))

    late = signals_db.write_signals(postgres_dsn, older, _blobs(storage, older))

    assert not late.swapped and newer.manifest_version in late.message
    loaded = signals_read.load_signals(postgres_dsn, signing_keys(), TENANT, SURFACE)
    assert loaded is not None and loaded[1].manifest_version == newer.manifest_version


def test_retention_keeps_the_newest_versions_and_drops_their_rows(
    storage: FileStorage, postgres_dsn: str
) -> None:
    manifests = [_publish(storage, 10 + i, minutes=i) for i in range(5)]
    for manifest in manifests:
        signals_db.write_signals(postgres_dsn, manifest, _blobs(storage, manifest), retain=3)

    with psycopg2.connect(postgres_dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT version FROM recsys_signal_versions ORDER BY version")
        kept = [v for (v,) in cur.fetchall()]
        cur.execute("SELECT DISTINCT version FROM recsys_popularity ORDER BY version")
        with_rows = [v for (v,) in cur.fetchall()]
    assert kept == with_rows == [m.manifest_version for m in manifests[2:]]


def test_a_reader_during_writes_sees_one_whole_version(
    storage: FileStorage, postgres_dsn: str
) -> None:
    manifests = [_publish(storage, 200 + 50 * i, f"v{i}-", minutes=i) for i in range(8)]
    sizes = {m.manifest_version: 200 + 50 * i for i, m in enumerate(manifests)}
    signals_db.write_signals(postgres_dsn, manifests[0], _blobs(storage, manifests[0]))
    failures: list[BaseException] = []
    first_read = threading.Event()

    def write_all() -> None:
        first_read.wait(timeout=60)
        try:
            for manifest in manifests[1:]:
                signals_db.write_signals(postgres_dsn, manifest, _blobs(storage, manifest))
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)

    def read_one() -> str:
        loaded = signals_read.load_signals(postgres_dsn, signing_keys(), TENANT, SURFACE)
        assert loaded is not None
        _, manifest, tables = loaded  # verified: rows of another version fail the digests
        assert tables["popularity"].num_rows == sizes[manifest.manifest_version]
        return manifest.manifest_version

    writer = threading.Thread(target=write_all)
    writer.start()
    seen = [read_one()]
    first_read.set()
    while writer.is_alive():
        seen.append(read_one())
    writer.join()
    seen.append(read_one())
    assert not failures
    assert seen[0] == manifests[0].manifest_version
    assert seen[-1] == manifests[-1].manifest_version
    assert seen == sorted(seen)  # versions only move forward


def test_concurrent_writers_serialize_and_the_newest_manifest_wins(
    storage: FileStorage, postgres_dsn: str
) -> None:
    manifests = [_publish(storage, 300, f"w{i}-", minutes=i) for i in range(4)]
    outcomes: list[signals_db.WriteOutcome] = []
    threads = [
        threading.Thread(
            target=lambda m=m: outcomes.append(
                signals_db.write_signals(postgres_dsn, m, _blobs(storage, m))
            )
        )
        for m in reversed(manifests)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(outcomes) == 4
    loaded = signals_read.load_signals(postgres_dsn, signing_keys(), TENANT, SURFACE)
    assert loaded is not None and loaded[1].manifest_version == manifests[-1].manifest_version


def test_rows_changed_outside_a_publish_fail_verification(
    storage: FileStorage, postgres_dsn: str
) -> None:
    manifest = _publish(storage, 10)
    signals_db.write_signals(postgres_dsn, manifest, _blobs(storage, manifest))
    with psycopg2.connect(postgres_dsn) as conn, conn.cursor() as cur:
        cur.execute("UPDATE recsys_popularity SET score = score + 100 WHERE ordinal = 9")

    with pytest.raises(ArtifactError, match="popularity rows re-encode"):
        signals_read.load_signals(postgres_dsn, signing_keys(), TENANT, SURFACE)


def test_blobs_that_do_not_match_the_manifest_are_refused(
    storage: FileStorage, postgres_dsn: str
) -> None:
    manifest = _publish(storage, 10)
    blobs = {**_blobs(storage, manifest), "popularity": encode_artifact(
        popularity_frame(["x"]), "popularity", 1).data}  # fmt: skip
    with pytest.raises(ArtifactError, match="do not match the manifest"):
        signals_db.write_signals(postgres_dsn, manifest, blobs)
    assert signals_read.read_signals(postgres_dsn, TENANT, SURFACE) is None


def test_an_unwritten_database_has_no_scopes(postgres_dsn: str) -> None:
    assert signals_read.read_signals(postgres_dsn, TENANT, SURFACE) is None
    assert signals_read.current_token(postgres_dsn, TENANT, SURFACE) is None
    assert signals_read.list_scopes(postgres_dsn) == []


def test_an_unreachable_database_names_host_and_db_but_never_the_password(
    storage: FileStorage,
) -> None:
    manifest = _publish(storage, 3)
    dsn = "postgresql://recsys:s3cret-pw@127.0.0.1:1/signals"
    with pytest.raises(DataSourceError) as caught:
        signals_db.write_signals(dsn, manifest, _blobs(storage, manifest))
    assert "127.0.0.1:1/signals" in str(caught.value)
    assert "s3cret-pw" not in str(caught.value)
    with pytest.raises(DataSourceError) as caught:
        signals_read.current_token(dsn, TENANT, SURFACE)
    assert "s3cret-pw" not in str(caught.value)


def test_tables_of_another_schema_version_are_refused(
    storage: FileStorage, postgres_dsn: str
) -> None:
    manifest = _publish(storage, 3)
    signals_db.write_signals(postgres_dsn, manifest, _blobs(storage, manifest))
    with psycopg2.connect(postgres_dsn) as conn, conn.cursor() as cur:
        cur.execute("UPDATE recsys_signal_schema SET version = 99")
    with pytest.raises(ConfigError, match="schema version 99"):
        signals_read.read_signals(postgres_dsn, TENANT, SURFACE)
    with pytest.raises(ConfigError, match="schema version 99"):
        signals_db.write_signals(postgres_dsn, manifest, _blobs(storage, manifest))


def test_a_rollback_makes_a_retained_older_version_current_without_rewriting_rows(
    storage: FileStorage, postgres_dsn: str
) -> None:
    older = _publish(storage, 10, "a", minutes=0)
    newer = _publish(storage, 12, "b", minutes=5)
    for manifest in (older, newer):
        signals_db.write_signals(postgres_dsn, manifest, _blobs(storage, manifest))

    back = signals_db.write_signals(postgres_dsn, older, _blobs(storage, older), rollback=True)

    assert back.swapped
    loaded = signals_read.load_signals(postgres_dsn, signing_keys(), TENANT, SURFACE)
    assert loaded is not None and loaded[1].manifest_version == older.manifest_version
    assert _count(postgres_dsn, "SELECT count(*) FROM recsys_popularity") == 10 + 12


def test_retention_never_prunes_the_version_a_rollback_made_current(
    storage: FileStorage, postgres_dsn: str
) -> None:
    manifests = [_publish(storage, 10 + i, minutes=i) for i in range(3)]
    for manifest in manifests[1:]:
        signals_db.write_signals(postgres_dsn, manifest, _blobs(storage, manifest), retain=1)
    oldest = manifests[0]  # never written, older than everything retained

    signals_db.write_signals(postgres_dsn, oldest, _blobs(storage, oldest), retain=1, rollback=True)

    loaded = signals_read.load_signals(postgres_dsn, signing_keys(), TENANT, SURFACE)
    assert loaded is not None and loaded[1].manifest_version == oldest.manifest_version


def test_rollback_scope_moves_the_pointer_and_the_database_and_a_rerun_repairs_the_database(
    storage: FileStorage, postgres_dsn: str
) -> None:
    keys = signing_keys()
    older = _publish(storage, 10, "a", minutes=0)
    newer = _publish(storage, 12, "b", minutes=5)
    signals_db.write_signals(postgres_dsn, newer, _blobs(storage, newer))

    with pytest.raises(DataSourceError):  # the database is down: the pointer moved anyway
        rollback_scope(
            storage, keys, TENANT, SURFACE, None, reason="t", signals_dsn=UNREACHABLE_DSN
        )
    served = registry.read_current(storage, keys, TENANT, SURFACE)
    assert served is not None and served.manifest == older
    stale = signals_read.load_signals(postgres_dsn, keys, TENANT, SURFACE)
    assert stale is not None and stale[1].manifest_version == newer.manifest_version

    again = rollback_scope(
        storage, keys, TENANT, SURFACE, older.manifest_version, reason="t", signals_dsn=postgres_dsn
    )

    assert again.after == older and "serves" in again.signals
    loaded = signals_read.load_signals(postgres_dsn, keys, TENANT, SURFACE)
    assert loaded is not None and loaded[1].manifest_version == older.manifest_version
