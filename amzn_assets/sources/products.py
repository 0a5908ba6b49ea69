"""Parse Amazon product metadata (JSON lines, or one JSON array) into LANDED_PRODUCT_SCHEMA."""

from __future__ import annotations

import html
import re
from typing import Any

import orjson
import pyarrow as pa

from amzn_assets.sources.common import ParseResult, Rejected, SourceFileError, excerpt, split_lines
from amzn_assets.tables import LANDED_PRODUCT_SCHEMA

_BOM = b"\xef\xbb\xbf"
_PRICE = re.compile(r"\$\s*(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?")
# ">#39,745 in Appliances (See top 100)", "1,234 in Beauty & Personal Care ("
_RANK = re.compile(r">?\s*#?\s*(\d[\d,]*)\s+in\s+([^(]+?)\s*(?:\(.*)?", re.DOTALL)
_ALT = re.compile(r"""\balt\s*=\s*["']([^"']*)["']""", re.IGNORECASE)
_NAMES = LANDED_PRODUCT_SCHEMA.names


def parse_products(data: bytes, source: str) -> ParseResult:
    """Parse decompressed metadata bytes.

    For a JSON-array file, a refused record's `line` is its 1-based position in the array. A record
    whose text holds a NUL character (JSON "\\u0000") is refused (sources/nul.py).
    """
    if data.startswith(_BOM):
        data = data[len(_BOM):]
    may_hold_nul = b"\\u0000" in data
    rejected: list[Rejected] = []
    # The same asin twice in one file: the later record wins, as an upsert of the file in order
    # would; it is not refused.
    products: dict[str, tuple] = {}
    for line, raw, rec in _records(data, source, rejected):
        asin = rec.get("asin") if type(rec) is dict else None
        asin = asin.strip() if isinstance(asin, str) else None
        if not asin:
            reason = "missing asin" if type(rec) is dict else "not a JSON object"
            rejected.append(Rejected(source, line, reason, _excerpt(raw, rec)))
            continue
        row = _product(asin, rec)
        with_nul = may_hold_nul and next((n for n, v in zip(_NAMES, row) if type(v) is str and "\x00" in v), None)
        if with_nul:
            rejected.append(Rejected(source, line, f"NUL character in {with_nul}", _excerpt(raw, rec)))
            continue
        products[asin] = row

    rejected.sort(key=lambda r: r.line or 0)
    cols = list(zip(*products.values())) if products else [[] for _ in LANDED_PRODUCT_SCHEMA]
    arrays = [pa.array(values, field.type) for values, field in zip(cols, LANDED_PRODUCT_SCHEMA)]
    return ParseResult(pa.Table.from_arrays(arrays, schema=LANDED_PRODUCT_SCHEMA), rejected)


def _excerpt(raw: bytes | None, rec: Any) -> str | None:
    if raw is not None:
        return excerpt(raw)
    try:
        return excerpt(orjson.dumps(rec))
    except orjson.JSONEncodeError:  # nested deeper than orjson writes (255 levels; it reads 1024)
        return f"({type(rec).__name__} nested too deeply to show)"


def _records(data: bytes, source: str, rejected: list[Rejected]) -> list[tuple[int, bytes | None, Any]]:
    """(line or array position, raw bytes if known, decoded value); undecodable lines are refused."""
    if data.lstrip()[:1] == b"[":
        try:
            values = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise SourceFileError(f"invalid JSON array: {exc}") from exc
        if type(values) is not list:
            raise SourceFileError("invalid JSON array: not a list")
        return [(i, None, v) for i, v in enumerate(values, start=1)]
    out = []
    for raw in split_lines(data, source):
        try:
            out.append((raw.line, raw.data, orjson.loads(raw.data)))
        except orjson.JSONDecodeError as exc:
            try:
                raw.data.decode("utf-8")
                reason = f"invalid JSON: {exc}"
            except UnicodeDecodeError:
                reason = "not valid UTF-8"
            rejected.append(Rejected.of(raw, reason))
    return out


def _product(asin: str, rec: dict) -> tuple:
    """One row of LANDED_PRODUCT_SCHEMA, in column order."""
    path = [c for c in map(_text, _as_list(rec.get("category"))) if c]
    sales_rank, rank_category = _rank(rec.get("rank"))
    return (
        asin,
        _text(rec.get("title")),
        _text(rec.get("brand")),
        _price(rec.get("price")),
        _main_cat(rec.get("main_cat")),
        path[-1] if path else None,
        " > ".join(path) if path else None,
        sales_rank,
        rank_category,
        _lines(rec.get("feature")),
        _lines(rec.get("description")),
    )


def _text(value: Any) -> str | None:
    """HTML-unescaped, stripped text; null when empty or not a scalar."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return None
    return html.unescape(value).strip() or None


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _lines(value: Any) -> str | None:
    """A list of texts (description, feature), one per line; null when empty."""
    texts = [t for t in map(_text, _as_list(value)) if t]
    return "\n".join(texts) if texts else None


def _main_cat(value: Any) -> str | None:
    """Some main_cat values are an <img ... alt="Name"/> tag: keep its alt text, else null."""
    text = _text(value)
    if text and text.startswith("<"):
        alt = _ALT.search(text)
        return (alt.group(1).strip() or None) if alt else None
    return text


def _price(value: Any) -> float | None:
    """"$3.62" -> 3.62, "$1,299.00" -> 1299.0; empty, ranges and junk (CSS, text) -> null."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value) if value >= 0 else None
    if not isinstance(value, str):
        return None
    match = _PRICE.fullmatch(value.strip())
    if match is None:
        return None
    return float(match.group(1).replace(",", "") + (match.group(2) or ""))


def _rank(value: Any) -> tuple[int | None, str | None]:
    """The first parseable rank entry -> (sales_rank, rank_category)."""
    for entry in _as_list(value):
        text = _text(entry)
        match = _RANK.fullmatch(text) if text else None
        if match:
            return int(match.group(1).replace(",", "")), match.group(2)
    return None, None
