"""The service with exposure logging stubbed out, for bench/service.py --exposures off only.

Its throughput beside the real service's, in the same run, bounds what moving exposure logging
off the request path could give back: a background writer in the same worker still spends the
same CPU under the same GIL, so it can win at most this difference, never more.

    python bench/service_no_exposures.py --port P --workers N     # as python -m recsys_service
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from litestar import Litestar

import recsys_service.__main__ as service_main
from recsys_service.event_log import EventLog


def _no_exposures(self: EventLog, exposures: Sequence[Any]) -> None:
    return None


def worker_app() -> Litestar:
    """A worker's app (imported afresh in each spawned worker) without exposure logging."""
    EventLog.add_exposures = _no_exposures  # type: ignore[method-assign]
    return service_main.worker_app()


if __name__ == "__main__":
    EventLog.add_exposures = _no_exposures  # type: ignore[method-assign]
    service_main.APP_FACTORY = "service_no_exposures:worker_app"
    sys.exit(service_main.main())
