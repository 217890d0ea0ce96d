"""The CLI an on-call engineer types: holds that stick, one-line errors, a broken pointer
diagnosed instead of a crash (issue 16, item 6). Holds through the CLI; the programs' own
behaviour (pipes, local defaults, quiet failures) through real `recsys` processes."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from recsys_algo.contracts import layout
from recsys_algo.contracts.signing import parse_signing_keys
from recsys_algo.store import registry
from recsys_algo.store.catalog import write_catalog
from recsys_algo.store.storage import FileStorage, open_storage
from recsys_pipelines.cli import main
from recsys_pipelines.runner import dagster_instance, register_scope
from tests.pipelines.conftest import (
    DAY0,
    KEY_SPEC,
    SMALL_DATA_PARAMS,
    SURFACE,
    TENANT,
    catalog_rows,
)
from tests.pipelines.test_cli import scope, write_days

KEYS = parse_signing_keys(KEY_SPEC)
DAY1, DAY2, DAY3 = (DAY0 + dt.timedelta(days=i) for i in range(3))


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def use_store(root: Path, monkeypatch: pytest.MonkeyPatch) -> FileStorage:
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.delenv("RECSYS_SIGNING_KEYS_FILE", raising=False)
    monkeypatch.setenv("RECSYS_STORAGE_URL", root.as_uri())
    monkeypatch.setenv("RECSYS_SIGNING_KEYS", KEY_SPEC)
    monkeypatch.setenv("RECSYS_MODEL_PARAMS", SMALL_DATA_PARAMS)
    storage = open_storage(root.as_uri())
    assert isinstance(storage, FileStorage)
    return storage


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Days 1 and 2 published, day 3's files landed: built once, copied by each test."""
    root = tmp_path_factory.mktemp("published") / "store"
    with pytest.MonkeyPatch.context() as monkeypatch:
        storage = use_store(root, monkeypatch)
        write_catalog(storage, TENANT, catalog_rows())
        write_days(storage, 3)
        result = run("materialize", *scope("--start", str(DAY1), "--end", str(DAY2)))
        assert result.exit_code == 0, result.output
    return root


