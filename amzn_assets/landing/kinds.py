"""The kinds of source file the upload area receives, where they go and how they parse."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

import pyarrow as pa

from amzn_assets import tables
from amzn_assets.sources.common import ParseResult, Rejected, SourceFileError, decompress, split_lines


@dataclass(frozen=True)
class LoadedFile:
    rel_path: str  # relative to the data directory, e.g. uploaded/reviews/all_beauty/x.json.gz
    size_bytes: int
    mtime_ns: int
    sha256: str
    data: bytes
    category: str | None


@dataclass
class ParsedBatch:
    table: pa.Table
    rejected: list[Rejected]
    file_errors: dict[str, str]  # rel_path -> why the whole file was refused
    rows_by_file: dict[str, int]
    partitions_by_file: dict[str, list[str]]


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
            lines.extend(split_lines(decompress(f.data, f.rel_path), f.rel_path, f.category))
        except SourceFileError as exc:
            file_errors[f.rel_path] = str(exc)
    result = parse_reviews(lines, today=today)
    refused = {(r.source, r.line) for r in result.rejected}
    # The parser keeps input order, one output row per accepted line: map rows back to files.
    row_sources = [line.source for line in lines if (line.source, line.line) not in refused]
    assert len(row_sources) == result.table.num_rows, "parser dropped a line without a reason"
    return _with_file_stats(result, file_errors, row_sources, "review_date")


def _per_file(parser: Callable[[bytes, str], ParseResult], partition_column: str | None):
    def parse(files: Sequence[LoadedFile], today: date | None) -> ParsedBatch:
        results, file_errors, row_sources = [], {}, []
        for f in files:
            try:
                result = parser(decompress(f.data, f.rel_path), f.rel_path)
            except SourceFileError as exc:
                file_errors[f.rel_path] = str(exc)
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
    rows_by_file: dict[str, int] = defaultdict(int)
    for source in row_sources:
        rows_by_file[source] += 1
    partitions: dict[str, set[str]] = defaultdict(set)
    if partition_column is not None and result.table is not None:
        for source, value in zip(row_sources, result.table[partition_column].to_pylist()):
            partitions[source].add(value.isoformat())
    return ParsedBatch(
        table=result.table,
        rejected=list(result.rejected),
        file_errors=file_errors,
        rows_by_file=dict(rows_by_file),
        partitions_by_file={k: sorted(v) for k, v in partitions.items()},
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
