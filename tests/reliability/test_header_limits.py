"""Request heads are bounded: an oversized header or too many headers get 431 and a closed
connection, over real HTTP against `python -m recsys_service`, without the worker buffering them."""

from __future__ import annotations

import contextlib
import json
import socket
from collections.abc import Iterator

import httpx
import pytest

from recsys_algo.store.storage import FileStorage
from tests.service.builders import SIGNING_SPEC, item_ids, publish_popularity
from tests.support.service_process import Service, running_service

HEAD_LIMIT = 32 * 1024  # the documented defaults
HEADERS_LIMIT = 100


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    root = tmp_path_factory.mktemp("limits")
    storage = FileStorage(root / "store")
    publish_popularity(storage, "demo", "home", item_ids("demo-", 10))
    with running_service(
        storage.url, root, RECSYS_SIGNING_KEYS=SIGNING_SPEC, RECSYS_LOADER="thread"
    ) as running:
        yield running


def _head(*headers: tuple[str, str], path: str = "/healthz", method: str = "GET") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _exchange(service: Service, data: bytes) -> bytes:
    """Send data on one connection; what the server answered before closing it."""
    with socket.create_connection(("127.0.0.1", service.port), timeout=30) as sock:
        # The server may refuse and close before reading it all.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(data)
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
                if b"\r\n\r\n" in answer and b"connection: close" not in answer.lower():
                    break  # keep-alive: one answer is all we wait for
        except ConnectionResetError:
            pass
        return answer


def test_a_header_over_the_limit_is_431_and_the_connection_closed(service: Service) -> None:
    answer = _exchange(service, _head(("X-Big", "a" * (HEAD_LIMIT + 1))))
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    assert b"connection: close" in answer.lower()


def test_too_many_headers_are_431(service: Service) -> None:
    headers = [(f"X-H{i}", "v") for i in range(HEADERS_LIMIT + 1)]
    answer = _exchange(service, _head(*headers))
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]


def test_heads_within_the_limits_are_served(service: Service) -> None:
    within = [("X-Big", "a" * (HEAD_LIMIT - 2048))] + [(f"X-H{i}", "v") for i in range(80)]
    answer = _exchange(service, _head(*within))
    assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]
    # A URL counts towards the head too.
    long_url = _exchange(service, _head(path="/healthz?" + "q" * (HEAD_LIMIT + 1)))
    assert long_url.startswith(b"HTTP/1.1 431 "), long_url[:200]


def test_a_100_mb_header_is_refused_without_buffering_it(service: Service) -> None:
    before = service.rss_kib()
    head = _head().removesuffix(b"\r\n\r\n") + b"\r\nX-Huge: "
    sent = 0
    with socket.create_connection(("127.0.0.1", service.port), timeout=30) as sock:
        sock.sendall(head)
        block = b"a" * (1024 * 1024)
        try:
            while sent < 100 * len(block):
                sock.sendall(block)
                sent += len(block)
        except (BrokenPipeError, ConnectionResetError):
            pass
    # The server closed the connection long before 100 MB (what fits in the sockets' buffers
    # may be sent), and its memory did not grow by the header.
    assert sent < 50 * len(block), f"the server read {sent} bytes of one header"
    assert service.rss_kib() - before < 20 * 1024, (before, service.rss_kib())
    assert httpx.get(f"{service.base}/healthz", timeout=5).status_code == 200


def test_bodies_and_keep_alive_requests_do_not_count_towards_a_head(service: Service) -> None:
    # A 60 KB body sent in one write with its head (the server reads them together).
    exclude = ["x" * 60 + f"-{i:03d}" for i in range(960)]
    body = json.dumps({"surface": "home", "k": 3, "exclude_items": exclude}).encode()
    assert len(body) > 60_000
    head = _head(("Content-Type", "application/json"), ("Content-Length", str(len(body))),
                 path="/v1/recommend", method="POST")  # fmt: skip
    answer = _exchange(service, head + body)
    assert answer.startswith(b"HTTP/1.1 200 "), answer[:300]
    # Then several requests on one kept-alive connection, each head near the limit.
    with httpx.Client(base_url=service.base, timeout=10) as client:
        padded = [client.get("/healthz", headers={"X-Pad": "p" * 30_000}) for _ in range(3)]
    assert [r.status_code for r in padded] == [200] * 3
