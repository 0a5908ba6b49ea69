"""Plain-Python parsers for the raw sources. No Dagster import here.

Each parser returns a ParseResult: an Arrow table in the matching schema of amzn_assets.tables
and the records it refused, each with a reason.
"""

from amzn_assets.sources.common import ParseResult, RawLine, Rejected, SourceFileError

__all__ = ["ParseResult", "RawLine", "Rejected", "SourceFileError"]
