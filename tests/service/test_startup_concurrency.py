"""Start-up (and every poll) loads scopes side by side: one tenant's many scopes, or one slow
version, do not make every other scope wait its turn in one long queue."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

from recsys_algo.contracts.signing import SigningKeys
from recsys_algo.store.storage import FileStorage
from recsys_service.loaded_scope import LoadedScope
from recsys_service.process_loader import ProcessLoader
from recsys_service.scope_sources import ScopeSource
from recsys_service.serving_state import ServingState
from tests.service.builders import item_ids, publish_popularity, signing_keys


class Rendezvous(ProcessLoader):
    """Each load waits until `parties` loads are in flight at once: loaded one at a time, the
    first would wait forever (here: its timeout, then it fails)."""

    def __init__(self, directory: Path, parties: int) -> None:
        super().__init__(directory)
        self.barrier = threading.Barrier(parties, timeout=60)

    def load(
        self,
        source: ScopeSource,
        keys: SigningKeys,
        tenant: str,
        surface: str,
        token: str,
        now: dt.datetime,
        wait: bool = True,
    ) -> LoadedScope:
        self.barrier.wait()
        return super().load(source, keys, tenant, surface, token, now, wait)


def test_start_up_loads_scopes_side_by_side(storage: FileStorage, tmp_path: Path) -> None:
    scopes = [("acme", "home"), ("acme", "pdp"), ("beta", "home"), ("zeta", "feed")]
    for tenant, surface in scopes:
        publish_popularity(storage, tenant, surface, item_ids(f"{tenant}-", 5))
    loader = Rendezvous(tmp_path / "prep", parties=ProcessLoader.concurrency)
    state = ServingState(storage, signing_keys(), loader=loader)
    state.refresh()
    for scope in scopes:
        entry = state.get(*scope)
        assert entry is not None and entry.loaded is not None, entry
