"""The pictures the analysis assets' materializations carry: PNG charts made with matplotlib's
object API (a Figure, no pyplot: no global state, no display), embedded in markdown metadata as a
data URI, so the Dagster UI shows the answer without SQL. 30-90 KB each (80 dpi): each month's
materialization stores its own (docs/benchmarks.md: a year's analysis grew the instance by 4.5 MB)."""

from __future__ import annotations

import base64
import io
import statistics

import pyarrow as pa
import pyarrow.compute as pc

from amzn_assets.analysis.popularity import top_products

DPI = 80
STAR_COLOURS = ("#c0392b", "#e67e22", "#f1c40f", "#7fb800", "#27ae60")


def markdown_image(png: bytes, alt: str) -> str:
    return f"![{alt}](data:image/png;base64,{base64.b64encode(png).decode()})"


def _plain(text: str) -> str:
    """Text as written: matplotlib reads $...$ as math (a title like "Save $5 on 2 $10 packs" fails)."""
    return text.replace("$", r"\$")


def _figure(width: float, height: float):
    from matplotlib.figure import Figure  # 0.4 s to import: when a chart is drawn, not when the code location loads

    figure = Figure(figsize=(width, height))
    return figure, figure.subplots()


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def top_products_chart(month_rows: pa.Table, month: str, top: int = 10) -> bytes:
    """The month's best products by wilson_lower across categories: one bar each, its reviews beside it."""
    rows = top_products(month_rows, top).to_pylist()
    fig, ax = _figure(8, 0.4 * max(len(rows), 3) + 1)
    labels = [_plain((r["title"] or r["asin"])[:45] + f" ({r['category']})") for r in rows][::-1]
    values = [r["wilson_lower"] for r in rows][::-1]
    bars = ax.barh(labels, values, color="#2e86c1")
    for bar, r in zip(bars, rows[::-1]):
        ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, f" {r['reviews']} reviews, {r['mean_rating']:.2f}★", va="center", fontsize=8)
    ax.set_xlim(0, 1.25)
    ax.set_xlabel("Wilson lower bound of the share of 4-5★ reviews")
    ax.set_title(f"Top products, {month}")
    return _png(fig)


def volume_chart(month_rows: pa.Table, month: str) -> bytes:
    """The month's reviews per day (all categories), stacked by star rating, and the mean rating."""
    days = month_rows.group_by("review_date").aggregate([(f"stars_{n}", "sum") for n in range(1, 6)]).sort_by("review_date")
    dates = days["review_date"].to_pylist()
    fig, ax = _figure(8, 3.5)
    bottom = [0] * len(dates)
    for n in range(1, 6):
        counts = days[f"stars_{n}_sum"].to_pylist()
        ax.bar(dates, counts, bottom=bottom, color=STAR_COLOURS[n - 1], label=f"{n}★", width=0.9)
        bottom = [b + c for b, c in zip(bottom, counts)]
    total = pc.sum(pa.array(bottom)).as_py() or 0
    ax.set_ylabel("reviews")
    ax.set_title(f"Reviews per day by rating, {month} ({total} reviews)")
    ax.legend(ncol=5, fontsize=8, loc="upper left")
    fig.autofmt_xdate()
    return _png(fig)


def weather_chart(month_rows: pa.Table, month: str) -> bytes:
    """Each day of the month: its reviews (all categories) against the mean maximum temperature, and
    Pearson's r over those days (the per-category figures are in weather_correlation)."""
    per_day = month_rows.group_by(["review_date", "tmax_mean"]).aggregate([("reviews", "sum")])
    points = [(t, r) for t, r in zip(per_day["tmax_mean"].to_pylist(), per_day["reviews_sum"].to_pylist()) if t is not None]
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    r = "n/a"
    if len(points) >= 3 and len(set(xs)) > 1 and len(set(ys)) > 1:
        r = f"{statistics.correlation(xs, ys):+.2f}"
    fig, ax = _figure(6, 4)
    ax.scatter(xs, ys, color="#2e86c1")
    ax.set_title(f"Reviews vs. max temperature, {month}: r = {r} over {len(points)} days")
    ax.set_xlabel("mean daily maximum over reporting stations, °F")
    ax.set_ylabel("reviews that day (all categories)")
    return _png(fig)
