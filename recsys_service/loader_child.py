"""`python -m recsys_service.loader_child`: the child ProcessLoader runs to build one version.

Imports what a build needs first, then reads one JSON request on stdin (source, signing keys,
tenant, surface, directory), verifies the scope's current version exactly as an in-process load
does and writes its prepared file, and prints one JSON line: {"path": ..., "plain": ...} or
{"type": <exception class>, "message": ...} (exit 1). The serving process maps the file as soon
as that line arrives. Then the child answers every plain query ahead (precomputed.py) and
writes those answers to the file the first line named under "plain", which the serving
processes map at a later poll, and prints {"plain": ...} (or the error line, exit 1: the version
then answers plain queries live, identically). Keys arrive on stdin, never in arguments or the
environment of other processes. A spare child (recsys_service.loader_spare) does its imports
before its request exists; an empty stdin (a spare not needed after all) exits 0.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

from recsys_algo.contracts.signing import parse_signing_keys
from recsys_algo.serving.model_file import model_arrays, plain_arrays, write_prepared
from recsys_algo.serving.precomputed import plain_answers
from recsys_service.prepared_versions import model_key, plain_path, prepared_name
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


def prepare(request: dict[str, Any]) -> tuple[dict[str, Any], Callable[[], dict[str, Any]]]:
    """Verify and build the version, write its prepared file (no plain answers): what to
    report, and the second step that writes its plain answers."""
    source = source_from_spec(request["source"])
    keys = parse_signing_keys(request["keys"])
    tenant, surface = str(request["tenant"]), str(request["surface"])
    loaded = source.load(keys, tenant, surface, dt.datetime.now(dt.UTC))
    description, arrays = model_arrays(loaded.model)
    key = model_key(source, loaded.manifest)
    meta = {"model_key": key, "blend": loaded.blend.as_dict(), "model": description}
    if isinstance(source, StorageSource):  # what a later mapping checks the blobs against
        meta["blobs"] = blob_stamps(source.storage, loaded.manifest)
    path = Path(request["directory"]) / prepared_name(tenant, surface, key)
    write_prepared(path, meta, arrays)
    later = plain_path(path)

    def write_plain() -> dict[str, Any]:
        # Off the serving path, so plain queries are answered ahead (a lookup when served).
        described, found = plain_arrays(plain_answers(loaded.model, loaded.blend))
        write_prepared(later, {"model_key": key, "plain": described}, found)
        return {"plain": str(later)}

    # What was verified and built, for the serving process to serve it under.
    result = {
        "path": str(path),
        "plain": str(later),
        "token": loaded.token,
        "manifest": msgspec.to_builtins(loaded.manifest),
    }
    return result, write_plain


def _failed(exc: Exception) -> int:
    print(json.dumps({"type": type(exc).__name__, "message": str(exc)[:2000]}), flush=True)
    return 1


def main() -> int:
    try:
        warm_up()
        raw = sys.stdin.buffer.read()
        if not raw.strip():
            return 0  # a spare whose parent closed it (or exited) before it was needed
        request = json.loads(raw)
        # Serving processes share the cores: an operator may let them win (RECSYS_LOADER_NICE).
        os.nice(int(request.get("nice", 0)))
        result, write_plain = prepare(request)
    except Exception as exc:
        return _failed(exc)
    print(json.dumps(result), flush=True)  # the serving process maps the model now
    try:
        done = write_plain()
    except Exception as exc:
        return _failed(exc)
    print(json.dumps(done), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