@pytest.fixture
def two_days(published: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FileStorage:
    shutil.copytree(published, tmp_path / "store")
    return use_store(tmp_path / "store", monkeypatch)


def serving(store: FileStorage) -> str:
    current = registry.read_current(store, KEYS, TENANT, SURFACE)
    assert current is not None
    return current.manifest.manifest_version


def versions_by_day(store: FileStorage) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for entry in registry.history(store, KEYS, TENANT, SURFACE):
        assert entry.manifest is not None
        found.setdefault(entry.manifest.as_of, []).append(entry.version)
    return found


def test_a_rollback_holds_until_release_then_the_next_run_serves(two_days: FileStorage) -> None:
    store = two_days
    first = versions_by_day(store)[str(DAY1)][0]
    rolled = run("rollback", *scope("--reason", "bad model", "--by", "alice"))
    assert rolled.exit_code == 0, rolled.output
    assert "held: later runs publish to history, not served, until `recsys release" in rolled.output
    assert serving(store) == first

    # What tomorrow's run does: computes, gates and records, and the rolled-back version serves.
    held_run = run("materialize", *scope("--date", str(DAY3)))
    assert held_run.exit_code == 0, held_run.output
    assert "held: published to history, not served (held since " in held_run.output
    assert "by alice (recsys rollback): bad model" in held_run.output
    assert serving(store) == first
    assert len(versions_by_day(store)[str(DAY3)]) == 1

    listing = run("manifests", *scope())
    assert listing.output.splitlines()[0].startswith("HELD: held since ")

    released = run("release", *scope("--reason", "fixed"))
    assert released.exit_code == 0, released.output
    assert f"released {TENANT}/{SURFACE} (was held since " in released.output
    assert not store.exists(layout.hold_key(TENANT, SURFACE))
    rerun = run("materialize", *scope("--date", str(DAY3)))
    assert rerun.exit_code == 0, rerun.output
    assert serving(store) == max(versions_by_day(store)[str(DAY3)])
    actions = sorted(k.rsplit("-", 1)[-1] for k in store.list(f"registry/{TENANT}/{SURFACE}/audit"))
    assert actions == ["hold.json", "release.json", "rollback.json"]


def test_rollback_without_hold_lets_the_next_run_serve(two_days: FileStorage) -> None:
    assert run("rollback", *scope("--no-hold")).exit_code == 0
    assert run("materialize", *scope("--date", str(DAY3))).exit_code == 0
    assert serving(two_days) == versions_by_day(two_days)[str(DAY3)][0]


def test_release_to_a_version_recorded_while_held_serves_it_and_ends_the_hold(
    two_days: FileStorage,
) -> None:
    store = two_days
    held = run("hold", *scope("--reason", "investigating"))
    assert held.exit_code == 0 and "held: held since " in held.output
    newest = versions_by_day(store)[str(DAY2)][0]
    assert run("materialize", *scope("--date", str(DAY3))).exit_code == 0
    assert serving(store) == newest
    recorded = versions_by_day(store)[str(DAY3)][0]
    released = run("release", *scope("--to", recorded))
    assert released.exit_code == 0, released.output
    assert f"rolled forward: {newest} -> {recorded}" in released.output
    assert serving(store) == recorded
    assert not store.exists(layout.hold_key(TENANT, SURFACE))


def test_a_hold_record_that_does_not_verify_still_holds_and_release_clears_it(
    two_days: FileStorage,
) -> None:
    store = two_days
    assert run("hold", *scope("--reason", "x")).exit_code == 0
    key = layout.hold_key(TENANT, SURFACE)
    document = json.loads(store.read_bytes(key))
    document["reason"] = "someone else's words"
    store.write_bytes(key, json.dumps(document).encode())
    before = serving(store)
    result = run("materialize", *scope("--date", str(DAY3)))
    assert result.exit_code == 0, result.output
    assert "hold record unreadable, counted as held" in result.output
    assert serving(store) == before
    assert run("release", *scope()).exit_code == 0
    assert not store.exists(key)


def test_a_failed_rollback_leaves_no_hold_behind(two_days: FileStorage) -> None:
    result = run("rollback", *scope("--to", "20990101T000000000Z-deadbeef"))
    assert result.exit_code == 3, result.output
    assert not two_days.exists(layout.hold_key(TENANT, SURFACE))


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["release", *scope()], 3, f"error: {TENANT}/{SURFACE} is not held: nothing to release"),
        (
            ["hold", *scope("--reason", "  ")],
            2,
            f"error: {TENANT}/{SURFACE}: a hold needs a reason",
        ),
        (["hold", *scope()], 2, "error: Missing option '--reason'."),
        (["rollback", *scope("--to", "")], 2, "error: Invalid value for '--to': is empty"),
        (["rollback", *scope("--to", "  ")], 2, "error: Invalid value for '--to': is empty"),
        (
            ["manifests", "--tenant", "Acme", "--surface", SURFACE],
            2,
            "error: Invalid value for '--tenant': tenant 'Acme' is invalid",
        ),
        (["materialize", *scope("--date", "2026-11-31")], 2, "error: Invalid value for '--date'"),
        (["no-such-command"], 2, "error: No such command 'no-such-command'."),
    ],
)
def test_refusals_are_one_error_line_without_a_usage_block(
    two_days: FileStorage, args: list[str], code: int, message: str
) -> None:
    store = two_days
    before = serving(store)
    result = run(*args)
    assert result.exit_code == code, result.output
    assert result.output.startswith(message), result.output
    assert len(result.output.splitlines()) == 1, result.output
    assert "Usage:" not in result.output
    assert serving(store) == before  # a refusal changes nothing


@pytest.mark.parametrize("pointer", [b"", b"[]", b"{}", b"garbage\xff", b'{"schema_version": 1}'])
def test_manifests_diagnoses_a_broken_pointer_and_still_lists_the_history(
    two_days: FileStorage, pointer: bytes
) -> None:
    store = two_days
    store.write_bytes(layout.pointer_key(TENANT, SURFACE), pointer)
    result = run("manifests", *scope())
    assert result.exit_code == 5, result.output
    assert "POINTER BROKEN: " in result.output
    assert "unexpected" not in result.output and "Traceback" not in result.output
    assert all(v in result.output for vs in versions_by_day(store).values() for v in vs)
    document = json.loads(run("manifests", *scope("--json")).stdout)
    assert document["pointer"]["state"] == "broken" and document["serving"] is None


