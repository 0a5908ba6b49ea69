"""The kinds of source file the upload area receives, where they go and how they parse."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

import pyarrow as pa
import pyarrow.compute as pc

from amzn_assets import tables
from amzn_assets.sources.common import ParseResult, Rejected, SourceFileError, split_lines


class LoadedFile(NamedTuple):  # a tuple: built once per uploaded file, thousands per batch
    rel_path: str  # relative to the data directory, e.g. uploaded/reviews/all_beauty/x.json.gz
    size_bytes: int
    mtime_ns: int
    sha256: str
    data: bytes  # as uploaded
    category: str | None
    text: bytes | None  # inflated when loaded (landing/loading.py); None when refused
    error: str | None  # why the whole file is refused (set when loading), instead of text


@dataclass
class ParsedBatch:
    table: pa.Table
    rejected: list[Rejected]
    file_errors: dict[str, str]  # rel_path -> why the whole file was refused
    rows_by_file: dict[str, int]
    partitions_by_file: dict[str, str]  # rel_path -> the partition days it fed, as a JSON list


@dataclass(frozen=True)
class SourceKind:
    name: str
    upload_subdir: str  # under data/uploaded/
    by_category: bool  # files sit in <upload_subdir>/<category>/
    suffixes: tuple[str, ...]
    schema: pa.Schema
    partition_column: str | None
    parse: Callable[[Sequence[LoadedFile], date | None], ParsedBatch]


def _parse_reviews(files: Sequence[LoadedFile], today: date | None) -> ParsedBatch:
    from amzn_assets.sources.reviews import parse_reviews

    lines, file_errors = [], {}
    for f in files:
        try:
            lines.extend(split_lines(content(f), f.rel_path, f.category))
        except SourceFileError as exc:
            file_errors[f.rel_path] = str(exc)
    try:
        result = parse_reviews(lines, today=today)
    except Exception:  # noqa: BLE001 - a parser bug: quarantine the file(s) it fails on, land the rest
        result, lines = _reviews_file_by_file(lines, today, file_errors)
    refused = {(r.source, r.line) for r in result.rejected}
    # The parser keeps input order, one output row per accepted line: map rows back to files.
    row_sources = [line.source for line in lines if (line.source, line.line) not in refused]
    assert len(row_sources) == result.table.num_rows, "parser dropped a line without a reason"
    return _with_file_stats(result, file_errors, row_sources, "review_date")


def content(f: LoadedFile) -> bytes:
    """The file's inflated content; SourceFileError with the reason when it was refused."""
    if f.error is not None:
        raise SourceFileError(f.error)
    return f.text


def parser_failure(exc: Exception) -> str:
    return f"parser failed ({type(exc).__name__}: {exc}); the file is kept in quarantine/ for a fix and a re-upload"


def _reviews_file_by_file(lines: list, today: date | None, file_errors: dict[str, str]) -> tuple[ParseResult, list]:
    """Parse each file's lines on their own, so that a file the parser fails on is quarantined (with
    the reason) instead of failing the batch, and every other file lands."""
    from amzn_assets.sources.reviews import parse_reviews

    by_file: dict[str, list] = {}
    for line in lines:
        by_file.setdefault(line.source, []).append(line)
    results, kept = [], []
    for source, own in by_file.items():
        try:
            results.append(parse_reviews(own, today=today))
        except Exception as exc:  # noqa: BLE001 - see parser_failure
            file_errors[source] = parser_failure(exc)
            continue
        kept.extend(own)
    if not results:
        return parse_reviews([], today=today), []
    return ParseResult(pa.concat_tables([r.table for r in results]), [rej for r in results for rej in r.rejected]), kept


