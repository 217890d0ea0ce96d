from __future__ import annotations

import math
from typing import Any

import polars as pl
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recsys_algo.contracts.errors import ArtifactError
from recsys_algo.kinds.artifacts import ArtifactBlob, decode_artifact, encode_artifact
from recsys_algo.kinds.registry import SPECS, validate_artifact
from tests.support.builders import POPULARITY_FRAME_SCHEMA, popularity_blob, popularity_frame

WHERE = "file:///store/artifacts/x.arrow"


def popularity(rows: list[tuple[Any, Any, Any]], schema: Any = None) -> bytes:
    frame = pl.DataFrame(rows, schema=schema or POPULARITY_FRAME_SCHEMA, orient="row")
    return encode_artifact(frame, "popularity", 1).data


def test_encode_decode_roundtrip_keeps_rows_and_tags() -> None:
    frame = popularity_frame(["a", "b", "c"])
    blob = encode_artifact(frame, "popularity", 3)
    assert (blob.kind, blob.rows, blob.schema_version) == ("popularity", 3, 3)
    table = decode_artifact(blob.data, "popularity", WHERE)
    assert pl.from_arrow(table).equals(frame)
    assert table.schema.metadata == {b"recsys.kind": b"popularity", b"recsys.schema_version": b"3"}


def test_encoding_is_byte_identical_on_rerun() -> None:
    frame = popularity_frame([f"i{i}" for i in range(500)])
    first = encode_artifact(frame, "popularity", 1)
    second = encode_artifact(frame.clone(), "popularity", 1)
    assert first.data == second.data
    assert first.sha256 == second.sha256
    assert len(first.sha256) == 64


def test_different_kind_or_version_changes_the_bytes() -> None:
    frame = popularity_frame(["a"])
    base = encode_artifact(frame, "popularity", 1).data
    assert encode_artifact(frame, "popularity", 2).data != base
    assert encode_artifact(frame, "other", 1).data != base


def test_blob_is_arrow_ipc_file_with_zstd() -> None:
    data = popularity_blob().data
    assert data[:6] == b"ARROW1"
    reader = pa.ipc.open_file(pa.py_buffer(data))
    assert reader.num_record_batches == 1


def test_decoding_as_the_wrong_kind_is_refused() -> None:
    with pytest.raises(ArtifactError, match="artifact kind is 'popularity', expected 'cooc'"):
        decode_artifact(popularity_blob().data, "cooc", WHERE)


def test_untagged_arrow_file_is_refused() -> None:
    table = popularity_frame(["a"]).to_arrow()
    sink = pa.BufferOutputStream()
    with pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    with pytest.raises(ArtifactError, match="artifact kind is '', expected 'popularity'"):
        decode_artifact(sink.getvalue().to_pybytes(), "popularity", WHERE)


@pytest.mark.parametrize(
    "data",
    [b"", b"junk", b"ARROW1", b"\x00" * 64, popularity_blob().data[:-10], b'{"item_id": "a"}'],
)
def test_garbage_bytes_are_artifact_errors_naming_where(data: bytes) -> None:
    with pytest.raises(ArtifactError, match=f"^{WHERE}: not a readable Arrow IPC file"):
        decode_artifact(data, "popularity", WHERE)


@settings(max_examples=50)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_escape_as_other_errors(data: bytes) -> None:
    with pytest.raises(ArtifactError):
        validate_artifact("popularity", data, WHERE)


def test_validate_artifact_returns_the_table_for_a_good_blob() -> None:
    assert validate_artifact("popularity", popularity_blob(["x", "y"]).data, WHERE).num_rows == 2


def test_validate_artifact_refuses_unknown_kinds() -> None:
    with pytest.raises(ArtifactError, match="unknown artifact kind 'mystery'"):
        validate_artifact("mystery", popularity_blob().data, WHERE)


def test_popularity_is_registered() -> None:
    assert "popularity" in SPECS


def test_popularity_accepts_equal_scores_and_large_strings() -> None:
    table = pa.table(
        {
            "item_id": pa.array(["a", "b"], pa.large_string()),
            "score": pa.array([1.0, 1.0]),
            "events": pa.array([1, 1], pa.int64()),
        }
    )
    SPECS["popularity"].check(table, WHERE)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([], "popularity has no rows"),
        ([("a", math.nan, 1)], "finite and > 0"),
        ([("a", math.inf, 1)], "finite and > 0"),
        ([("a", 0.0, 1)], "finite and > 0"),
        ([("a", -1.0, 1)], "finite and > 0"),
        ([("a", None, 1)], "finite and > 0"),
        ([("a", 1.0, 1), ("b", 2.0, 1)], "not sorted by score"),
        ([("a", 2.0, 1), ("a", 1.0, 1)], "repeats an item_id"),
        ([("a", 2.0, 1), (None, 1.0, 1)], "column item_id must not be null"),
        ([(None, 1.0, 1)], "column item_id must not be null"),
        ([("a", 1.0, None)], "column events must not be null"),
    ],
)
def test_popularity_check_failures(rows: list[tuple[Any, Any, Any]], message: str) -> None:
    with pytest.raises(ArtifactError, match=f"^{WHERE}: .*{message}"):
        validate_artifact("popularity", popularity(rows), WHERE)


@pytest.mark.parametrize(
    "schema",
    [
        {"item_id": pl.String(), "score": pl.Float64()},
        {"item_id": pl.String(), "score": pl.Float64(), "events": pl.Int32()},
        {"item_id": pl.String(), "score": pl.Float32(), "events": pl.Int64()},
        {"item_id": pl.Int64(), "score": pl.Float64(), "events": pl.Int64()},
        {"id": pl.String(), "score": pl.Float64(), "events": pl.Int64()},
        {**POPULARITY_FRAME_SCHEMA, "extra": pl.Int64()},
    ],
)
def test_popularity_wrong_schema_is_refused(schema: dict[str, pl.DataType]) -> None:
    columns = {
        name: {pl.String(): ["a"], pl.Int64(): [1], pl.Int32(): [1]}.get(dtype, [1.0])
        for name, dtype in schema.items()
    }
    data = encode_artifact(pl.DataFrame(columns, schema=schema), "popularity", 1).data
    with pytest.raises(ArtifactError, match=r"popularity schema is .* expected"):
        validate_artifact("popularity", data, WHERE)


def test_blob_sha256_is_of_the_bytes() -> None:
    blob = ArtifactBlob("popularity", b"abc", 0, 1)
    assert blob.sha256 == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
