"""`s3://bucket/prefix` storage on an S3-compatible object store (AWS S3, MinIO, SeaweedFS)."""

from __future__ import annotations

import builtins
import contextlib
import io
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

import urllib3
from minio import Minio
from minio.error import MinioException, S3Error
from minio.helpers import DictType

from recsys_algo.config import S3_ACCESS_KEY_ENV, S3_ENDPOINT_ENV, S3Env
from recsys_algo.contracts.errors import (
    ConcurrentPublishError,
    ConfigError,
    DataSourceError,
    NotFoundError,
)
from recsys_algo.store.storage import (
    CHUNK_BYTES,
    AlreadyExists,
    ObjectStat,
    Storage,
    check_key,
    is_hidden,
    register_scheme,
)

_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")
# S3 answers a lost conditional write with 412; AWS also answers 409 when two conditional
# writes of one key overlap, and 404 to If-Match on a key that is gone.
_LOST_RACE = {"PreconditionFailed", "ConditionalRequestConflict", "NoSuchKey"}
_ACCESS = {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"}
MAX_SINGLE_PUT = 5 * 1024**3  # S3's limit for one PUT; conditional writes cannot go multipart


def _etag(value: str | None) -> str:
    return (value or "").strip('"')


def _http_client() -> urllib3.PoolManager:
    # Retry only failed connects (nothing was sent): resending a conditional PUT whose answer
    # was lost would see its own write and report a lost race. minio's default also retries a
    # refused connection ~5 times; a dead endpoint should fail fast and clearly.
    return urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=5.0, read=120.0),
        maxsize=16,
        retries=urllib3.Retry(total=2, connect=2, read=0, status=0, other=0, backoff_factor=0.2),
    )


