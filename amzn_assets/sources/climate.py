"""Parse NOAA Climate Data Online daily-summaries CSV exports into LANDED_CLIMATE_SCHEMA.

Every value is quoted, an empty field is missing, some values carry leading blanks (" 0023"),
and the column set depends on the station. Columns other than STATION, NAME, DATE, the measures
and the WTxx flags (PGTM, WDF2, *_ATTRIBUTES, ...) are ignored. A row that is not UTF-8 or holds a
NUL character in its STATION or NAME is refused; a file with a header and no rows is refused whole.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from amzn_assets.sources.common import ParseResult, Rejected, SourceFileError, excerpt
from amzn_assets.tables import CLIMATE_MEASURES, LANDED_CLIMATE_SCHEMA, WEATHER_TYPE_CODES

_BOM = b"\xef\xbb\xbf"
_NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"  # no nan/inf, no thousands separator
_DATE = r"^\d{4}-\d{2}-\d{2}$"
_WANTED = {"STATION", "NAME", "DATE"} | {c.upper() for c in CLIMATE_MEASURES + WEATHER_TYPE_CODES}
_LINE_END = re.compile(rb"\r\n|\r|\n")  # where pyarrow ends a row (bytes.splitlines splits the same)


def parse_climate_csv(data: bytes, source: str) -> ParseResult:
    """Parse decompressed CSV bytes; rows with an empty station/date or a bad value are refused."""
    if data.startswith(_BOM):
        data = data[len(_BOM):]
    first_line = _LINE_END.split(data, maxsplit=1)[0]
    header = _header(first_line)
    missing = [c for c in ("STATION", "DATE") if c not in header]
    if missing:
        names = " and ".join(missing)
        raise SourceFileError(f"missing {names} column in the CSV header (not a CDO daily export?)")
    wanted = [name for name in dict.fromkeys(header) if name in _WANTED]
    if not data[len(first_line):].strip():
        raise SourceFileError("no data rows (the CSV holds only its header)")
    undecodable: list[Rejected] = []
    if not data.isascii() and not _is_utf8(data):
        data, undecodable = _blank_undecodable(data, source)
        if not data[len(first_line):].strip():
            return ParseResult(LANDED_CLIMATE_SCHEMA.empty_table(), undecodable)

    skipped: dict[int | None, str] = {}  # malformed rows: CSV line number -> reason

    def on_invalid_row(row: pacsv.InvalidRow) -> str:
        skipped[row.number] = (
            f"wrong number of fields: {row.actual_columns}, expected {row.expected_columns}"
        )
        return "skip"

    try:
        raw = pacsv.read_csv(
            io.BytesIO(data),
            # One thread, so that pyarrow reports the line number of a malformed row.
            read_options=pacsv.ReadOptions(use_threads=False, column_names=header, skip_rows=1),
            parse_options=pacsv.ParseOptions(invalid_row_handler=on_invalid_row),
            convert_options=pacsv.ConvertOptions(
                include_columns=wanted,
                column_types={name: pa.string() for name in wanted},
                strings_can_be_null=True,
                null_values=[""],  # not pyarrow's default list: "NA" or "nan" must be refused
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise SourceFileError(f"unreadable CSV: {exc}") from exc

    n = raw.num_rows
    text = {name: _trim(raw[name]) for name in wanted}
    problems: list[tuple[pa.Array, str, pa.Array | None]] = []  # (row is bad, reason, value)

    station, date_text = text["STATION"], text["DATE"]
    problems.append((pc.is_null(station), "missing STATION", None))
    problems.append((pc.is_null(date_text), "missing DATE", None))
    parsed = pc.strptime(date_text, format="%Y-%m-%d", unit="s", error_is_null=True)
    # strptime rolls "2018-02-30" over to March: a valid date must print back as itself.
    date_ok = pc.and_(
        pc.match_substring_regex(date_text, _DATE),
        pc.equal(pc.strftime(parsed, format="%Y-%m-%d"), date_text),
    )
    problems.append((pc.invert(date_ok), "invalid DATE", date_text))
    if b"\x00" in data:  # a database text column cannot hold it
        for name in ("STATION", "NAME"):
            if name in text:
                problems.append((pc.match_substring(text[name], "\x00"), f"NUL character in {name}", None))

    columns: dict[str, pa.Array] = {
        "station_id": station,
        "date": pc.if_else(date_ok, parsed, None).cast(pa.date32()),
        "station_name": text.get("NAME", pa.nulls(n, pa.string())),
    }
    for measure in CLIMATE_MEASURES:
        value = text.get(measure.upper())
        if value is None:
            columns[measure] = pa.nulls(n, pa.float64())
            continue
        ok = pc.match_substring_regex(value, _NUMBER)
        problems.append((pc.invert(ok), f"invalid number in {measure.upper()}", value))
        columns[measure] = pc.if_else(ok, value, None).cast(pa.float64())
    for code in WEATHER_TYPE_CODES:
        value = text.get(code.upper())
        # Present column: any value (NOAA writes "1") means the weather type occurred that day.
        columns[code] = pa.nulls(n, pa.bool_()) if value is None else pc.is_valid(value)

    table = pa.Table.from_pydict(columns, schema=LANDED_CLIMATE_SCHEMA)
    bad = pa.array([False] * n, pa.bool_())
    for mask, _, _ in problems:
        bad = pc.or_(bad, pc.fill_null(mask, False))
    rejected = _rejected(data, source, n, skipped, problems) if pc.any(bad).as_py() or skipped else []
    if undecodable:
        rejected = sorted(rejected + undecodable, key=lambda r: r.line or 0)
    table = _keep_last(table.filter(pc.invert(bad)))
    return ParseResult(table, rejected)


def _header(first: bytes) -> list[str]:
    try:
        return [name.strip() for name in next(csv.reader([first.decode("utf-8")]), [])]
    except UnicodeDecodeError as exc:
        raise SourceFileError(f"CSV header not valid UTF-8: {exc}") from exc


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _blank_undecodable(data: bytes, source: str) -> tuple[bytes, list[Rejected]]:
    """Refuse the lines that are not UTF-8 and blank them (pyarrow skips blank lines; the others
    keep their line numbers)."""
    lines = data.splitlines()
    rejected = []
    for number, line in enumerate(lines, start=1):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            rejected.append(Rejected(source, number, "not valid UTF-8", excerpt(line)))
            lines[number - 1] = b""
    return b"\n".join(lines), rejected


def _trim(column: pa.ChunkedArray) -> pa.Array:
    """Blanks trimmed; empty or blank -> null."""
    value = pc.utf8_trim_whitespace(column.combine_chunks())
    return pc.if_else(pc.greater(pc.utf8_length(value), 0), value, None)


def _keep_last(table: pa.Table) -> pa.Table:
    """One row per (station_id, date), the last in the file.

    A CDO export that repeats a station-day carries a re-issued value further down, so the last
    row is the current one; duplicates are corrections, not errors, and are not refused.
    """
    numbered = table.append_column("_row", pa.array(range(table.num_rows), pa.int64()))
    last = numbered.group_by(["station_id", "date"], use_threads=False).aggregate([("_row", "max")])
    if last.num_rows == table.num_rows:
        return table
    rows = last["_row_max"]
    return table.take(pc.take(rows, pc.sort_indices(rows)))


def _rejected(
    data: bytes,
    source: str,
    rows: int,
    skipped: dict[int | None, str],
    problems: list[tuple[pa.Array, str, pa.Array | None]],
) -> list[Rejected]:
    """One Rejected per refused row, with every reason found for it and its line of the file."""
    every_line = data.splitlines()
    lines = [line for line in every_line if line]  # pyarrow skips empty lines (not blank ones)
    numbers = [i for i, line in enumerate(every_line, start=1) if line]
    if len(lines) != 1 + rows + len(skipped):
        raise SourceFileError("a quoted value spans lines: refused rows cannot be told by their line")
    reasons: dict[int, list[str]] = defaultdict(list)
    for mask, reason, value in problems:
        for i in pc.indices_nonzero(pc.fill_null(mask, False)).to_pylist():
            reasons[i].append(reason if value is None else f"{reason}: {value[i].as_py()!r}")
    # Data row i (0-based) is the i-th non-blank line after the header that pyarrow did not skip.
    row_lines = [k for k in range(1, len(lines)) if k + 1 not in skipped]
    out = [
        Rejected(source, numbers[k], "; ".join(reasons[i]), excerpt(lines[k]))
        for i, k in enumerate(row_lines)
        if i in reasons
    ]
    out += [
        Rejected(source, numbers[n - 1] if n else None, reason, excerpt(lines[n - 1]) if n else None)
        for n, reason in skipped.items()
    ]
    return sorted(out, key=lambda r: r.line or 0)
