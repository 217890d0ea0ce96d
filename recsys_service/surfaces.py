"""How many surfaces one tenant may post events for (RECSYS_MAX_SURFACES).

Each surface becomes a landing folder, a registered scope, a daily run and, once published, a
version every service host loads: one key must not create thousands. A surface is known when
its landing folder exists (a one-level listing of raw/{tenant}/, repeated at most every
RELIST_SECONDS when an unknown surface is asked for) or this process accepted events for it;
a new one is accepted while the tenant has fewer than the limit. Hosts count separately
between listings, so N hosts may together go over by at most what they accept in that time."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Set

from recsys_algo.store.landing_scan import RAW_ROOT
from recsys_algo.store.storage import Storage
from recsys_service.serving_state import one_line

log = logging.getLogger(__name__)

RELIST_SECONDS = 5.0


class SurfaceGate:
    def __init__(
        self, storage: Storage, limit: int, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.storage = storage
        self.limit = limit
        self.monotonic = monotonic
        self._lock = threading.Lock()
        self._known: dict[str, set[str]] = {}
        self._listed_at: dict[str, float] = {}

    def all_known(self, tenant: str, surfaces: Set[str]) -> bool:
        """No IO: True when every surface is known already (the usual request)."""
        return surfaces <= self._known.get(tenant, set())

    def admit(self, tenant: str, surfaces: Set[str]) -> str | None:
        """None when the surfaces may be written (new ones are then known); otherwise why not.
        May list the tenant's landing folders: call it off the event loop."""
        with self._lock:
            known = self._known.setdefault(tenant, set())
            now = self.monotonic()
            if not surfaces <= known and now - self._listed_at.get(tenant, -1e18) >= RELIST_SECONDS:
                try:
                    known |= set(self.storage.list_folders(f"{RAW_ROOT}/{tenant}"))
                    self._listed_at[tenant] = now
                except Exception as exc:  # storage down: count what this process knows
                    log.warning("listing %s/%s failed: %s", RAW_ROOT, tenant, one_line(exc))
            new = sorted(surfaces - known)
            if len(known) + len(new) > self.limit:
                shown = ", ".join(new[:5]) + (f" and {len(new) - 5} more" if len(new) > 5 else "")
                return (
                    f"tenant {tenant!r} has {len(known)} surfaces and may have at most "
                    f"{self.limit} (RECSYS_MAX_SURFACES): events for the new surfaces {shown} "
                    "are refused; nothing was written. Post events for existing surfaces, or "
                    "ask the operator to raise the limit"
                )
            known.update(new)
            return None