def _per_file(parser: Callable[[bytes, str], ParseResult], partition_column: str | None):
    def parse(files: Sequence[LoadedFile], today: date | None) -> ParsedBatch:
        results, file_errors, row_sources = [], {}, []
        for f in files:
            try:
                result = parser(content(f), f.rel_path)
            except SourceFileError as exc:
                file_errors[f.rel_path] = str(exc)
                continue
            except Exception as exc:  # noqa: BLE001 - a parser bug must not fail every later landing
                file_errors[f.rel_path] = parser_failure(exc)
                continue
            results.append(result)
            row_sources.extend([f.rel_path] * result.table.num_rows)
        merged = ParseResult(
            pa.concat_tables([r.table for r in results]) if results else None,
            [rej for r in results for rej in r.rejected],
        )
        return _with_file_stats(merged, file_errors, row_sources, partition_column)

    return parse


def _with_file_stats(
    result: ParseResult, file_errors: dict[str, str], row_sources: list[str], partition_column: str | None
) -> ParsedBatch:
    """Rows and partition days per source file, grouped in Arrow (one row per review per file)."""
    rows_by_file: dict[str, int] = {}
    partitions: dict[str, str] = {}
    days = pc.cast(result.table[partition_column], pa.string()) if partition_column and row_sources else None
    if row_sources and len(set(row_sources)) == len(row_sources):  # one row per file: nothing to group
        rows_by_file = dict.fromkeys(row_sources, 1)
        if days is not None:
            partitions = dict(zip(row_sources, pc.binary_join_element_wise('["', days, '"]', "").to_pylist()))
    elif row_sources:
        sources = pa.array(row_sources, pa.string())
        counts = pa.table({"source": sources}).group_by("source").aggregate([("source", "count")])
        rows_by_file = dict(zip(counts["source"].to_pylist(), counts["source_count"].to_pylist()))
        if days is not None:
            pairs = pa.table({"source": sources, "day": days}).group_by(["source", "day"]).aggregate([])
            pairs = pairs.sort_by([("source", "ascending"), ("day", "ascending")])
            listed = pairs.group_by("source", use_threads=False).aggregate([("day", "list")])
            # The JSON list as json.dumps writes it: ["2018-01-02", "2018-01-03"]
            joined = pc.binary_join(listed["day_list"], '", "')
            texts = pc.binary_join_element_wise('["', joined, '"]', "")
            partitions = dict(zip(listed["source"].to_pylist(), texts.to_pylist()))
    return ParsedBatch(
        table=result.table,
        rejected=list(result.rejected),
        file_errors=file_errors,
        rows_by_file=rows_by_file,
        partitions_by_file=partitions,
    )


def _lazy(module: str, name: str) -> Callable[[bytes, str], ParseResult]:
    def call(data: bytes, source: str) -> ParseResult:
        import importlib

        return getattr(importlib.import_module(module), name)(data, source)

    return call


REVIEWS = SourceKind(
    "reviews", "reviews", True, (".json.gz", ".json"), tables.PARSED_REVIEW_SCHEMA, "review_date", _parse_reviews
)
PRODUCTS = SourceKind(
    "products",
    "metadata/products",
    False,
    (".json.gz", ".json"),
    tables.LANDED_PRODUCT_SCHEMA,
    None,
    _per_file(_lazy("amzn_assets.sources.products", "parse_products"), None),
)
STATIONS = SourceKind(
    "stations",
    "metadata/climate",
    False,
    (".txt", ".txt.gz"),
    tables.LANDED_STATION_SCHEMA,
    None,
    _per_file(_lazy("amzn_assets.sources.stations", "parse_stations"), None),
)
CLIMATE = SourceKind(
    "climate",
    "climate",
    False,
    (".csv", ".csv.gz"),
    tables.LANDED_CLIMATE_SCHEMA,
    "date",
    _per_file(_lazy("amzn_assets.sources.climate", "parse_climate_csv"), "date"),
)

# Metadata first, so a run that lands reviews and products together finds the products' metadata.
KINDS: tuple[SourceKind, ...] = (PRODUCTS, STATIONS, REVIEWS, CLIMATE)
KINDS_BY_NAME = {k.name: k for k in KINDS}
