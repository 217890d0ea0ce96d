"""s3:// specifics on a real SeaweedFS: registry end to end, error mapping, conditional headers."""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import io
import threading

import msgspec
import pytest
from click.testing import CliRunner
from litestar.testing import TestClient

from recsys_algo.config import S3_SECRET_KEY_ENV, SharedEnv
from recsys_algo.contracts import layout
from recsys_algo.contracts.errors import ConcurrentPublishError, DataSourceError, NotFoundError
from recsys_algo.contracts.signing import parse_signing_keys
from recsys_algo.store import pointer, registry
from recsys_algo.store.catalog import write_catalog
from recsys_algo.store.rollback import rollback
from recsys_algo.store.s3 import S3Storage
from recsys_algo.store.storage import open_storage
from recsys_pipelines.cli import main
from recsys_service.app import create_app
from tests.integration import seaweed
from tests.integration.conftest import BUCKET
from tests.pipelines.conftest import (
    DAY0,
    KEY_SPEC,
    SMALL_DATA_PARAMS,
    SURFACE,
    TENANT,
    catalog_rows,
    event_lines,
)
from tests.service import builders as service_builders
from tests.support.builders import publish_popularity, signing_keys

T0 = dt.datetime(2026, 11, 21, 6, 0, tzinfo=dt.UTC)


def opened(monkeypatch: pytest.MonkeyPatch, url: str) -> S3Storage:
    """Through the same path as pipelines and service: RECSYS_STORAGE_URL -> open_storage."""
    monkeypatch.setenv("RECSYS_STORAGE_URL", url)
    storage = open_storage(SharedEnv.load().storage_url)
    assert isinstance(storage, S3Storage)
    return storage


