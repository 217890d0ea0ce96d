"""`python -m recsys_service [--host H] [--port P] [--workers N]`: settings from env, uvicorn."""

from __future__ import annotations

import argparse
import ipaddress
import sys

import uvicorn
from litestar import Litestar

from recsys_algo.contracts.errors import ConfigError
from recsys_service.app import create_app
from recsys_service.http_limits import LimitedHttpToolsProtocol
from recsys_service.logs import configure_logging
from recsys_service.settings import API_KEYS_ENV, Settings

EXIT_CONFIG = 2
MAX_WORKERS = 64
# Workers re-read the environment through this factory (uvicorn needs an import string for N > 1).
APP_FACTORY = "recsys_service.__main__:worker_app"
# uvicorn kills a worker that does not answer its supervisor's ping in time; imports and manifest
# loads on a busy 2-core machine can exceed uvicorn's 5 s default.
WORKER_HEALTHCHECK_SECONDS = 30


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(settings: Settings, host: str) -> None:
    if settings.open_mode and not is_loopback(host):
        raise ConfigError(
            f"refusing to bind {host}: no API keys are configured (open mode serves tenant "
            f"'demo' to anyone); set {API_KEYS_ENV} or bind 127.0.0.1"
        )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m recsys_service", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port to bind (default 8000)")
    parser.add_argument(
        "--workers", type=int, default=1, help="worker processes sharing the port (default 1)"
    )
    return parser.parse_args(argv)


def worker_app() -> Litestar:
    """A worker process's app (N > 1): it owns its logging like the single-process server does.
    The supervisor checked the same environment before starting any worker."""
    settings = Settings.from_env()
    configure_logging(settings.log_level)
    LimitedHttpToolsProtocol.limits = settings.head_limits
    return create_app(settings)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        if not 0 <= args.port <= 65535:
            raise ConfigError(f"--port {args.port} is invalid: use 0..65535")
        if not 1 <= args.workers <= MAX_WORKERS:
            raise ConfigError(f"--workers {args.workers} is invalid: use 1..{MAX_WORKERS}")
        settings = Settings.from_env()
        check_bind(settings, args.host)
        app = create_app(settings)  # configuration errors surface here, before binding
    except ConfigError as exc:
        print(f"recsys-service: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    # JSON lines on stderr for every logger, uvicorn's included (log_config=None below).
    configure_logging(settings.log_level)
    LimitedHttpToolsProtocol.limits = settings.head_limits
    print(
        f"recsys-service listening on http://{args.host}:{args.port}", file=sys.stderr, flush=True
    )
    # Our access log (recsys_service.access) replaces uvicorn's; uvicorn keeps our handlers.
    # More than one worker: each builds its own app from the same (already checked) environment.
    uvicorn.run(
        app if args.workers == 1 else APP_FACTORY,
        factory=args.workers > 1,
        workers=args.workers,
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
        host=args.host,
        port=args.port,
        log_config=None,
        access_log=False,
        # httptools, with bounded request heads (431): uvicorn's own limits neither.
        http=LimitedHttpToolsProtocol,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
