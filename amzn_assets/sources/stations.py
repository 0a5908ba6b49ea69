"""Parse the NOAA GHCN-Daily station list (ghcnd-stations.txt, fixed width) into LANDED_STATION_SCHEMA.

Documented layout (1-based, inclusive columns): ID 1-11, LATITUDE 13-20, LONGITUDE 22-30,
ELEVATION 32-37, STATE 39-40, NAME 42-71, GSN FLAG 73-75, HCN/CRN FLAG 77-79, WMO ID 81-85.
The file's lines may have their trailing blanks trimmed, so the last columns may be absent.
A UTF-8 byte order mark before the first line is dropped (it would shift every column of it);
lines may end in LF, CRLF or a lone CR. A line longer than the layout is refused, not cut.
"""

from __future__ import annotations

import math

import pyarrow as pa

from amzn_assets.sources.common import ParseResult, Rejected, excerpt
from amzn_assets.tables import LANDED_STATION_SCHEMA

_MIN_LENGTH = 30  # through the end of LONGITUDE
_MAX_LENGTH = 85  # through the end of WMO ID
_MISSING_ELEVATION = -999.9
_BOM = b"\xef\xbb\xbf"


def parse_stations(data: bytes, source: str) -> ParseResult:
    """Parse decompressed ghcnd-stations.txt bytes; blank fields become null."""
    rows: list[tuple] = []
    rejected: list[Rejected] = []
    data = data.removeprefix(_BOM)
    try:
        lines: list[str | bytes] = data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    except UnicodeDecodeError:  # rare: find the bad lines (left as bytes)
        lines = [_decode(raw) for raw in data.splitlines()]
    for number, line in enumerate(lines, start=1):
        if isinstance(line, bytes):
            rejected.append(Rejected(source, number, "not valid UTF-8", excerpt(line)))
            continue
        line = line.rstrip()
        if not line:
            continue
        row = _row(line)
        if isinstance(row, str):
            rejected.append(Rejected(source, number, row, excerpt(line)))
        else:
            rows.append(row)

    cols = list(zip(*rows)) if rows else [[] for _ in LANDED_STATION_SCHEMA]
    arrays = [pa.array(values, field.type) for values, field in zip(cols, LANDED_STATION_SCHEMA)]
    return ParseResult(pa.Table.from_arrays(arrays, schema=LANDED_STATION_SCHEMA), rejected)


def _decode(raw: bytes) -> str | bytes:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw


def _row(line: str) -> tuple | str:
    """The row of one station line, or the reason it is refused."""
    if len(line) < _MIN_LENGTH:
        return f"line too short for id, latitude and longitude ({len(line)} characters)"
    if len(line) > _MAX_LENGTH:  # two lines run together?
        return f"line longer than the layout ({len(line)} characters, at most {_MAX_LENGTH})"
    if "\x00" in line:  # a database text column cannot hold it
        return "NUL character"
    station_id = line[0:11].strip()
    if not station_id:
        return "missing station id"
    try:
        latitude = float(line[12:20])
    except ValueError:
        return f"latitude not a number: {line[12:20].strip()!r}"
    try:
        longitude = float(line[21:30])
    except ValueError:
        return f"longitude not a number: {line[21:30].strip()!r}"
    if not -90.0 <= latitude <= 90.0:  # NaN fails too
        return f"latitude out of range -90..90: {latitude:g}"
    if not -180.0 <= longitude <= 180.0:
        return f"longitude out of range -180..180: {longitude:g}"
    elevation_text = line[31:37].strip()
    try:
        elevation = float(elevation_text) if elevation_text else None
        if elevation is not None and not math.isfinite(elevation):
            raise ValueError
    except ValueError:
        return f"elevation not a number: {elevation_text!r}"
    if elevation == _MISSING_ELEVATION:
        elevation = None
    return (
        station_id,
        latitude,
        longitude,
        elevation,
        line[38:40].strip() or None,
        line[41:71].strip() or None,
        line[72:75].strip() or None,
        line[76:79].strip() or None,
        line[80:85].strip() or None,
    )