def test_publish_read_current_and_rollback_on_s3(
    s3_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage, keys = opened(monkeypatch, s3_env), signing_keys()
    first = publish_popularity(storage, now=T0).manifest
    second = publish_popularity(storage, items=["x", "y"], now=T0 + dt.timedelta(minutes=1))
    assert second.swapped and second.manifest.previous_version == first.manifest_version
    current = registry.read_current(storage, keys, "demo", "home")
    assert current is not None and current.manifest == second.manifest
    assert registry.load_verified(storage, keys, "demo", "home") is not None

    moved_from, moved_to = rollback(
        storage, keys, "demo", "home", reason="bad model", now=T0 + dt.timedelta(minutes=5)
    )
    assert (moved_from, moved_to) == (second.manifest, first)
    current = registry.read_current(storage, keys, "demo", "home")
    assert current is not None and current.manifest == first
    assert [e.version for e in registry.history(storage, keys, "demo", "home")] == [
        second.manifest.manifest_version,
        first.manifest_version,
    ]
    (audit,) = storage.list("registry/demo/home/audit")
    assert msgspec.json.decode(storage.read_bytes(audit))["to_version"] == first.manifest_version
    assert pointer.list_published_scopes(storage) == [("demo", "home")]
    # Same layout as file://: keys sit under the URL's prefix in the bucket.
    name = f"{s3_env.removeprefix(f's3://{BUCKET}/')}/{layout.pointer_key('demo', 'home')}"
    assert storage.client.stat_object(BUCKET, name).size > 0


def test_publish_that_loses_the_pointer_race_raises_and_keeps_the_winner(
    s3_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage, keys = opened(monkeypatch, s3_env), signing_keys()
    publish_popularity(storage, now=T0)
    pointer = layout.pointer_key("demo", "home")
    _, token = storage.read_with_token(pointer)
    storage.write_bytes(pointer, storage.read_bytes(pointer) + b" ")  # another writer moved it
    moved, _ = storage.read_with_token(pointer)
    with pytest.raises(ConcurrentPublishError, match="another publisher won"):
        storage.compare_and_swap(pointer, b"late", token)
    assert storage.read_bytes(pointer) == moved
    assert registry.read_current(storage, keys, "demo", "home") is not None


def test_sdk_put_object_would_turn_conditional_headers_into_metadata(
    seaweed_server: seaweed.SeaweedServer, s3_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Why S3Storage sends conditional PUTs itself: minio's put_object(metadata=...) prefixes
    If-None-Match with x-amz-meta-, so the write is silently unconditional."""
    storage = opened(monkeypatch, s3_env)
    storage.write_new("k", b"first")
    name = storage._name("k")
    client = seaweed_server.client()
    client.put_object(BUCKET, name, io.BytesIO(b"second"), 6, metadata={"If-None-Match": "*"})
    assert storage.read_bytes("k") == b"second"
    assert client.stat_object(BUCKET, name).metadata.get("x-amz-meta-if-none-match") == "*"


def test_missing_bucket_is_a_data_source_error_naming_it(
    s3_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Reads: SeaweedFS creates a missing bucket on PUT for an admin identity (AWS would not).
    storage = opened(monkeypatch, "s3://no-such-bucket-here/x")
    with pytest.raises(DataSourceError, match="bucket no-such-bucket-here does not exist at http"):
        storage.read_bytes("a")
    with pytest.raises(DataSourceError, match="bucket no-such-bucket-here does not exist"):
        storage.list("a")


def test_wrong_secret_is_a_data_source_error_without_the_secret(
    s3_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(S3_SECRET_KEY_ENV, "wrong-secret-value-42")
    storage = opened(monkeypatch, s3_env)
    with pytest.raises(DataSourceError, match="refused the credentials") as info:
        storage.read_bytes("a")
    assert "wrong-secret-value-42" not in str(info.value)


def test_unreachable_endpoint_is_a_data_source_error_naming_it(
    s3_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = seaweed.free_ports(1)[0]
    monkeypatch.setenv("RECSYS_S3_ENDPOINT", f"127.0.0.1:{port}")
    storage = opened(monkeypatch, s3_env)
    with pytest.raises(DataSourceError, match=rf"cannot reach S3 endpoint http://127.0.0.1:{port}"):
        storage.read_bytes("a")
    with pytest.raises(DataSourceError):
        storage.exists("a")


def test_missing_key_on_s3_names_the_s3_uri(s3_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    storage = opened(monkeypatch, s3_env)
    with pytest.raises(NotFoundError, match=rf"^{s3_env}/nope does not exist$"):
        storage.read_bytes("nope")


def test_pipeline_cli_materializes_a_day_on_s3(
    s3_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pipelines' own path (CLI -> Dagster assets -> registry); only the URL differs."""
    for name in ("DAGSTER_HOME", "RECSYS_SIGNING_KEYS_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RECSYS_SIGNING_KEYS", KEY_SPEC)
    monkeypatch.setenv("RECSYS_MODEL_PARAMS", SMALL_DATA_PARAMS)
    storage = opened(monkeypatch, s3_env)
    write_catalog(storage, TENANT, catalog_rows())
    lines = event_lines(DAY0, 30)
    storage.write_bytes(f"raw/{TENANT}/{SURFACE}/{DAY0}/e.jsonl", "\n".join(lines).encode())
    result = CliRunner().invoke(
        main,
        ["materialize", "--date", str(DAY0), "--tenant", TENANT, "--surface", SURFACE],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert f"(as_of {DAY0})" in result.output
    assert storage.list(f"canonical/{TENANT}/{SURFACE}") == [
        f"canonical/{TENANT}/{SURFACE}/{DAY0}.parquet"
    ]
    assert registry.read_current(storage, parse_signing_keys(KEY_SPEC), TENANT, SURFACE) is not None


def test_service_serves_a_manifest_published_on_s3(
    s3_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The service's own path (settings.storage_url -> open_storage) with an s3:// URL."""
    storage = opened(monkeypatch, s3_env)
    service_builders.publish_popularity(
        storage, "demo", "home", service_builders.item_ids("demo-", 10)
    )
    app = create_app(service_builders.make_settings(storage))
    with TestClient(app) as client:
        response = client.post("/v1/recommend", json={"surface": "home", "k": 3})
    assert response.status_code == 200, response.text
    assert [i["item_id"] for i in response.json()["items"]] == ["demo-000", "demo-001", "demo-002"]


@pytest.mark.parametrize("first_publish", [True, False], ids=["if-none-match", "if-match"])
def test_two_concurrent_publishers_exactly_one_wins_and_the_loser_changes_nothing_served(
    s3_env: str, monkeypatch: pytest.MonkeyPatch, first_publish: bool
) -> None:
    """Two publishers (own clients, own threads) both read the same pointer, then both publish:
    the server's conditional write lets exactly one swap; the other gets exit code 6."""
    keys = signing_keys()
    if not first_publish:
        publish_popularity(opened(monkeypatch, s3_env), now=T0)
    pointer = layout.pointer_key("demo", "home")
    both_read = threading.Barrier(2, timeout=30)

    def publisher(items: list[str], minute: int) -> object:
        storage = opened(monkeypatch, s3_env)
        read = storage.read_with_token

        def read_then_wait(key: str) -> tuple[bytes, str]:
            try:
                return read(key)
            finally:
                if key == pointer:
                    both_read.wait()  # neither swaps before both have seen the same pointer

        storage.read_with_token = read_then_wait  # type: ignore[method-assign]
        try:
            return publish_popularity(storage, items=items, now=T0 + dt.timedelta(minutes=minute))
        except ConcurrentPublishError as exc:
            return exc

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        outcomes = list(pool.map(publisher, [["p", "q"], ["x", "y"]], [1, 2]))
    winners = [o for o in outcomes if isinstance(o, registry.PublishOutcome)]
    losers = [o for o in outcomes if isinstance(o, ConcurrentPublishError)]
    assert len(winners) == 1 and len(losers) == 1, outcomes
    assert losers[0].exit_code == 6 and "another publisher won" in str(losers[0])
    storage = opened(monkeypatch, s3_env)
    current = registry.read_current(storage, keys, "demo", "home")
    assert current is not None and current.manifest == winners[0].manifest
    assert registry.load_verified(storage, keys, "demo", "home") is not None
    # The loser's complete, signed record stays in history (never overwritten, never served).
    versions = {e.version for e in registry.history(storage, keys, "demo", "home")}
    assert winners[0].manifest.manifest_version in versions
    assert len(versions) == (2 if first_publish else 3)
