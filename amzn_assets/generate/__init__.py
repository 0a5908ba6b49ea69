"""Deterministic synthetic data in the seed project's upload layout (plain Python, no Dagster).

    generate_sample(Path("data"), seed=42)

writes, under data_dir (see layout.py):
    uploaded/reviews/<category>/<category>-<index:07d>.json.gz   one Amazon 2018 review per file
    uploaded/metadata/products/<category>.json.gz                2018 product metadata, JSON lines
    uploaded/metadata/climate/ghcnd-stations.txt                 GHCN-Daily station list
    uploaded/climate/<station_id>.csv                            CDO daily export per station

The same arguments give byte-identical files. Each part draws from its own seeded generators, so
e.g. changing `reviews` does not change the weather.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

from faker import Faker

from amzn_assets.generate import layout, noaa, reviews as rv

__all__ = ["GenerateSummary", "generate_sample"]


@dataclass(frozen=True)
class GenerateSummary:
    data_dir: Path
    seed: int
    first_date: dt.date
    last_date: dt.date
    categories: tuple[str, ...]
    review_files: int
    reviewers: int  # distinct reviewer ids in the reviews
    products: int  # metadata records written (every asin reviewed, plus unreviewed catalog items)
    reviewed_products: int  # distinct asins in the reviews
    stations: int  # lines in the station list
    reporting_stations: int  # stations with a climate CSV
    climate_rows: int  # data rows over all climate CSVs (one per station per day)
    reviews_per_category: tuple[tuple[str, int], ...]  # review i of c is layout.review_path(d, c, i)
    review_dirs: tuple[Path, ...]
    product_files: tuple[Path, ...]
    station_list: Path
    climate_files: tuple[Path, ...]

    def review_paths(self) -> Iterator[Path]:
        for category, count in self.reviews_per_category:
            for index in range(count):
                yield layout.review_path(self.data_dir, category, index)

    def paths(self) -> list[Path]:
        """Every file written."""
        return [*self.review_paths(), *self.product_files, self.station_list, *self.climate_files]


def _parts(seed: int, part: str) -> tuple[random.Random, Faker]:
    fake = Faker("en_US")
    fake.seed_instance(f"{seed}:{part}:faker")
    return random.Random(f"{seed}:{part}"), fake


def _dumps(record: dict) -> bytes:
    return (json.dumps(record) + "\n").encode("utf-8")


def generate_sample(
    data_dir: Path,
    *,
    seed: int = 42,
    start: dt.date = dt.date(2018, 1, 1),
    days: int = 21,
    reviews: int = 3000,
    categories: Sequence[str] = ("all_beauty", "appliances"),
    products_per_category: int = 60,
    reviewers: int = 800,
    stations: int = 4,
) -> GenerateSummary:
    categories = tuple(categories)
    if days < 1 or reviews < 0 or stations < 0 or products_per_category < 1 or reviewers < 1:
        raise ValueError("days, products_per_category and reviewers must be >= 1; reviews, stations >= 0")
    if not categories or len(set(categories)) != len(categories):
        raise ValueError("categories must be non-empty and distinct")
    if any(not c or "/" in c or "\\" in c or c.startswith(".") for c in categories):
        raise ValueError(f"unusable category directory name in {categories!r}")
    data_dir = Path(data_dir)

    # Reviews and the catalog they draw on.
    rng, fake = _parts(seed, "reviews")
    infos = {c: rv.category_info(c, fake) for c in categories}
    catalog = rv.make_products(rng, infos, products_per_category)
    people = rv.make_reviewers(rng, fake, reviewers)
    pool = rv.TextPool(fake)
    counts = {c: reviews // len(categories) + (i < reviews % len(categories)) for i, c in enumerate(categories)}
    review_dirs = tuple(layout.review_dir(data_dir, c) for c in categories)
    for d in review_dirs:
        d.mkdir(parents=True, exist_ok=True)
    dir_names = {c: str(d) + os.sep for c, d in zip(categories, review_dirs)}  # str: fast hot loop
    used_asins: set[str] = set()
    used_reviewers: set[str] = set()

    def review_items():
        for category, index, record in rv.iter_reviews(rng, pool, catalog, people, counts, start, days):
            used_asins.add(record["asin"])
            used_reviewers.add(record["reviewerID"])
            yield dir_names[category] + layout.review_name(category, index), _dumps(record)

    review_files = layout.write_gz_files(review_items())

    # Product metadata: the whole catalog, sorted by asin, so every reviewed asin is covered.
    rng, fake = _parts(seed, "products")
    product_files = []
    (data_dir / layout.PRODUCTS_DIR).mkdir(parents=True, exist_ok=True)
    for category in categories:
        asins = sorted(p.asin for p in catalog[category])
        lines = b"".join(_dumps(rv.product_record(rng, fake, pool, infos[category], a)) for a in asins)
        path = layout.products_path(data_dir, category)
        layout.write_atomic(path, layout.gz(lines))
        product_files.append(path)

    # Stations and their daily climate.
    rng, fake = _parts(seed, "noaa")
    reporting, listed = noaa.make_stations(rng, fake, stations)
    station_path = layout.station_list_path(data_dir)
    station_path.parent.mkdir(parents=True, exist_ok=True)
    layout.write_atomic(station_path, noaa.station_list(listed))
    (data_dir / layout.CLIMATE_DIR).mkdir(parents=True, exist_ok=True)
    climate_files = []
    for profile, station in enumerate(reporting):
        path = layout.climate_path(data_dir, station.station_id)
        layout.write_atomic(path, noaa.climate_csv(rng, station, profile, start, days))
        climate_files.append(path)

    return GenerateSummary(
        data_dir=data_dir,
        seed=seed,
        first_date=start,
        last_date=start + dt.timedelta(days=days - 1),
        categories=categories,
        review_files=review_files,
        reviewers=len(used_reviewers),
        products=sum(len(catalog[c]) for c in categories),
        reviewed_products=len(used_asins),
        stations=len(listed),
        reporting_stations=len(reporting),
        climate_rows=len(reporting) * days,
        reviews_per_category=tuple(counts.items()),
        review_dirs=review_dirs,
        product_files=tuple(product_files),
        station_list=station_path,
        climate_files=tuple(climate_files),
    )