def test_manifests_json_holds_gates_and_metrics_and_limit_reads_the_newest(
    two_days: FileStorage,
) -> None:
    assert run("hold", *scope("--reason", "freeze", "--by", "bob")).exit_code == 0
    result = run("manifests", *scope("--json", "--limit", "1"))
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["hold"]["by"] == "bob" and document["hold"]["reason"] == "freeze"
    [newest] = document["manifests"]
    assert newest["serving"] and newest["as_of"] == str(DAY2)
    assert newest["quality_gate"]["verdict"] == "passed"
    assert newest["metrics"]["popularity.rows"] > 0
    assert set(newest["artifacts"]) >= {"popularity", "cooc"}


@pytest.fixture
def instance_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A DAGSTER_HOME as `make demo` leaves it: runs recorded where `recsys status` reads them."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(Path(__file__).resolve().parents[2] / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


def status(*args: str) -> tuple[int, dict[str, Any]]:
    result = run("status", *args, "--json")
    document = json.loads(result.stdout)
    assert document["exit_code"] == result.exit_code, result.output
    return result.exit_code, document


def test_status_exit_code_follows_what_serves_holds_and_the_last_run(
    two_days: FileStorage, instance_home: Path
) -> None:
    code, document = status(*scope())
    [report] = document["scopes"]
    assert (code, report["level"], report["problems"]) == (0, "ok", [])
    assert report["serving"]["as_of"] == str(DAY2)
    assert report["last_run"] is None  # the instance holds no run of this scope yet

    assert run("hold", *scope("--reason", "freeze", "--by", "ops")).exit_code == 0
    code, document = status()  # every scope
    assert (code, document["scopes"][0]["level"]) == (10, "held")
    assert document["scopes"][0]["hold"]["by"] == "ops"
    text = run("status", *scope())
    assert text.exit_code == 10 and f"{TENANT}/{SURFACE}  HELD  serving " in text.output
    assert run("release", *scope()).exit_code == 0

    # A day that fails its gate: the scope is failing, and the run's messages say why.
    two_days.write_bytes(f"raw/{TENANT}/{SURFACE}/{DAY0 + dt.timedelta(days=5)}/e.jsonl", b"x\n")
    bad = run("materialize", *scope("--date", str(DAY0 + dt.timedelta(days=5))))
    assert bad.exit_code == 4
    code, document = status(*scope())
    [report] = document["scopes"]
    assert (code, report["level"]) == (12, "failing")
    assert report["last_run"]["status"] == "FAILURE"
    assert any("canonical_events_min_events" in m for m in report["last_run"]["messages"])


def test_status_names_broken_pointers_and_scopes_that_serve_nothing(
    two_days: FileStorage, instance_home: Path
) -> None:
    with dagster_instance() as instance:  # as the landing_scopes sensor does for a new folder
        register_scope(instance, "other", SURFACE)
    code, document = status()
    levels = {f"{r['tenant']}/{r['surface']}": r["level"] for r in document["scopes"]}
    # `other` is registered, has never run and serves nothing.
    assert (code, levels) == (11, {f"{TENANT}/{SURFACE}": "ok", f"other/{SURFACE}": "stale"})
    two_days.write_bytes(layout.pointer_key(TENANT, SURFACE), b"[]")
    code, document = status(*scope())
    assert (code, document["scopes"][0]["pointer"]["state"]) == (5, "broken")
    assert "must be a JSON object" in document["scopes"][0]["problems"][0]


def test_status_wants_both_names_or_neither(two_days: FileStorage) -> None:
    result = run("status", "--tenant", TENANT)
    assert result.exit_code == 2 and "give both --tenant and --surface" in result.output


def test_generating_days_before_the_first_partition_date_says_how_to_reach_them(
    two_days: FileStorage,
) -> None:
    args = ["generate", *scope("--days", "1", "--events-per-day", "20")]
    old = run(*args, "--start", "2025-06-01")
    assert old.exit_code == 0, old.output
    assert "landing files from 2025-06-01, before the partitions' first date 2026-01-01: " in (
        old.output
    )
    assert "set RECSYS_FIRST_DAY=2025-06-01 " in old.output
    two_days.delete(f"raw/{TENANT}/{SURFACE}/2025-06-01/synthetic.jsonl")
    recent = run(*args, "--start", str(DAY0 + dt.timedelta(days=9)))
    assert recent.exit_code == 0 and "warning" not in recent.output
