"""Screenshots of the Dagster UI for docs/operations.md, taken with headless Chromium.

Builds a throwaway store and instance (synthetic data, three days materialized with
`recsys materialize`, then the `rollback` job, which holds the scope), starts a real
`dagster-webserver` on it and photographs: the asset graph, a partitioned asset, the `manifest`
asset after the rollback and the hold's check. Needs Debian's `chromium` package
(`apt-get install -y chromium`).

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import dagster as dg

from tests.integration.dagster_procs import prepare_home, start_webserver

REPO = Path(__file__).resolve().parents[1]
RECSYS = Path(sys.executable).parent / "recsys"
TENANT, SURFACE = "demo", "home"
START, DAYS = dt.date(2026, 11, 1), 3
SIGNING_SPEC = "shots:" + "ab" * 32  # a throwaway key for a temporary store
WIDTH, HEIGHT = 1600, 1000
# file name -> the UI page (path and query) it shows.
# The graph is everything upstream of `manifest` (the global lineage collapses the groups).
PAGES = {
    "ui-asset-graph.png": "/assets/manifest?view=lineage&lineageScope=upstream&lineageDepth=6",
    "ui-partitioned-asset.png": "/assets/canonical_events?view=partitions&partition="
    f"{START + dt.timedelta(days=DAYS - 1)}%7C{TENANT}.{SURFACE}",
    "ui-manifest-after-rollback.png": "/assets/manifest?view=events",
    "ui-hold-check.png": "/assets/manifest?view=checks&checkDetail=manifest_not_held",
}


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    sys.exit("error: no chromium on PATH: apt-get install -y chromium")


def recsys(env: dict[str, str], *args: str) -> None:
    done = subprocess.run([str(RECSYS), *args], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"error: recsys {' '.join(args)} failed:\n{done.stderr[-3000:]}")


def build(root: Path) -> dict[str, str]:
    """A store with three published days of demo/home and a Dagster instance that ran them."""
    home = prepare_home(root / "dagster_home", REPO / "dagster.yaml")
    env = {
        **os.environ,
        "OPENBLAS_NUM_THREADS": "1",
        "RECSYS_STORAGE_URL": (root / "store").as_uri(),
        "RECSYS_SIGNING_KEYS": SIGNING_SPEC,
        "RECSYS_FIRST_DAY": START.isoformat(),
        "DAGSTER_HOME": str(home),
    }
    scope = ["--tenant", TENANT, "--surface", SURFACE]
    last = START + dt.timedelta(days=DAYS - 1)
    recsys(env, "generate", *scope, "--start", str(START), "--days", str(DAYS),
           "--events-per-day", "50000")  # fmt: skip
    recsys(env, "materialize", *scope, "--start", str(START), "--end", str(last))
    return env


def roll_back(env: dict[str, str]) -> None:
    """The `rollback` job, as the UI's launchpad runs it: back one version, and hold."""
    os.environ.update(env)  # the job's resources read the store and keys from the environment
    from recsys_pipelines.definitions import defs

    config = {"tenant": TENANT, "surface": SURFACE, "reason": "screenshot: bad model"}
    with dg.DagsterInstance.get() as instance:
        result = defs.get_job_def("rollback").execute_in_process(
            run_config={"ops": {"rollback_manifest": {"config": config}}}, instance=instance
        )
    if not result.success:
        sys.exit("error: the rollback job failed")


def shoot(browser: str, url: str, target: Path, profile: Path) -> None:
    args = [
        browser, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
        f"--user-data-dir={profile}", f"--window-size={WIDTH},{HEIGHT}",
        "--virtual-time-budget=20000", f"--screenshot={target}", url,
    ]  # fmt: skip
    done = subprocess.run(args, capture_output=True, text=True, timeout=180)
    if done.returncode != 0 or not target.exists():
        sys.exit(f"error: chromium could not photograph {url}:\n{done.stderr[-2000:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    args = parser.parse_args()
    browser = chromium()
    args.out.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="screenshots_"))
    try:
        env = build(root)
        roll_back(env)
        stack = start_webserver(Path(env["DAGSTER_HOME"]), env, timeout=300)
        try:
            time.sleep(2)  # the asset graph's first layout
            for name, page in PAGES.items():
                shoot(browser, stack.url + page, args.out / name, root / "chromium")
                print(f"wrote {args.out / name}")
        finally:
            stack.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
