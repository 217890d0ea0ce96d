from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import pytest

from recsys_algo.contracts.errors import (
    ConcurrentPublishError,
    ConfigError,
    LinkRefused,
    NotFoundError,
)
from recsys_algo.store.storage import (
    TMP_MARKER,
    AlreadyExists,
    FileStorage,
    check_key,
    open_storage,
)


def files_under(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_write_bytes_then_read_bytes_roundtrips(storage: FileStorage) -> None:
    storage.write_bytes("a/b/c.bin", b"hello")
    assert storage.read_bytes("a/b/c.bin") == b"hello"
    assert storage.exists("a/b/c.bin")


def test_write_bytes_replaces_and_leaves_no_temporaries(storage: FileStorage) -> None:
    for i in range(5):
        storage.write_bytes("k/x.json", f"v{i}".encode())
    assert storage.read_bytes("k/x.json") == b"v4"
    assert files_under(storage.root) == ["k/x.json"]
    assert not any(TMP_MARKER in name for name in files_under(storage.root))


def test_concurrent_writers_never_leave_a_mixed_object(storage: FileStorage) -> None:
    payloads = [bytes([i]) * 200_000 for i in range(8)]

    def write(data: bytes) -> None:
        for _ in range(3):
            storage.write_bytes("big.bin", data)

    threads = [threading.Thread(target=write, args=(p,)) for p in payloads]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert storage.read_bytes("big.bin") in payloads
    assert files_under(storage.root) == ["big.bin"]


def test_a_reader_sees_the_whole_old_or_the_whole_new_object_during_overwrites(
    storage: FileStorage,
) -> None:
    # Large enough that writing one takes many reads' time: an in-place copy would be seen.
    old, new = b"a" * 8_000_000, b"b" * 8_000_000
    storage.write_bytes("big.bin", old)
    done, seen = threading.Event(), []

    def read() -> None:
        while not done.is_set():
            seen.append(hashlib.sha256(storage.read_bytes("big.bin")).digest())

    reader = threading.Thread(target=read)
    reader.start()
    for i in range(40):
        storage.write_bytes("big.bin", new if i % 2 == 0 else old)
    done.set()
    reader.join()
    wholes = {hashlib.sha256(old).digest(), hashlib.sha256(new).digest()}
    assert len(seen) >= 10  # the reads overlapped the writes
    assert set(seen) <= wholes, f"{sum(d not in wholes for d in seen)} of {len(seen)} reads mixed"


def test_write_new_creates_once_and_refuses_to_overwrite(storage: FileStorage) -> None:
    storage.write_new("blobs/x", b"first")
    with pytest.raises(AlreadyExists, match="blobs/x"):
        storage.write_new("blobs/x", b"second")
    assert storage.read_bytes("blobs/x") == b"first"
    assert files_under(storage.root) == ["blobs/x"]


def test_read_of_missing_key_raises_not_found_with_uri(storage: FileStorage) -> None:
    with pytest.raises(NotFoundError, match=r"file://.*/nope/x does not exist"):
        storage.read_bytes("nope/x")
    assert not storage.exists("nope/x")


def test_read_below_a_file_is_not_found(storage: FileStorage) -> None:
    storage.write_bytes("a", b"x")
    with pytest.raises(NotFoundError):
        storage.read_bytes("a/b")


def test_read_of_a_folder_is_not_found(storage: FileStorage) -> None:
    storage.write_bytes("folder/x", b"x")
    with pytest.raises(NotFoundError):
        storage.read_bytes("folder")
    with pytest.raises(NotFoundError):
        storage.read_with_token("folder")
    assert not storage.exists("folder")


def test_read_with_token_returns_content_digest(storage: FileStorage) -> None:
    storage.write_bytes("p", b"data")
    data, token = storage.read_with_token("p")
    assert data == b"data"
    assert token == hashlib.sha256(b"data").hexdigest()
    assert storage.stat("p").token == token
    assert storage.stat("p").size == 4


def test_compare_and_swap_creates_when_expected_none(storage: FileStorage) -> None:
    token = storage.compare_and_swap("ptr", b"v1", None)
    assert storage.read_with_token("ptr") == (b"v1", token)


def test_compare_and_swap_with_current_token_replaces(storage: FileStorage) -> None:
    first = storage.compare_and_swap("ptr", b"v1", None)
    second = storage.compare_and_swap("ptr", b"v2", first)
    assert storage.read_with_token("ptr") == (b"v2", second)


def test_compare_and_swap_with_stale_token_raises_and_keeps_object(storage: FileStorage) -> None:
    stale = storage.compare_and_swap("ptr", b"v1", None)
    storage.compare_and_swap("ptr", b"v2", stale)
    with pytest.raises(ConcurrentPublishError, match="another publisher won"):
        storage.compare_and_swap("ptr", b"v3", stale)
    assert storage.read_bytes("ptr") == b"v2"


def test_compare_and_swap_expecting_absence_fails_when_present(storage: FileStorage) -> None:
    storage.write_bytes("ptr", b"v1")
    with pytest.raises(ConcurrentPublishError, match="expected no object"):
        storage.compare_and_swap("ptr", b"v2", None)
    assert storage.read_bytes("ptr") == b"v1"


def test_compare_and_swap_expecting_a_token_fails_when_absent(storage: FileStorage) -> None:
    with pytest.raises(ConcurrentPublishError, match="found no object"):
        storage.compare_and_swap("ptr", b"v1", "0" * 64)
    assert not storage.exists("ptr")


def test_concurrent_compare_and_swap_has_exactly_one_winner(storage: FileStorage) -> None:
    base = storage.compare_and_swap("ptr", b"base", None)
    results: list[str] = []

    def swap(i: int) -> None:
        try:
            storage.compare_and_swap("ptr", f"w{i}".encode(), base)
            results.append("won")
        except ConcurrentPublishError:
            results.append("lost")

    threads = [threading.Thread(target=swap, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["lost"] * 7 + ["won"]


def test_lock_files_are_not_listed(storage: FileStorage) -> None:
    storage.compare_and_swap("registry/ptr.json", b"v", None)
    assert storage.list("registry") == ["registry/ptr.json"]


def test_list_returns_sorted_keys_under_a_folder_recursively(storage: FileStorage) -> None:
    for key in ["p/b", "p/a", "p/sub/c", "q/x", "pp/y"]:
        storage.write_bytes(key, b"x")
    assert storage.list("p") == ["p/a", "p/b", "p/sub/c"]
    assert storage.list("p/") == ["p/a", "p/b", "p/sub/c"]


def test_list_of_missing_folder_is_empty(storage: FileStorage) -> None:
    assert storage.list("nothing/here") == []


def test_list_excludes_temporaries(storage: FileStorage) -> None:
    storage.write_bytes("p/a", b"x")
    (storage.root / "p" / f"a{TMP_MARKER}{'0f' * 16}").write_bytes(b"partial")
    assert storage.list("p") == ["p/a"]


@pytest.mark.parametrize("name", ["batch.tmp-1.jsonl", f"a{TMP_MARKER}123", "x.tmp-.json"])
def test_keys_that_merely_contain_the_temp_marker_are_listed(
    storage: FileStorage, name: str
) -> None:
    storage.write_bytes(f"p/{name}", b"x")
    assert storage.list("p") == [f"p/{name}"]


def test_delete_removes_and_is_idempotent(storage: FileStorage) -> None:
    storage.write_bytes("d", b"x")
    storage.delete("d")
    storage.delete("d")
    assert not storage.exists("d")


@pytest.mark.parametrize(
    "key",
    ["", "/etc/passwd", "../x", "a/../../x", "a/./b", ".", "a//b", "a/", "a\\b", "a\x00b", ".."],
)
def test_keys_that_could_escape_the_root_are_rejected(storage: FileStorage, key: str) -> None:
    with pytest.raises(ConfigError, match=r"storage key .* is invalid"):
        check_key(key)
    with pytest.raises(ConfigError):
        storage.write_bytes(key, b"x")
    with pytest.raises(ConfigError):
        storage.read_bytes(key)


@pytest.mark.parametrize("key", ["a", "a/b.c", "raw/demo/home/2026-11-20/x.jsonl", "a/.b", "..a"])
def test_ordinary_keys_are_accepted(key: str) -> None:
    assert check_key(key) == key


def test_uri_for_joins_root_url_and_key(storage: FileStorage) -> None:
    assert storage.uri_for("a/b") == f"{storage.root.as_uri()}/a/b"


def test_file_storage_root_must_be_absolute() -> None:
    with pytest.raises(ConfigError, match="must be an absolute path"):
        FileStorage(Path("relative/root"))


def test_open_storage_file_url_opens_file_storage(tmp_path: Path) -> None:
    opened = open_storage(tmp_path.as_uri())
    assert isinstance(opened, FileStorage)
    assert opened.root == tmp_path
    opened.write_bytes("x", b"1")
    assert (tmp_path / "x").read_bytes() == b"1"


def test_open_storage_accepts_localhost_and_percent_encoding(tmp_path: Path) -> None:
    opened = open_storage(f"file://localhost{tmp_path}/with%20space")
    assert isinstance(opened, FileStorage)
    assert opened.root == tmp_path / "with space"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "unsupported scheme"),
        ("/srv/recsys", "unsupported scheme"),
        ("ftp://host/x", "unsupported scheme"),
        ("gopher:///x", "unsupported scheme"),
        ("file://otherhost/srv", "file URLs need an absolute path"),
        ("file:relative/path", "must be an absolute path"),
    ],
)
def test_open_storage_rejects_bad_urls_with_config_error(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        open_storage(url)


def test_unsupported_scheme_message_lists_known_schemes() -> None:
    with pytest.raises(ConfigError, match="file://"):
        open_storage("nope://bucket")


def test_no_operation_follows_a_symbolic_link_below_the_root(
    storage: FileStorage, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "secret.jsonl").write_bytes(b"secret\n")
    (storage.root / "raw" / "t" / "s").mkdir(parents=True)
    (storage.root / "raw" / "t" / "s" / "day").symlink_to(elsewhere, target_is_directory=True)
    (storage.root / "raw" / "t" / "s" / "file.jsonl").symlink_to(elsewhere / "secret.jsonl")
    inside = storage.root / "raw" / "t" / "s" / "inside.jsonl"
    inside.symlink_to(storage.root / "raw" / "t" / "s" / "file.jsonl")  # a link inside, too
    for key in ("raw/t/s/day/secret.jsonl", "raw/t/s/file.jsonl", "raw/t/s/inside.jsonl"):
        with pytest.raises(LinkRefused, match="symbolic link"):
            storage.read_bytes(key)
    for write in (storage.write_bytes, storage.write_new):
        with pytest.raises(LinkRefused):
            write("raw/t/s/day/new.jsonl", b"x")
    with pytest.raises(LinkRefused):
        storage.list("raw/t/s/day")
    with pytest.raises(LinkRefused):
        storage.delete("raw/t/s/day/secret.jsonl")
    # Linked files are listed (so they can be reported by name), linked folders not entered.
    assert storage.list("raw") == ["raw/t/s/file.jsonl", "raw/t/s/inside.jsonl"]
    assert storage.stat("raw/t/s/file.jsonl").token.startswith("link-")
    assert sorted(p.name for p in elsewhere.iterdir()) == ["secret.jsonl"]
