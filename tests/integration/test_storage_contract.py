"""One storage contract, run on file:// and on s3:// (a real SeaweedFS server)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from recsys_algo.contracts.errors import ConcurrentPublishError, NotFoundError
from recsys_algo.store.storage import AlreadyExists, Storage, open_storage


@pytest.fixture(params=["file", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    if request.param == "file":
        return open_storage((tmp_path / "store").as_uri())
    return open_storage(request.getfixturevalue("s3_env"))


def race(n: int, attempt: object) -> list[str]:
    """Run attempt(i) in n threads released together; 'won' or 'lost' per thread."""
    barrier = threading.Barrier(n)
    results: list[str] = []

    def run(i: int) -> None:
        barrier.wait()
        try:
            attempt(i)  # type: ignore[operator]
            results.append("won")
        except (ConcurrentPublishError, AlreadyExists):
            results.append("lost")

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sorted(results)


def test_write_bytes_then_read_roundtrips_and_replaces(store: Storage) -> None:
    store.write_bytes("a/b/c.bin", b"hello")
    assert store.read_bytes("a/b/c.bin") == b"hello"
    store.write_bytes("a/b/c.bin", b"again")
    data, token = store.read_with_token("a/b/c.bin")
    assert data == b"again"
    assert store.stat("a/b/c.bin").token == token
    assert store.stat("a/b/c.bin").size == 5
    assert store.exists("a/b/c.bin")


def test_empty_object_roundtrips(store: Storage) -> None:
    store.write_bytes("empty", b"")
    assert store.read_bytes("empty") == b""


def test_write_new_creates_once_and_refuses_to_overwrite(store: Storage) -> None:
    store.write_new("blobs/x", b"first")
    with pytest.raises(AlreadyExists, match="blobs/x"):
        store.write_new("blobs/x", b"second")
    assert store.read_bytes("blobs/x") == b"first"


def test_read_chunks_returns_the_object_in_bounded_pieces(store: Storage) -> None:
    data = bytes(range(256)) * 41  # 10,496 bytes: not a multiple of the chunk size
    store.write_bytes("a/chunked.bin", data)
    chunks = list(store.read_chunks("a/chunked.bin", 1000))
    assert b"".join(chunks) == data and max(map(len, chunks)) <= 1000 and len(chunks) >= 11
    with pytest.raises(NotFoundError, match="does not exist"):
        list(store.read_chunks("nope/x"))
    store.write_bytes("folder/x", b"x")
    with pytest.raises(NotFoundError):
        list(store.read_chunks("folder"))


def test_list_folders_names_one_level_of_folders(store: Storage) -> None:
    for key in ("raw/acme/home/d1/a.jsonl", "raw/acme/pdp/d1/b.jsonl", "raw/acme/file.jsonl"):
        store.write_bytes(key, b"x")
    assert store.list_folders("raw/acme") == ["home", "pdp"]
    assert store.list_folders("raw/acme/") == ["home", "pdp"]
    assert store.list_folders("raw") == ["acme"]
    assert store.list_folders("raw/nobody") == []


def test_missing_key_is_not_found_with_its_uri(store: Storage) -> None:
    with pytest.raises(NotFoundError, match=r"/nope/x does not exist"):
        store.read_bytes("nope/x")
    with pytest.raises(NotFoundError, match="does not exist"):
        store.read_with_token("nope/x")
    with pytest.raises(NotFoundError):
        store.stat("nope/x")
    assert not store.exists("nope/x")
    assert store.uri_for("nope/x").startswith(store.url)


def test_a_folder_is_not_an_object(store: Storage) -> None:
    store.write_bytes("folder/x", b"x")
    assert not store.exists("folder")
    with pytest.raises(NotFoundError):
        store.read_bytes("folder")


def test_compare_and_swap_creates_then_replaces_with_current_token(store: Storage) -> None:
    first = store.compare_and_swap("ptr", b"v1", None)
    assert store.read_with_token("ptr") == (b"v1", first)
    second = store.compare_and_swap("ptr", b"v2", first)
    assert store.read_with_token("ptr") == (b"v2", second)


def test_compare_and_swap_with_stale_token_raises_and_keeps_object(store: Storage) -> None:
    stale = store.compare_and_swap("ptr", b"v1", None)
    store.compare_and_swap("ptr", b"v2", stale)
    with pytest.raises(ConcurrentPublishError, match="another publisher won"):
        store.compare_and_swap("ptr", b"v3", stale)
    assert store.read_bytes("ptr") == b"v2"


def test_compare_and_swap_expecting_absence_fails_when_present(store: Storage) -> None:
    store.write_bytes("ptr", b"v1")
    with pytest.raises(ConcurrentPublishError, match="expected no object"):
        store.compare_and_swap("ptr", b"v2", None)
    assert store.read_bytes("ptr") == b"v1"


def test_compare_and_swap_expecting_a_token_fails_when_absent(store: Storage) -> None:
    with pytest.raises(ConcurrentPublishError, match="found no object"):
        store.compare_and_swap("ptr", b"v1", "0" * 32)
    assert not store.exists("ptr")


def test_concurrent_publishers_have_exactly_one_winner(store: Storage) -> None:
    base = store.compare_and_swap("ptr", b"base", None)
    outcome = race(8, lambda i: store.compare_and_swap("ptr", f"w{i}".encode(), base))
    assert outcome == ["lost"] * 7 + ["won"]
    assert store.read_bytes("ptr") != b"base"


def test_concurrent_first_publishers_have_exactly_one_winner(store: Storage) -> None:
    # Four racers: SeaweedFS makes losing creators of one key wait up to ~1 s each.
    assert race(4, lambda i: store.compare_and_swap("new", f"w{i}".encode(), None)) == (
        ["lost"] * 3 + ["won"]
    )
    assert race(4, lambda i: store.write_new("blob", f"w{i}".encode())) == ["lost"] * 3 + ["won"]


def test_list_returns_sorted_keys_under_a_folder_recursively(store: Storage) -> None:
    for key in ["p/b", "p/a", "p/sub/c", "q/x", "pp/y"]:
        store.write_bytes(key, b"x")
    assert store.list("p") == ["p/a", "p/b", "p/sub/c"]
    assert store.list("p/") == ["p/a", "p/b", "p/sub/c"]
    assert store.list("nothing/here") == []


def test_list_excludes_temporaries_but_not_lookalike_data(store: Storage) -> None:
    store.write_bytes("p/a", b"x")
    store.write_bytes(f"p/a.tmp-{'0f' * 16}", b"partial")
    store.write_bytes("p/batch.tmp-1.jsonl", b"data")
    assert store.list("p") == ["p/a", "p/batch.tmp-1.jsonl"]


def test_delete_removes_and_is_idempotent(store: Storage) -> None:
    store.write_bytes("d", b"x")
    store.delete("d")
    store.delete("d")
    assert not store.exists("d")
