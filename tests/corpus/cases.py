"""What each malformed file in tests/corpus/files/ must be refused with (a regex of the message)."""

from __future__ import annotations

from pathlib import Path

FILES = Path(__file__).resolve().parent / "files"

EXPECTED: dict[str, str] = {
    "blank_lines.csv": r"holds only blank lines",
    "costs_bad_category.csv": r"line 2 \(data row 1\), column 'category': 'coffee' is not one of compute, storage, inference, labelling",
    "costs_bad_day.csv": r"line 2 \(data row 1\), column 'day': '31/31/2025' is not an ISO 8601 date",
    "costs_duplicate_keys.csv": r"line 2 \(data row 1\), column 'day': '2025-03-01': the same day \+ model \+ category appears more than once; also data row 2",
    "costs_huge_amount.csv": r"data row 1\), column 'amount': '1e400' is not an amount",
    "costs_inf_amount.csv": r"data row 1\), column 'amount': 'inf' is not an amount",
    "costs_negative.csv": r"data row 1\), column 'amount': '-5' is negative",
    "costs_non_numeric.csv": r"data row 1\), column 'amount': 'ten' is not an amount",
    "costs_sql_in_model.csv": r"data row 1\), column 'model': unknown model 'Credit scoring'; DROP TABLE model;--'",
    "costs_unknown_currency.csv": r"data row 1\), column 'currency': unknown currency 'XYZ'",
    "costs_unknown_model.csv": r"data row 1\), column 'model': unknown model 'No such model'",
    "csv_named.parquet": r"is not a Parquet file",
    "duplicate_columns.csv": r"duplicate column name\(s\) in the header: income",
    "empty.csv": r"'empty.csv' is empty",
    "extra_column.csv": r"unexpected column\(s\).*: secret",
    "future_dates.csv": r"line 2 \(data row 1\), column 'ts': '2099-01-01T00:00:00Z' lies in the future",
    "gzip_named.csv": r"looks like a gzip archive",
    "header_only.csv": r"has a header but no data rows",
    "header_with_blank_name.csv": r"column 2 .*has no name",
    "huge_numbers.csv": r"column 'income': '9{40}… \(400 characters\)' is an integer beyond 64 bits",
    "latin1.csv": r"is not UTF-8 text \(byte 0xe9 on line 1\)",
    "lying_metadata.parquet": r"metadata names a column or index that is not in the file",
    "malformed_dates.csv": r"data row 1\), column 'ts': 'yesterday' is not an ISO 8601 date/time",
    "malformed_number.csv": r"data row 1\), column 'score': 'zero point eight' is not a number",
    "missing_prediction_column.csv": r"missing column 'prediction'",
    "nan_inf_score.csv": r"data row 1\), column 'score': 'inf' is infinite",
    "nan_prediction.csv": r"data row 1\), column 'prediction': a value is required; the cell is empty",
    "nested_columns.parquet": r"income hold nested values",
    "nul_bytes.csv": r"contains binary data \(NUL bytes\)",
    "parquet_named.csv": r"looks like a Parquet file; rename it to .parquet",
    "pdf_named.csv": r"looks like a PDF document",
    "pickle_named.csv": r"looks like a Python pickle; Steward never loads pickles",
    "ragged_rows.csv": r"line 3 has 8 fields but the header has 5 columns",
    "random_binary.csv": r"contains binary data",
    "score_out_of_range.csv": r"data row 1\), column 'score': '1.7' must lie between 0 and 1 for a classifier",
    "sqlite_named.csv": r"looks like an SQLite database",
    "truncated.parquet": r"is not a readable Parquet file",
    "unterminated_quote.csv": r"not a well-formed CSV file",
    "utf16.csv": r"is UTF-16 text; save it as UTF-8",
    "very_long_request_id.csv": r"column 'request_id': 'r{40}… \(5,000 characters\)' is longer than 120 characters",
    "wide_10000_columns.csv": r"has 10000 columns; at most 2000",
    "wrong_delimiter_colon.csv": r"missing column 'ts'; found: ts:income:age:prediction:score",
    "year_2999.csv": r"outside the supported years",
    "zip_named.csv": r"looks like a ZIP archive",
}

# Text typed into forms and CLI options: each is refused with a message naming the field.
BAD_NAMES: dict[str, str] = {
    "<script>alert(1)</script>": r"must not contain < or >",
    "x" * 5000: r"at most 200 are allowed",
    "": r"must not be empty",
    "   ": r"must not be empty",
    "line\nbreak": r"single line",
    "nul\x00byte": r"single line",
    "../../etc/passwd": r"must not contain a path",
    "Robert'); DROP TABLE model;--": None,  # an odd but harmless name: stored literally, never executed
}
