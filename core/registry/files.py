"""Reading tabular files people hand to Steward (CLI imports, page uploads): CSV and Parquet.

Every refusal is an ``InvalidInput`` that names the file and says what to do, so the CLI and
the pages can show it as is. Nothing here writes anything, and nothing is ever unpickled.
"""

from __future__ import annotations

import csv
import io
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from core.errors import InvalidInput

SUFFIXES = (".csv", ".parquet")
DELIMITERS = (",", ";", "\t", "|")
MAX_COLUMNS = 2000
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
# Signatures of files that are sometimes renamed to .csv by mistake (or on purpose).
_SIGNATURES = (
    (b"\x80", "a Python pickle", "Steward never loads pickles from files; export the data as CSV or Parquet"),
    (b"PK\x03\x04", "a ZIP archive (e.g. an Excel workbook)", "save it as CSV (UTF-8) or Parquet"),
    (b"\xd0\xcf\x11\xe0", "an old Excel/Office file", "save it as CSV (UTF-8) or Parquet"),
    (b"%PDF", "a PDF document", "export the data as CSV or Parquet"),
    (b"\x1f\x8b", "a gzip archive", "decompress it first"),
    (b"PAR1", "a Parquet file", "rename it to .parquet"),
    (b"SQLite format 3", "an SQLite database", "export the table as CSV or Parquet"),
)


# Control characters and line/paragraph separators: shown escaped so that an error stays one
# line and a value is shown as it is, not as a plausible other value (e.g. "1\x002" as "12").
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(found: re.Match[str]) -> str:
    char = found.group()
    code = ord(char)
    return _ESCAPES.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def shown(value: Any, limit: int = 40) -> str:
    """``value`` as text fit for a one-line message: control characters escaped (\\n, \\x00,
    \\u2028), and cut to ``limit`` characters with its full length said."""
    text = value.decode("utf-8", "backslashreplace") if isinstance(value, bytes) else str(value)
    cut = len(text) > limit
    head = text[: limit * 4] if cut else text  # escape only what can be shown
    escaped = _UNPRINTABLE.sub(_escape, head)
    if len(escaped) > limit or cut:
        return f"{escaped[:limit]}… ({len(text):,} characters)"
    return escaped


@dataclass(frozen=True)
class Source:
    """Where a table came from, for messages: its file name and the file line of a data row."""

    name: str = ""
    line_of: Callable[[int], int | None] = field(default=lambda row: None)

    def where(self, row: int) -> str:
        """'f.csv' line 3 (data row 2)` for the 0-based data row ``row``."""
        line = self.line_of(row)
        at = f"line {line} (data row {row + 1})" if line is not None else f"data row {row + 1}"
        return f"'{shown(self.name, 60)}' {at}" if self.name else at


@dataclass(frozen=True)
class Table:
    """A file read for ingest: every CSV value as text (numbers, times and money are read by
    the ingest checks, exactly as written), Parquet values as stored, and where each row is."""

    frame: pd.DataFrame
    source: Source


def read_table(path: Path | str, *, max_mb: int) -> pd.DataFrame:
    """Read a .csv or .parquet file at ``path`` into a DataFrame, or raise InvalidInput saying why not."""
    data, name, suffix = _read_file(path, max_mb)
    return _parse(data, name=name, suffix=suffix)


def read_records(path: Path | str, *, max_mb: int) -> Table:
    """Read a file of predictions or costs for ingest: CSV cells stay text, so that nothing is
    converted before the ingest checks look at it, and refusals can name the file line."""
    data, name, suffix = _read_file(path, max_mb)
    if suffix == ".parquet":
        return Table(_parse(data, name=name, suffix=suffix), Source(name))
    _refuse_binary(data, name)
    text = _decode(data, name)
    frame = _checked(_csv_frame(text, name, as_text=True), name)
    return Table(frame, Source(name, lambda row: csv_line_of(text, row)))


def csv_line_of(text: str, row: int) -> int | None:
    """The file line (1-based) on which data row ``row`` (0-based) of CSV ``text`` starts,
    counting quoted line breaks and the blank lines the reader skips. Walks the file up to that
    row: only called to word a refusal."""
    delimiter = sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    seen_header = False
    data_row = -1
    previous_end = 0
    try:
        for record in reader:
            start, previous_end = previous_end + 1, reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            if not seen_header:
                seen_header = True
                continue
            data_row += 1
            if data_row == row:
                return start
    except csv.Error:
        return None
    return None