class S3Storage(Storage):
    """Keys live under s3://bucket/prefix/; the token is the object's ETag."""

    def __init__(self, bucket: str, prefix: str, settings: S3Env) -> None:
        if not _BUCKET_RE.match(bucket) or ".." in bucket:
            raise ConfigError(f"storage URL bucket {bucket[:80]!r} is not a valid S3 bucket name")
        self.bucket = bucket
        self.prefix = check_key(prefix) if prefix else ""
        self.settings = settings
        self.url = f"s3://{bucket}/{self.prefix}" if self.prefix else f"s3://{bucket}"
        self.client = Minio(
            settings.host,
            access_key=settings.access_key,
            secret_key=settings.secret_key,
            region=settings.region,
            secure=settings.tls,
            http_client=_http_client(),
        )

    # --- helpers -------------------------------------------------------------------------------

    def _name(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    @contextlib.contextmanager
    def _errors(self, key: str) -> Iterator[None]:
        """Map SDK and network failures to domain errors naming the endpoint, never secrets."""
        where = self.uri_for(key)
        endpoint = f"{'https' if self.settings.tls else 'http'}://{self.settings.host}"
        try:
            yield
        except S3Error as exc:
            if exc.code == "NoSuchKey":
                raise NotFoundError(f"{where} does not exist") from None
            if exc.code == "NoSuchBucket":
                raise DataSourceError(
                    f"{where}: bucket {self.bucket} does not exist at {endpoint}; create it first"
                ) from None
            if exc.code in _ACCESS:
                raise DataSourceError(
                    f"{where}: {endpoint} refused the credentials ({exc.code}); "
                    f"check {S3_ACCESS_KEY_ENV} and its secret and the bucket policy"
                ) from None
            raise DataSourceError(
                f"{where}: {endpoint} answered {exc.code}: {exc.message}"
            ) from None
        except (MinioException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise DataSourceError(
                f"{where}: cannot reach S3 endpoint {endpoint} ({type(exc).__name__}); "
                f"check {S3_ENDPOINT_ENV} and that the server is up"
            ) from None

    def _conditional_put(self, key: str, data: bytes, headers: DictType) -> str:
        """One PUT with conditional headers; S3Error escapes for the caller to judge."""
        if len(data) > MAX_SINGLE_PUT:
            raise ConfigError(f"{self.uri_for(key)}: {len(data)} bytes is over 5 GiB")
        # The public put_object turns unknown headers into x-amz-meta-* metadata, which would
        # make If-None-Match/If-Match silently unconditional; _put_object sends them as given.
        result = self.client._put_object(self.bucket, self._name(key), data, headers=headers)
        return _etag(result.etag)

    def _current_token(self, key: str) -> str | None:
        try:
            return self.stat(key).token
        except NotFoundError:
            return None

    # --- Storage -------------------------------------------------------------------------------

    def read_bytes(self, key: str) -> bytes:
        return self.read_with_token(key)[0]

    def read_with_token(self, key: str) -> tuple[bytes, str]:
        name = self._name(key)
        with self._errors(key):
            response: Any = self.client.get_object(self.bucket, name)
            try:
                return response.read(), _etag(response.headers.get("etag"))
            finally:
                response.close()
                response.release_conn()

    def read_chunks(self, key: str, size: int = CHUNK_BYTES) -> Iterator[bytes]:
        with self._errors(key):
            response: Any = self.client.get_object(self.bucket, self._name(key))
            try:
                yield from response.stream(size)
            finally:
                response.close()
                response.release_conn()

    def write_bytes(self, key: str, data: bytes) -> None:
        # One PUT (or a completed multipart upload) replaces the object atomically on S3.
        name = self._name(key)
        with self._errors(key):
            self.client.put_object(self.bucket, name, io.BytesIO(data), len(data))

    def write_new(self, key: str, data: bytes) -> None:
        with self._errors(key):
            try:
                self._conditional_put(key, data, {"If-None-Match": "*"})
            except S3Error as exc:
                if exc.code in _LOST_RACE:
                    raise AlreadyExists(self.uri_for(key)) from None
                raise

    def exists(self, key: str) -> bool:
        return self._current_token(key) is not None

    def stat(self, key: str) -> ObjectStat:
        name = self._name(key)
        with self._errors(key):
            info = self.client.stat_object(self.bucket, name)
        return ObjectStat(key=key, size=int(info.size or 0), token=_etag(info.etag))

    def list(self, prefix: str) -> list[str]:
        folder = prefix.rstrip("/")
        skip = len(self.prefix) + 1 if self.prefix else 0
        with self._errors(folder):
            names = [
                str(obj.object_name)[skip:]
                for obj in self.client.list_objects(
                    self.bucket, prefix=self._name(folder) + "/", recursive=True
                )
                if not obj.is_dir
            ]
        return sorted(n for n in names if not is_hidden(n))

    def list_folders(self, prefix: str) -> builtins.list[str]:
        key = prefix.rstrip("/")
        folder = self._name(key) + "/"
        with self._errors(key):
            found = [
                str(obj.object_name)[len(folder) :].rstrip("/")
                for obj in self.client.list_objects(self.bucket, prefix=folder, recursive=False)
                if obj.is_dir
            ]
        return sorted(n for n in found if n and not is_hidden(n))

    def delete(self, key: str) -> None:
        name = self._name(key)
        with self._errors(key):
            self.client.remove_object(self.bucket, name)

    def compare_and_swap(self, key: str, data: bytes, expected_token: str | None) -> str:
        headers: DictType = (
            {"If-None-Match": "*"}
            if expected_token is None
            else {"If-Match": f'"{expected_token}"'}
        )
        with self._errors(key):
            try:
                return self._conditional_put(key, data, headers)
            except S3Error as exc:
                if exc.code not in _LOST_RACE:
                    raise
        current = self._current_token(key)  # for the message only: the store already decided
        raise ConcurrentPublishError(
            f"{self.uri_for(key)} changed while publishing "
            f"(expected {expected_token or 'no object'}, found {current or 'no object'}); "
            "another publisher won: rerun to publish on top of it"
        )


def _s3_storage(url: str) -> Storage:
    parsed = urlparse(url)
    if parsed.query or parsed.fragment or "@" in parsed.netloc or ":" in parsed.netloc:
        # Never echo the URL: a mistaken s3://key:secret@bucket would leak the secret.
        raise ConfigError(
            "storage URL is invalid: use s3://bucket/prefix (credentials and endpoint go in "
            "RECSYS_S3_* variables)"
        )
    return S3Storage(parsed.netloc, parsed.path.strip("/"), S3Env.load())


register_scheme("s3", _s3_storage)
