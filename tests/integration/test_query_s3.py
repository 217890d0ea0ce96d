"""`recsys query` on s3:// storage (the SeaweedFS the suite starts): the views are read through
the storage interface, since DuckDB's httpfs extension cannot be installed offline."""

from __future__ import annotations

import csv
import io

import pytest
from click.testing import CliRunner

from recsys_algo.contracts.names import Partition
from recsys_algo.stages.ingest import canonicalize_partition, ingest_partition
from recsys_algo.store.storage import open_storage
from recsys_pipelines.cli import main
from tests.pipelines.conftest import DAY0, event_lines
from tests.support.builders import SIGNING_SPEC, publish_popularity


def test_query_reads_events_quarantine_and_manifests_from_s3(
    s3_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RECSYS_SIGNING_KEYS_FILE", raising=False)
    monkeypatch.setenv("RECSYS_STORAGE_URL", s3_env)
    monkeypatch.setenv("RECSYS_SIGNING_KEYS", SIGNING_SPEC)
    storage = open_storage(s3_env)
    lines = [*event_lines(DAY0, 40), "{not json"]
    storage.write_bytes(f"raw/acme/home/{DAY0}/e.jsonl", "\n".join(lines).encode())
    ingest_partition(storage, Partition("acme", "home", DAY0))
    canonicalize_partition(storage, Partition("acme", "home", DAY0))
    version = publish_popularity(storage, tenant="acme", surface="home").manifest.manifest_version

    sql = (
        "SELECT (SELECT count(*) FROM events) AS events, "
        "(SELECT count(*) FROM quarantine) AS rejected, "
        "(SELECT version FROM manifests WHERE serving) AS serving"
    )
    result = CliRunner().invoke(main, ["query", sql, "--format", "csv"])
    assert result.exit_code == 0, result.output
    [row] = list(csv.DictReader(io.StringIO(result.stdout)))
    assert row == {"events": "40", "rejected": "1", "serving": version}