def _read_file(path: Path | str, max_mb: int) -> tuple[bytes, str, str]:
    path = Path(path)
    suffix = _check_suffix(path.name)
    if not path.exists():
        raise InvalidInput(f"file '{shown(path, 120)}' does not exist.")
    if not path.is_file():
        raise InvalidInput(f"'{shown(path, 120)}' is not a file.")
    size = path.stat().st_size
    _check_size(path.name, size, max_mb)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"cannot read '{shown(path, 120)}': {exc.strerror or _brief(exc)}.") from None
    return data, path.name, suffix


def read_table_bytes(data: bytes, *, name: str, max_mb: int) -> pd.DataFrame:
    """The same checks as ``read_table`` for the content of an uploaded file called ``name``."""
    suffix = _check_suffix(name)
    _check_size(name, len(data), max_mb)
    return _parse(data, name=name, suffix=suffix)


def _check_suffix(name: str) -> str:
    suffix = Path(name).suffix.lower()
    if suffix not in SUFFIXES:
        kind = f"is a {suffix} file" if suffix else "has no file extension"
        raise InvalidInput(f"'{shown(name, 60)}' {kind}; Steward reads .csv and .parquet files.")
    return suffix


def _check_size(name: str, size: int, max_mb: int) -> None:
    if size > max_mb * 1024 * 1024:
        raise InvalidInput(
            f"'{shown(name, 60)}' is {size / 1024 / 1024:.1f} MB; the limit is {max_mb} MB "
            "(STEWARD_UPLOAD_MAX_MB). Split the file or raise the limit."
        )
    if size == 0:
        raise InvalidInput(f"'{shown(name, 60)}' is empty.")


def _parse(data: bytes, *, name: str, suffix: str) -> pd.DataFrame:
    frame = _parse_parquet(data, name) if suffix == ".parquet" else _parse_csv(data, name)
    return _checked(frame, name)


