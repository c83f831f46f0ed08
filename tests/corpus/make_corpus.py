"""Writes the malformed-input corpus under tests/corpus/files/ (run it to regenerate).

    .venv/bin/python -m tests.corpus.make_corpus

Each file is one way a file handed to Steward goes wrong; tests/corpus/cases.py says what
each must be refused with. The files are committed so that the corpus is inspectable.
"""

from __future__ import annotations

import gzip
import io
import json
import pickle
import sqlite3
import tempfile
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

FILES = Path(__file__).resolve().parent / "files"
HEADER = "ts,income,age,prediction,score"
GOOD_ROW = "2025-03-01T10:00:00Z,52000,41,1,0.81"


def _csv(*rows: str) -> bytes:
    return ("\n".join(rows) + "\n").encode()


def _parquet(table: pa.Table) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def _sqlite_bytes() -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.db"
        with sqlite3.connect(path) as conn:
            conn.execute("CREATE TABLE t (a INTEGER)")
        return path.read_bytes()


def _lying_parquet() -> bytes:
    """Valid Parquet whose pandas metadata names columns and an index that are not there."""
    table = pa.table(
        {"ts": ["2025-03-01"], "income": [1.0], "age": [2.0], "prediction": [1.0], "score": [0.5]}
    )
    lie = {
        "index_columns": ["__index_level_0__"],
        "column_indexes": [],
        "columns": [
            {
                "name": "ghost",
                "field_name": "ghost",
                "pandas_type": "int64",
                "numpy_type": "int64",
                "metadata": None,
            }
        ],
        "pandas_version": "2.2.0",
    }
    table = table.replace_schema_metadata({b"pandas": json.dumps(lie).encode()})
    return _parquet(table)


def _zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("sheet.xml", "<x/>")
    return buffer.getvalue()


