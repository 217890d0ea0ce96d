"""s3:// URL parsing and key naming (no server: the SDK client does not connect until used)."""

from __future__ import annotations

import pytest

from recsys_algo import config
from recsys_algo.contracts.errors import ConfigError
from recsys_algo.store.s3 import S3Storage
from recsys_algo.store.storage import open_storage


@pytest.fixture(autouse=True)
def s3_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (config.S3_ENDPOINT_ENV, config.S3_REGION_ENV, config.S3_SECURE_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(config.S3_ACCESS_KEY_ENV, "AKID")
    monkeypatch.setenv(config.S3_SECRET_KEY_ENV, "s3cr3t-value")


@pytest.mark.parametrize(
    ("url", "bucket", "prefix", "root"),
    [
        ("s3://recsys/prod", "recsys", "prod", "s3://recsys/prod"),
        ("s3://recsys/prod/", "recsys", "prod", "s3://recsys/prod"),
        ("s3://recsys/a/b", "recsys", "a/b", "s3://recsys/a/b"),
        ("s3://recsys", "recsys", "", "s3://recsys"),
        ("s3://recsys/", "recsys", "", "s3://recsys"),
    ],
)
def test_open_storage_s3_url_names_bucket_and_prefix(
    url: str, bucket: str, prefix: str, root: str
) -> None:
    storage = open_storage(url)
    assert isinstance(storage, S3Storage)
    assert (storage.bucket, storage.prefix, storage.url) == (bucket, prefix, root)
    assert storage.uri_for("registry/x.json") == f"{root}/registry/x.json"
    expected = f"{prefix}/registry/x.json" if prefix else "registry/x.json"
    assert storage._name("registry/x.json") == expected


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("s3://Bad_Bucket/x", "not a valid S3 bucket name"),
        ("s3://ab/x", "not a valid S3 bucket name"),
        ("s3:///x", "not a valid S3 bucket name"),
        ("s3://bucket/a/../b", "storage key .* is invalid"),
        ("s3://bucket/a//b", "storage key .* is invalid"),
        ("s3://bucket/x?versionId=1", "use s3://bucket/prefix"),
        ("s3://AKID:s3cr3t-value@bucket/x", "use s3://bucket/prefix"),
        ("s3://bucket:abc/x", "use s3://bucket/prefix"),
        ("s3://bucket:9000/x", "use s3://bucket/prefix"),
    ],
)
def test_bad_s3_urls_raise_config_error(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        open_storage(url)
    assert "s3cr3t-value" not in str(info.value)


def test_s3_url_without_credentials_names_the_missing_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(config.S3_SECRET_KEY_ENV)
    with pytest.raises(ConfigError, match="RECSYS_S3_SECRET_KEY is not set"):
        open_storage("s3://recsys/prod")


def test_unsupported_scheme_message_lists_s3_too() -> None:
    with pytest.raises(ConfigError, match=r"file://, s3://"):
        open_storage("gs://bucket")


def test_keys_that_could_escape_the_prefix_are_rejected() -> None:
    storage = open_storage("s3://recsys/prod")
    with pytest.raises(ConfigError, match="storage key"):
        storage.uri_for("../other/x")
