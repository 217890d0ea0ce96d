"""The recsys CLI: outputs, one-line errors and the documented exit codes."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from recsys_algo.contracts.errors import ConcurrentPublishError
from recsys_algo.contracts.signing import parse_signing_keys
from recsys_algo.store import registry
from recsys_algo.store.catalog import write_catalog
from recsys_algo.store.storage import FileStorage, open_storage
from recsys_pipelines.cli import main
from tests.pipelines.conftest import (
    DAY0,
    KEY_SPEC,
    SMALL_DATA_PARAMS,
    SURFACE,
    TENANT,
    catalog_rows,
    event_lines,
)


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FileStorage:
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.delenv("RECSYS_SIGNING_KEYS_FILE", raising=False)
    url = (tmp_path / "store").as_uri()
    monkeypatch.setenv("RECSYS_STORAGE_URL", url)
    monkeypatch.setenv("RECSYS_SIGNING_KEYS", KEY_SPEC)
    monkeypatch.setenv("RECSYS_MODEL_PARAMS", SMALL_DATA_PARAMS)
    storage = open_storage(url)
    assert isinstance(storage, FileStorage)
    write_catalog(storage, TENANT, catalog_rows())
    return storage


def write_days(store: FileStorage, days: int, per_day: int = 30) -> None:
    for i in range(days):
        day = DAY0 + dt.timedelta(days=i)
        lines = event_lines(day, per_day, offset=i)
        store.write_bytes(f"raw/{TENANT}/{SURFACE}/{day}/e.jsonl", "\n".join(lines).encode())


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def scope(*extra: str) -> list[str]:
    return ["--tenant", TENANT, "--surface", SURFACE, *extra]


def test_materialize_range_publishes_every_day_and_prints_digests(store: FileStorage) -> None:
    write_days(store, 3)
    result = invoke("materialize", *scope("--start", "2026-11-01", "--end", "2026-11-03"))
    assert result.exit_code == 0, result.output
    assert "(as_of 2026-11-03)" in result.output
    assert "popularity: sha256 " in result.output
    history = registry.history(store, parse_signing_keys(KEY_SPEC), TENANT, SURFACE)
    assert [e.manifest.as_of for e in history if e.manifest] == [
        "2026-11-03",
        "2026-11-02",
        "2026-11-01",
    ]


def test_manifests_lists_history_newest_first_and_marks_the_serving_one(store: FileStorage) -> None:
    write_days(store, 2)
    invoke("materialize", *scope("--start", "2026-11-01", "--end", "2026-11-02"))
    invoke("rollback", *scope())
    output = invoke("manifests", *scope()).output.splitlines()
    assert output[0].startswith("HELD: held since ")  # a rollback holds by default
    lines = output[output.index(next(x for x in output if "version" in x)) + 1 :]
    assert [line[0] for line in lines] == [" ", "*"]
    assert "2026-11-01" in lines[1]


def test_rollback_to_explicit_version_and_back(store: FileStorage) -> None:
    write_days(store, 2)
    invoke("materialize", *scope("--start", "2026-11-01", "--end", "2026-11-02"))
    keys = parse_signing_keys(KEY_SPEC)
    newest, oldest = (e.version for e in registry.history(store, keys, TENANT, SURFACE))
    result = invoke("rollback", *scope("--to", oldest))
    assert result.exit_code == 0 and f"-> {oldest}" in result.output
    result = invoke("rollback", *scope("--to", newest, "--reason", "undo"))
    assert result.exit_code == 0
    current = registry.read_current(store, keys, TENANT, SURFACE)
    assert current is not None and current.manifest.manifest_version == newest


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (
            ["materialize", "--tenant", "../etc", "--surface", "home", "--date", "2026-11-01"],
            2,
            "tenant",
        ),
        (["materialize", *scope("--date", "2026-13-01")], 2, "YYYY-MM-DD"),
        (["materialize", *scope()], 2, "either --date"),
        (["materialize", *scope("--start", "2026-11-02", "--end", "2026-11-01")], 2, "before"),
        (["materialize", *scope("--date", "2026-11-20")], 3, "no landing files"),
        (["rollback", *scope()], 3, "nothing is published"),
        (["rollback", *scope("--to", "../../x")], 2, "manifest version"),
        (["manifests", *scope()], 3, "no manifests"),
    ],
)
def test_errors_are_one_line_with_the_documented_exit_code(
    store: FileStorage, args: list[str], code: int, message: str
) -> None:
    if args[0] == "rollback" and "--to" in args:
        write_days(store, 1)
        invoke("materialize", *scope("--date", "2026-11-01"))
    result = CliRunner().invoke(main, args)
    assert result.exit_code == code, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_missing_signing_keys_is_a_config_error(
    store: FileStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RECSYS_SIGNING_KEYS")
    write_days(store, 1)
    result = CliRunner().invoke(main, ["materialize", *scope("--date", "2026-11-01")])
    assert result.exit_code == 2
    assert "RECSYS_SIGNING_KEYS" in result.output


def test_failed_gate_exits_4_and_names_the_check(store: FileStorage) -> None:
    store.write_bytes(f"raw/{TENANT}/{SURFACE}/2026-11-01/e.jsonl", b"{broken\n")
    result = CliRunner().invoke(main, ["materialize", *scope("--date", "2026-11-01")])
    assert result.exit_code == 4, result.output
    assert "canonical_events_min_events" in result.output


def test_tampered_rollback_target_exits_5(store: FileStorage) -> None:
    write_days(store, 2)
    invoke("materialize", *scope("--start", "2026-11-01", "--end", "2026-11-02"))
    keys = parse_signing_keys(KEY_SPEC)
    oldest = registry.history(store, keys, TENANT, SURFACE)[-1]
    key = f"registry/{TENANT}/{SURFACE}/manifests/{oldest.version}.json"
    document = json.loads(store.read_bytes(key))
    document["as_of"] = "2026-12-31"
    store.delete(key)
    store.write_bytes(key, json.dumps(document).encode())
    result = CliRunner().invoke(main, ["rollback", *scope("--to", oldest.version)])
    assert result.exit_code == 5, result.output
    assert "signature does not match" in result.output


def test_lost_publish_race_exits_6(store: FileStorage, monkeypatch: pytest.MonkeyPatch) -> None:
    write_days(store, 1)

    def lose(*_: object, **__: object) -> str:
        raise ConcurrentPublishError(
            "registry/current/acme/home/manifest.json changed while publishing"
        )

    monkeypatch.setattr(FileStorage, "compare_and_swap", lose)
    result = CliRunner().invoke(main, ["materialize", *scope("--date", "2026-11-01")])
    assert result.exit_code == 6, result.output
    assert "changed while publishing" in result.output


def test_verbose_shows_the_traceback(store: FileStorage) -> None:
    result = CliRunner().invoke(main, ["--verbose", "rollback", *scope()])
    assert result.exit_code == 3
    assert "Traceback" in result.output
