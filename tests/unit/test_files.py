"""Reading the CSV and Parquet files people hand to Steward: what is accepted, and what is
refused with which message."""

from __future__ import annotations

import pickle

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from core.errors import InvalidInput
from core.registry.files import MAX_COLUMNS, read_table, read_table_bytes, sniff_delimiter


def _write(tmp_path, name: str, content: bytes | str):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_csv_delimiter_is_sniffed_from_the_header(tmp_path, delimiter):
    text = (
        delimiter.join(["ts", "prediction", "note"]) + "\n" + delimiter.join(["2024-05-01", "1", "a"]) + "\n"
    )
    frame = read_table(_write(tmp_path, "x.csv", text), max_mb=1)
    assert list(frame.columns) == ["ts", "prediction", "note"]
    assert frame["prediction"].tolist() == [1]


def test_semicolon_file_with_decimal_commas_keeps_its_columns():
    assert sniff_delimiter("day;amount\n2024-05-01;12,5\n") == ";"


def test_single_column_file_reads_as_one_column(tmp_path):
    frame = read_table(_write(tmp_path, "x.csv", "prediction\n1\n0\n"), max_mb=1)
    assert frame["prediction"].tolist() == [1, 0]


def test_utf8_bom_and_padded_header_names_are_cleaned(tmp_path):
    frame = read_table(_write(tmp_path, "x.csv", "\ufeffts , prediction\n2024-05-01, 1\n".encode()), max_mb=1)
    assert list(frame.columns) == ["ts", "prediction"]
    assert frame["prediction"].tolist() == [1]


def test_empty_columns_without_a_name_are_dropped(tmp_path):
    frame = read_table(_write(tmp_path, "x.csv", "a,,b,\n1,,2,\n"), max_mb=1)
    assert frame.to_dict("list") == {"a": [1], "b": [2]}


def test_parquet_round_trip(tmp_path):
    path = tmp_path / "x.parquet"
    pd.DataFrame({"ts": pd.to_datetime(["2024-05-01"], utc=True), "prediction": [1.0]}).to_parquet(path)
    frame = read_table(path, max_mb=1)
    assert frame["prediction"].tolist() == [1.0]
    assert str(frame["ts"].dt.tz) == "UTC"


def test_uploaded_bytes_get_the_same_checks():
    frame = read_table_bytes(b"a;b\n1;2\n", name="upload.csv", max_mb=1)
    assert frame.to_dict("list") == {"a": [1], "b": [2]}
    with pytest.raises(InvalidInput, match="'upload.csv' is empty"):
        read_table_bytes(b"", name="upload.csv", max_mb=1)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("x.xlsx", b"a,b\n1,2\n", r"'x.xlsx' is a \.xlsx file; Steward reads \.csv and \.parquet"),
        ("x", b"a,b\n1,2\n", "has no file extension"),
        ("x.csv", b"", "'x.csv' is empty"),
        ("x.csv", b"\n\n  \n", "holds only blank lines"),
        ("x.csv", b"a,b\n", "has a header but no data rows"),
        ("x.csv", pickle.dumps({"a": 1}), "looks like a Python pickle"),
        ("x.csv", b"PK\x03\x04rest", "ZIP archive"),
        ("x.csv", b"PAR1....PAR1", "rename it to .parquet"),
        ("x.csv", b"a,b\n1,\x002\n", r"binary data \(NUL bytes\)"),
        ("x.csv", "a,b\n1,2\n".encode("utf-16"), "UTF-16"),
        ("x.csv", "a,b\n1,2\nCaf\xe9,3\n".encode("latin-1"), r"not UTF-8 text \(byte 0xe9 on line 3\)"),
        ("x.csv", b"a,,c\n1,2,3\n", "column 2 holds values but its header has no name"),
        ("x.csv", b"a,b,a\n1,2,3\n", r"duplicate column name\(s\) in the header: a"),
        ("x.csv", b"a,b\n1,2\n3,4,5\n", r"line 3 has 3 fields but the header has 2 columns \(data row 2\)"),
        ("x.csv", b"a,b\n1,2,3\n4,5,6\n", "more fields than the header's 2 columns"),
        ("x.parquet", b"a,b\n1,2\n", "not a Parquet file"),
        ("x.parquet", b"PAR1 this is not really parquet PAR1", "not a readable Parquet file"),
    ],
)
def test_refused_files_say_why(tmp_path, name, content, message):
    with pytest.raises(InvalidInput, match=message):
        read_table(_write(tmp_path, name, content), max_mb=1)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(InvalidInput, match="does not exist"):
        read_table(tmp_path / "absent.csv", max_mb=1)
    (tmp_path / "folder.csv").mkdir()
    with pytest.raises(InvalidInput, match="is not a file"):
        read_table(tmp_path / "folder.csv", max_mb=1)


def test_file_above_the_limit_is_refused_before_reading(tmp_path):
    path = _write(tmp_path, "big.csv", b"a\n" + b"1\n" * 600_000)
    with pytest.raises(
        InvalidInput, match=r"'big.csv' is 1\.1 MB; the limit is 1 MB \(STEWARD_UPLOAD_MAX_MB\)"
    ):
        read_table(path, max_mb=1)


def test_too_many_columns(tmp_path):
    header = ",".join(f"c{i}" for i in range(MAX_COLUMNS + 1))
    path = _write(tmp_path, "wide.csv", header + "\n" + ",".join("1" * (MAX_COLUMNS + 1)) + "\n")
    with pytest.raises(InvalidInput, match=f"has {MAX_COLUMNS + 1} columns; at most {MAX_COLUMNS}"):
        read_table(path, max_mb=5)


def test_parquet_with_nested_columns_is_refused(tmp_path):
    path = tmp_path / "nested.parquet"
    pq.write_table(pa.table({"ts": ["2024-05-01"], "tags": [[1, 2]]}), path)
    with pytest.raises(InvalidInput, match=r"column\(s\) tags hold nested values"):
        read_table(path, max_mb=1)
