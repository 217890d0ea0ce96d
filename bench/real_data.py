"""The public data sets end to end, every day, through the commands docs/data.md shows: import,
`recsys materialize` over the whole log, `recsys serve`, a recommendation for a known user and
for a session. Prints one markdown table (the record in docs/data.md) and each day's line to a
log file.

    .venv/bin/python bench/real_data.py [--data ml-100k diginetica-sample] [--last-days N]
                                        [--keep DIR]

Reads ../shared/data (or RECSYS_SHARED_DATA); writes only under a temporary folder, removed at
exit, or under --keep DIR (outside the repository), kept: the store and each command's output
with every day's line (DIR/{data set}/{data set}.log), to see why each day was held.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import datetime as dt
import hashlib
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import polars as pl
import pyarrow.compute as pc

from recsys_algo.contracts.signing import parse_signing_keys
from recsys_algo.kinds.kind import FACTORS
from recsys_algo.store import registry
from recsys_algo.store.storage import FileStorage
from tests.support.processes import stop_process
from tests.support.service_process import free_port

REPO = Path(__file__).resolve().parents[1]
KEY_SPEC = "bench-1:" + "6b" * 32  # a throwaway key for a temporary store
ADMIN_KEY = "bench-admin-key"
SURFACE = "home"
DATASETS = {  # name -> (tenant, import subcommand)
    "ml-latest-small": ("movielens", "movielens"),
    "ml-100k": ("ml100k", "movielens"),
    "diginetica-sample": ("diginetica", "diginetica"),
}
DAY_LINE = re.compile(r"^([0-9]{4}-[0-9]{2}-[0-9]{2})  (published|held by gate|skipped|failed)")
GATE = re.compile(r"(canonical_events_[a-z_]+|quality gate failed|guardrail)")


@dataclass
class Record:
    name: str
    days: int
    published: int
    held: collections.Counter[str]
    skipped: int
    failed: int
    exit_code: int
    seconds: float
    kinds: list[str]
    omitted: dict[str, str]
    user_sources: str
    session_sources: str


def shared() -> Path:
    return Path(os.environ.get("RECSYS_SHARED_DATA") or REPO.parent / "shared" / "data")


def recsys(*args: str, env: dict[str, str], log: Path) -> tuple[int, str]:
    done = subprocess.run(
        [str(Path(sys.executable).with_name("recsys")), *args],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    with log.open("a") as out:
        out.write(f"$ recsys {' '.join(args)}\n{done.stdout}{done.stderr}\n")
    return done.returncode, done.stdout + done.stderr


def ask(base: str, tenant: str, body: dict[str, object]) -> str:
    headers = {"X-API-Key": ADMIN_KEY, "X-Tenant": tenant}
    response = httpx.post(f"{base}/v1/recommend", json={"surface": SURFACE, "k": 10, **body},
                          headers=headers, timeout=30)  # fmt: skip
    if response.status_code != 200:
        return f"HTTP {response.status_code}"
    counts = collections.Counter(item["source"] for item in response.json()["items"])
    return ", ".join(f"{kind} {n}" for kind, n in counts.most_common())


def probes(storage: FileStorage, tenant: str) -> tuple[str | None, list[str]]:
    """A user the served implicit model knows, and the longest session of the served day."""
    found = registry.load_verified_tables(storage, parse_signing_keys(KEY_SPEC), tenant, SURFACE)
    assert found is not None
    current, tables = found
    user = None
    if FACTORS in tables:
        factors = tables[FACTORS]
        user = str(factors.filter(pc.equal(factors["entity"], "user"))["id"][0])
    day = current.manifest.as_of
    frame = pl.read_parquet(storage.read_bytes(f"canonical/{tenant}/{SURFACE}/{day}.parquet"))
    keyed = frame.sort("ts").with_columns(pl.coalesce("session_id", "user_id").alias("key"))
    sessions = keyed.group_by("key", maintain_order=True).agg(pl.col("item_id"))["item_id"]
    return user, list(dict.fromkeys(max(sessions.to_list(), key=len)))[:5]


def run(name: str, root: Path, last_days: int | None) -> Record:
    tenant, command = DATASETS[name]
    storage = FileStorage(root / "store")
    log = root / f"{name}.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RECSYS_", "DAGSTER_"))}
    env.update(RECSYS_STORAGE_URL=storage.url, RECSYS_SIGNING_KEYS=KEY_SPEC,
               RECSYS_FIRST_DAY="1996-01-01", OPENBLAS_NUM_THREADS="1")  # fmt: skip
    code, out = recsys("import", command, str(shared() / name), "--tenant", tenant,
                       "--surface", SURFACE, env=env, log=log)  # fmt: skip
    if code:
        sys.exit(f"import {name} failed ({code}): {out}")
    days = sorted({key.split("/")[3] for key in storage.list(f"raw/{tenant}/{SURFACE}")})
    first, last = dt.date.fromisoformat(days[0]), dt.date.fromisoformat(days[-1])
    if last_days:
        first = max(first, last - dt.timedelta(days=last_days - 1))
    start = time.perf_counter()
    code, out = recsys("materialize", "--tenant", tenant, "--surface", SURFACE,
                       "--start", str(first), "--end", str(last), env=env, log=log)  # fmt: skip
    seconds = time.perf_counter() - start
    lines = [line for line in out.splitlines() if DAY_LINE.match(line)]
    status = collections.Counter(DAY_LINE.match(line).group(2) for line in lines)  # type: ignore[union-attr]
    held = collections.Counter(
        m.group(1) for line in lines if "held by gate" in line for m in GATE.finditer(line)
    )
    current = registry.read_current(storage, parse_signing_keys(KEY_SPEC), tenant, SURFACE)
    if current is None:
        sys.exit(f"{name}: nothing serves after materialize ({code}); see {log}")
    manifest = current.manifest
    user, session = probes(storage, tenant)
    port = free_port()
    service_env = {**env, "RECSYS_API_KEYS": f"ops:*:{_sha(ADMIN_KEY)}",
                   "RECSYS_PREPARED_DIR": str(root / "prepared")}  # fmt: skip
    with (root / f"{name}.service.log").open("wb") as stderr:
        proc = subprocess.Popen(
            [str(Path(sys.executable).with_name("recsys")), "serve", "--port", str(port)],
            env=service_env, stdout=subprocess.DEVNULL, stderr=stderr,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(base)
        by_user = ask(base, tenant, {"user_id": user}) if user else "no implicit model"
        by_session = ask(base, tenant, {"session_items": session})
    finally:
        stop_process(proc, grace=10)
    return Record(
        name, (last - first).days + 1, status["published"], held, status["skipped"],
        status["failed"], code, seconds, sorted(manifest.artifacts),
        dict(manifest.lineage.omitted_kinds), by_user, by_session,
    )  # fmt: skip


def _sha(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _wait(base: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    sys.exit(f"the service at {base} did not become ready")


@contextlib.contextmanager
def _workdir(keep: Path | None) -> Iterator[str]:
    if keep is None:
        with tempfile.TemporaryDirectory(prefix="real-data-") as tmp:
            yield tmp
    else:
        keep.mkdir(parents=True)
        yield str(keep)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", nargs="*", choices=list(DATASETS), default=list(DATASETS))
    parser.add_argument("--last-days", type=int, help="only the log's last N calendar days")
    parser.add_argument("--keep", type=Path, help="work under this new folder and keep it")
    args = parser.parse_args()
    if args.keep is not None and args.keep.exists():
        parser.error(f"--keep {args.keep}: already exists; name a new folder")
    records = []
    with _workdir(args.keep) as tmp:
        for name in args.data:
            if not (shared() / name).is_dir():
                print(f"skipped {name}: not at {shared() / name}", file=sys.stderr)
                continue
            folder = Path(tmp) / name
            folder.mkdir()
            records.append(run(name, folder, args.last_days))
            kept = "kept" if args.keep else "removed at exit"
            print(f"{name}: done, logs in {folder} ({kept})", file=sys.stderr)
    print(
        "| data set | calendar days | published | held by gate (which) | skipped (no data) "
        "| exit | wall | kinds served | left out | known user → sources | session → sources |"
    )
    print("|---|---:|---:|---|---:|---:|---:|---|---|---|---|")
    for r in records:
        held = ", ".join(f"{gate} {n}" for gate, n in r.held.most_common()) or "0"
        omitted = "; ".join(f"{k}: {why}" for k, why in r.omitted.items()) or "none"
        print(f"| {r.name} | {r.days} | {r.published} | {held} | {r.skipped} | {r.exit_code} | "
              f"{r.seconds / 60:.1f} min | {', '.join(r.kinds)} | {omitted} | {r.user_sources} "
              f"| {r.session_sources} |")  # fmt: skip


if __name__ == "__main__":
    main()