def corpus() -> dict[str, bytes]:
    good_parquet = _parquet(
        pa.table(
            {
                "ts": ["2025-03-01T10:00:00Z"],
                "income": [52000.0],
                "age": [41.0],
                "prediction": [1.0],
                "score": [0.81],
            }
        )
    )
    wide_header = ",".join(f"c{i}" for i in range(10_000))
    return {
        "empty.csv": b"",
        "header_only.csv": _csv(HEADER),
        "blank_lines.csv": b"\n\n   \n\n",
        "wrong_delimiter_colon.csv": _csv(HEADER.replace(",", ":"), GOOD_ROW.replace(",", ":")),
        "latin1.csv": "ts,income,age,prediction,score,région\n2025-03-01,1,2,1,0.5,Zürich\n".encode(
            "latin-1"
        ),
        "utf16.csv": _csv(HEADER, GOOD_ROW).decode().encode("utf-16"),
        "random_binary.csv": bytes((i * 73 + 11) % 256 for i in range(4096)),
        "pickle_named.csv": pickle.dumps({"ts": [1], "prediction": [1]}),
        "zip_named.csv": _zip_bytes(),
        "pdf_named.csv": b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n%%EOF\n",
        "sqlite_named.csv": _sqlite_bytes(),
        "gzip_named.csv": gzip.compress(_csv(HEADER, GOOD_ROW)),
        "parquet_named.csv": good_parquet,
        "csv_named.parquet": _csv(HEADER, GOOD_ROW),
        "truncated.parquet": good_parquet[: len(good_parquet) // 2] + b"PAR1",
        "lying_metadata.parquet": _lying_parquet(),
        "nested_columns.parquet": _parquet(
            pa.table({"ts": ["2025-03-01"], "prediction": [1.0], "income": [[1, 2]], "age": [3.0]})
        ),
        "wide_10000_columns.csv": _csv(wide_header, ",".join("1" for _ in range(10_000))),
        "huge_numbers.csv": _csv(HEADER, "2025-03-01T10:00:00Z," + "9" * 400 + ",41,1,0.5"),
        "nan_inf_score.csv": _csv(HEADER, "2025-03-01T10:00:00Z,52000,41,1,inf"),
        "nan_prediction.csv": _csv(HEADER, "2025-03-01T10:00:00Z,52000,41,NaN,0.5"),
        "future_dates.csv": _csv(HEADER, "2099-01-01T00:00:00Z,52000,41,1,0.5"),
        "year_2999.csv": _csv(HEADER, "2999-01-01T00:00:00Z,52000,41,1,0.5"),
        "malformed_dates.csv": _csv(HEADER, "yesterday,52000,41,1,0.5"),
        "duplicate_columns.csv": _csv("ts,income,income,age,prediction,score", "2025-03-01,1,1,2,1,0.5"),
        "missing_prediction_column.csv": _csv("ts,income,age,score", "2025-03-01,1,2,0.5"),
        "extra_column.csv": _csv(HEADER + ",secret", GOOD_ROW + ",x"),
        "score_out_of_range.csv": _csv(HEADER, "2025-03-01T10:00:00Z,52000,41,1,1.7"),
        "malformed_number.csv": _csv(HEADER, "2025-03-01T10:00:00Z,52000,41,1,zero point eight"),
        "nul_bytes.csv": _csv(HEADER, GOOD_ROW).replace(b"52000", b"52\x0000"),
        "ragged_rows.csv": _csv(HEADER, GOOD_ROW, GOOD_ROW + ",1,2,3"),
        "unterminated_quote.csv": _csv(HEADER, '2025-03-01T10:00:00Z,"52000,41,1,0.5'),
        "very_long_request_id.csv": _csv(HEADER + ",request_id", GOOD_ROW + "," + "r" * 5000),
        "header_with_blank_name.csv": _csv("ts,,age,prediction,score", "2025-03-01,1,2,1,0.5"),
        # cost files
        "costs_negative.csv": _csv(
            "day,model,category,amount,currency", "2025-03-01,Credit scoring,compute,-5,EUR"
        ),
        "costs_non_numeric.csv": _csv(
            "day,model,category,amount,currency", "2025-03-01,Credit scoring,compute,ten,EUR"
        ),
        "costs_unknown_currency.csv": _csv(
            "day,model,category,amount,currency", "2025-03-01,Credit scoring,compute,5,XYZ"
        ),
        "costs_unknown_model.csv": _csv(
            "day,model,category,amount,currency", "2025-03-01,No such model,compute,5,EUR"
        ),
        "costs_duplicate_keys.csv": _csv(
            "day,model,category,amount,currency",
            "2025-03-01,Credit scoring,compute,5,EUR",
            "2025-03-01,Credit scoring,compute,6,EUR",
        ),
        "costs_sql_in_model.csv": _csv(
            "day,model,category,amount,currency",
            "2025-03-01,Credit scoring'; DROP TABLE model;--,compute,5,EUR",
        ),
        "costs_bad_category.csv": _csv(
            "day,model,category,amount,currency", "2025-03-01,Credit scoring,coffee,5,EUR"
        ),
        "costs_bad_day.csv": _csv(
            "day,model,category,amount,currency", "31/31/2025,Credit scoring,compute,5,EUR"
        ),
        "costs_inf_amount.csv": _csv(
            "day,model,category,amount,currency", "2025-03-01,Credit scoring,compute,inf,EUR"
        ),
        "costs_huge_amount.csv": _csv(
            "day,model,category,amount,currency", "2025-03-01,Credit scoring,compute,1e400,EUR"
        ),
    }


def main() -> None:
    FILES.mkdir(parents=True, exist_ok=True)
    for old in FILES.iterdir():
        old.unlink()
    for name, data in corpus().items():
        (FILES / name).write_bytes(data)
    print(f"wrote {len(list(FILES.iterdir()))} files to {FILES}")


if __name__ == "__main__":
    main()
