"""Application factory: routes, dependencies, error handlers, OpenAPI and lifespan in one place."""

from __future__ import annotations

from litestar import Litestar
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig

import recsys_algo
from recsys_algo.store.storage import open_storage
from recsys_service.app_objects import SERVING_KEY, SETTINGS_KEY
from recsys_service.controllers.events import EventsController
from recsys_service.controllers.health import HealthController
from recsys_service.controllers.manifests import ManifestController
from recsys_service.controllers.metrics import metrics_route
from recsys_service.controllers.recommend import RecommendController
from recsys_service.controllers.similar import SimilarController
from recsys_service.dependencies import DEPENDENCIES
from recsys_service.errors import EXCEPTION_HANDLERS
from recsys_service.event_log import EVENT_LOG_KEY, EventLog
from recsys_service.event_log_lifespan import event_log_lifespan
from recsys_service.lifespan import log_flush_lifespan, serving_lifespan
from recsys_service.metrics import METRICS_KEY, ServiceMetrics
from recsys_service.observed_app import ObservedApp
from recsys_service.openapi_bodies import document_direct_routes, match_request_schemas
from recsys_service.process_loader import ProcessLoader, default_directory, private_directory
from recsys_service.ratelimit import LIMITER_KEY, RateLimiter
from recsys_service.scope_sources import SignalsDbSource
from recsys_service.serving_state import ServingState
from recsys_service.settings import Settings


def create_app(settings: Settings) -> Litestar:
    """Build the app; its serving state is `app.state["serving"]` (tests call refresh() on it)."""
    storage = open_storage(settings.storage_url)
    source = (
        SignalsDbSource(settings.signals_dsn) if settings.serving_source == "postgres" else None
    )
    loader = None
    if settings.loader == "process":
        # Checked here, so a directory open to others fails the start, not each scope's load.
        directory = private_directory(settings.prepared_dir or default_directory())
        loader = ProcessLoader(directory, nice=settings.loader_nice, spare=settings.loader_spare)
    serving = ServingState(
        storage, settings.signing_keys, settings.scopes, source=source, loader=loader
    )
    event_log = EventLog(storage, settings.event_log)
    metrics = serving.observer = ServiceMetrics(serving, event_log)
    event_log.on_write_failed = metrics.event_write_failed
    limiter = RateLimiter(settings.rate_limit, settings.rate_limit_tenants)
    app = ObservedApp(
        route_handlers=[
            HealthController,
            RecommendController,
            SimilarController,
            ManifestController,
            EventsController,
            *metrics_route(settings.metrics_access),
        ],
        dependencies=DEPENDENCIES,
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=[log_flush_lifespan, serving_lifespan, event_log_lifespan],
        state=State(
            {
                SERVING_KEY: serving,
                SETTINGS_KEY: settings,
                EVENT_LOG_KEY: event_log,
                METRICS_KEY: metrics,
                LIMITER_KEY: limiter,
            }
        ),
        request_max_body_size=settings.max_body_bytes,
        # No global logging setup here: the process owner (__main__, tests) decides.
        logging_config=None,
        openapi_config=OpenAPIConfig(
            title="recsys service", version=recsys_algo.__version__, path="/schema"
        ),
    )
    match_request_schemas(app)
    document_direct_routes(app)
    return app


def app_from_env() -> Litestar:
    """Uvicorn factory: `uvicorn --factory recsys_service.app:app_from_env`."""
    return create_app(Settings.from_env())
