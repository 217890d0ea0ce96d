"""`python -m recsys_service.loader_child`: the child ProcessLoader runs to build one version.

Imports what a build needs first, then reads one JSON request on stdin (source, signing keys,
tenant, surface, directory), verifies the scope's current version exactly as an in-process load
does, writes its prepared file and prints one JSON line: {"path": ...} or
{"type": <exception class>, "message": ...} (exit 1). Keys arrive on stdin, never in arguments
or the environment of other processes. A spare child (recsys_service.loader_spare) does its
imports before its request exists; an empty stdin (a spare not needed after all) exits 0.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import os
import sys
from pathlib import Path
from typing import Any

import msgspec

from recsys_algo.contracts.signing import parse_signing_keys
from recsys_algo.serving.model_file import model_arrays, write_prepared
from recsys_algo.serving.precomputed import with_plain_answers
from recsys_service.process_loader import model_key, prepared_name
from recsys_service.reverify import blob_stamps
from recsys_service.scope_sources import StorageSource, source_from_spec

# Imported by a load, on demand (scope_sources): imported before the request instead.
BUILD_MODULES = (
    "recsys_algo.loading.model",
    "recsys_algo.store.registry",
    "recsys_algo.store.signals_read",
)


def warm_up() -> None:
    for name in BUILD_MODULES:
        importlib.import_module(name)


def prepare(request: dict[str, Any]) -> dict[str, Any]:
    source = source_from_spec(request["source"])
    keys = parse_signing_keys(request["keys"])
    tenant, surface = str(request["tenant"]), str(request["surface"])
    loaded = source.load(keys, tenant, surface, dt.datetime.now(dt.UTC))
    # Off the serving path, so plain queries are answered ahead (a lookup when served).
    description, arrays = model_arrays(with_plain_answers(loaded.model, loaded.blend))
    key = model_key(source, loaded.manifest)
    meta = {"model_key": key, "blend": loaded.blend.as_dict(), "model": description}
    if isinstance(source, StorageSource):  # what a later mapping checks the blobs against
        meta["blobs"] = blob_stamps(source.storage, loaded.manifest)
    path = Path(request["directory"]) / prepared_name(tenant, surface, key)
    write_prepared(path, meta, arrays)
    # What was verified and built, for the serving process to serve it under.
    return {
        "path": str(path),
        "token": loaded.token,
        "manifest": msgspec.to_builtins(loaded.manifest),
    }


def main() -> int:
    try:
        warm_up()
        raw = sys.stdin.buffer.read()
        if not raw.strip():
            return 0  # a spare whose parent closed it (or exited) before it was needed
        request = json.loads(raw)
        # Serving processes share the cores: an operator may let them win (RECSYS_LOADER_NICE).
        os.nice(int(request.get("nice", 0)))
        result = prepare(request)
    except Exception as exc:
        print(json.dumps({"type": type(exc).__name__, "message": str(exc)[:2000]}), flush=True)
        return 1
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