def _checked(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    if len(frame.columns) > MAX_COLUMNS:
        raise InvalidInput(
            f"'{shown(name, 60)}' has {len(frame.columns)} columns; at most {MAX_COLUMNS} are accepted."
        )
    if frame.empty:
        raise InvalidInput(f"'{shown(name, 60)}' has a header but no data rows.")
    return frame


def _brief(exc: BaseException) -> str:
    """A library's message, first line only and shortened: no schema dumps, no internals."""
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return shown(first.rstrip("."), 120)


def _names(names: list[str]) -> str:
    listed = ", ".join(shown(n, 40) for n in names[:5])
    return listed + (f" and {len(names) - 5} more" if len(names) > 5 else "")


# --- CSV --------------------------------------------------------------------------------------


def _parse_csv(data: bytes, name: str) -> pd.DataFrame:
    _refuse_binary(data, name)
    return _csv_frame(_decode(data, name), name, as_text=False)


def _csv_frame(text: str, name: str, *, as_text: bool) -> pd.DataFrame:
    """``text`` as a table; with ``as_text`` every cell stays the text it was (empty: missing)."""
    if not text.strip():
        raise InvalidInput(f"'{shown(name, 60)}' holds only blank lines.")
    delimiter = sniff_delimiter(text)
    header = _header(text, delimiter, name)
    try:
        with warnings.catch_warnings():
            # Nothing pandas warns about reaches the user (mixed types, dates): what matters is
            # refused with a message of ours. Except this: pandas only warns when every row has
            # more fields than the header, and that loses data.
            warnings.simplefilter("ignore")
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(
                io.StringIO(text),
                sep=delimiter,
                skipinitialspace=True,
                index_col=False,
                dtype=str if as_text else None,
            )
    except pd.errors.ParserWarning:
        raise InvalidInput(
            f"'{shown(name, 60)}' is not a well-formed CSV file: the rows have more fields than the header's {len(header)} columns."
        ) from None
    except pd.errors.ParserError as exc:
        raise InvalidInput(
            f"'{shown(name, 60)}' is not a well-formed CSV file: {_parser_problem(exc, header, text)}"
        ) from None
    except (ValueError, csv.Error) as exc:
        raise InvalidInput(f"'{shown(name, 60)}' is not a well-formed CSV file: {_brief(exc)}.") from None
    if len(frame.columns) != len(header):
        return frame
    frame.columns = [c or f"_unnamed_{i}" for i, c in enumerate(header)]  # pandas would mangle names
    return _drop_unnamed(frame, header, name)


def _drop_unnamed(frame: pd.DataFrame, header: list[str], name: str) -> pd.DataFrame:
    """Drop empty columns without a name (a trailing delimiter, Excel's spare columns); refuse filled ones."""
    for i, column in enumerate(header):
        if not column:
            if frame[f"_unnamed_{i}"].notna().any():
                raise InvalidInput(
                    f"'{shown(name, 60)}': column {i + 1} holds values but its header has no name."
                )
            frame = frame.drop(columns=f"_unnamed_{i}")
    return frame


def _refuse_binary(data: bytes, name: str) -> None:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InvalidInput(f"'{shown(name, 60)}' is UTF-16 text; save it as UTF-8 (in Excel: 'CSV UTF-8').")
    for signature, what, fix in _SIGNATURES:
        if data.startswith(signature):
            raise InvalidInput(f"'{shown(name, 60)}' is not a CSV file: it looks like {what}; {fix}.")
    if b"\x00" in data[: 1 << 20]:
        raise InvalidInput(f"'{shown(name, 60)}' is not a CSV file: it contains binary data (NUL bytes).")


def _decode(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InvalidInput(
            f"'{shown(name, 60)}' is not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}); "
            "save it as UTF-8 (in Excel: 'CSV UTF-8')."
        ) from None


def sniff_delimiter(text: str) -> str:
    """The delimiter that splits the header line into the most fields (comma when none does).

    The header is the most reliable line to judge by: column names rarely contain a
    delimiter, while values (decimal commas, free text) often do.
    """
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    best, best_fields = ",", 1
    for delimiter in DELIMITERS:
        fields = len(next(csv.reader([first_line], delimiter=delimiter), []))
        if fields > best_fields:
            best, best_fields = delimiter, fields
    return best


def _header(text: str, delimiter: str, name: str) -> list[str]:
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    header = [c.strip() for c in next(csv.reader([first_line], delimiter=delimiter), [])]
    duplicates = sorted({c for c in header if c and header.count(c) > 1})
    if duplicates:
        raise InvalidInput(
            f"'{shown(name, 60)}': duplicate column name(s) in the header: {_names(duplicates)}."
        )
    return header


def _parser_problem(exc: Exception, header: list[str], text: str) -> str:
    """pandas' tokenizer message, said in terms of the file's lines and the header's columns.

    Other messages about a file's content count data rows (row 1 is the first row below the
    header, as in the page's table), so the line is also given as a data row."""
    found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
    if found:
        _, line, saw = found.groups()
        header_line = next((i for i, t in enumerate(text.splitlines(), 1) if t.strip()), 1)
        row = int(line) - header_line
        return f"line {line} has {saw} fields but the header has {len(header)} columns (data row {row})."
    return _brief(exc) + "."


# --- Parquet ----------------------------------------------------------------------------------


def _parse_parquet(data: bytes, name: str) -> pd.DataFrame:
    if not (data.startswith(b"PAR1") and data.endswith(b"PAR1")):
        raise InvalidInput(
            f"'{shown(name, 60)}' is not a Parquet file (it lacks the PAR1 markers); a CSV file must be named .csv."
        )
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(pa.BufferReader(data))
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise InvalidInput(f"'{shown(name, 60)}' is not a readable Parquet file: {_brief(exc)}.") from None
    nested = [f.name for f in table.schema if pa.types.is_nested(f.type)]
    if nested:
        raise InvalidInput(
            f"'{shown(name, 60)}': column(s) {_names(nested)} hold nested values (lists/structs); "
            "only flat columns are accepted."
        )
    names = [str(n).strip() for n in table.column_names]
    duplicates = sorted({c for c in names if names.count(c) > 1})
    if duplicates:
        raise InvalidInput(f"'{shown(name, 60)}': duplicate column name(s): {_names(duplicates)}.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # refusals are ours, worded for people
            frame = table.to_pandas()
    except (KeyError, IndexError) as exc:
        raise InvalidInput(
            f"'{shown(name, 60)}': its metadata names a column or index that is not in the file ({_brief(exc)}); re-export the file."
        ) from None
    except (pa.ArrowException, ValueError, TypeError) as exc:
        raise InvalidInput(f"'{shown(name, 60)}' could not be converted to a table: {_brief(exc)}.") from None
    frame.columns = names
    return frame
