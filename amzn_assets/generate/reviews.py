"""Synthetic Amazon 2018 reviews (one JSON object each) and the matching product metadata.

Everything is drawn from the random.Random and Faker instances passed in, in a fixed order, so
a seed gives the same records every time. Records follow the real 2018 key order.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
import random
import string
from dataclasses import dataclass
from typing import Iterator

from faker import Faker

ALNUM = string.ascii_uppercase + string.digits
STAR_SUMMARIES = ("One Star", "Two Stars", "Three Stars", "Four Stars", "Five Stars")
RATING_WEIGHTS = (9, 5, 9, 19, 58)  # 1..5 stars, roughly Amazon's skew
IMAGE_URL = "https://images-na.ssl-images-amazon.com/images/I/{}._SY88.jpg"
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")
ADJECTIVES = ("Premium", "Classic", "Deluxe", "Ultra", "Natural", "Compact", "Replacement",
              "Professional", "Original", "Advanced", "Gentle", "Heavy Duty")
JUNK_PRICES = ("$10.99 - $15.99", "$4.25 - $38.99",
               ".a-box-inner{background-color:#fff}#alohaBuyBoxWidget .selected{background-color:#fffbf3}")


@dataclass(frozen=True)
class CategoryInfo:
    name: str  # readable, first element of the metadata category path
    rank_name: str  # the best-seller list a rank refers to
    main_cats: tuple[str, ...]  # first one most of the time
    subcategories: tuple[str, ...]
    nouns: tuple[str, ...]
    styles: tuple[tuple[str, tuple[str, ...]], ...]  # key, values (values get a leading space)


KNOWN = {
    "all_beauty": CategoryInfo(
        "All Beauty", "Beauty & Personal Care", ("All Beauty", "Health & Personal Care"),
        ("Hair Care", "Skin Care", "Fragrance", "Bath & Body", "Makeup"),
        ("Shampoo", "Conditioner", "Face Cream", "Body Lotion", "Lip Balm", "Nail Polish",
         "Eau de Toilette", "Hair Oil", "Facial Cleanser", "After Shave Lotion"),
        (("Size:", ("7.0 oz", "200ml/6.7oz", "3.4 Fl Oz", "Small", "150 Gram", "1 Count")),
         ("Color:", ("Lemongrass", "Natural", "Rose Gold", "Black", "Clear")),
         ("Scent Name:", ("Lavender", "Unscented", "Citrus", "Classic Ice Blue"))),
    ),
    "appliances": CategoryInfo(
        "Appliances", "Appliances", ("Appliances", "Tools & Home Improvement", "Amazon Home"),
        ("Parts & Accessories", "Refrigerators, Freezers & Ice Makers", "Range Parts & Accessories",
         "Dryer Parts & Accessories", "Washer Parts & Accessories"),
        ("Dryer Vent Kit", "Ice Maker", "Water Filter", "Range Hood Filter", "Refrigerator Shelf",
         "Washer Hose", "Oven Knob", "Drip Pan Set", "Dishwasher Rack", "Power Cord"),
        (("Color:", ("White", "Black", "Stainless Steel", "Bisque")),
         ("Style:", ("Standard", "Heavy Duty", "Universal")),
         ("Size:", ("1 Pack", "2 Pack", '30"', "4 ft"))),
    ),
}


def category_info(category: str, fake: Faker) -> CategoryInfo:
    if category in KNOWN:
        return KNOWN[category]
    name = category.replace("_", " ").title()
    words = tuple(w.title() for w in fake.words(12))
    return CategoryInfo(name, name, (name,), ("Accessories", "Parts", "Supplies"), words,
                        (("Size:", ("Small", "Medium", "Large")), ("Color:", ("Black", "White"))))


@dataclass(frozen=True)
class Product:
    asin: str
    category: str
    variants: tuple[dict[str, str], ...]


def _code(rng: random.Random, length: int, alphabet: str = ALNUM) -> str:
    return "".join(rng.choices(alphabet, k=length))


def make_products(
    rng: random.Random, infos: dict[str, CategoryInfo], per_category: int
) -> dict[str, list[Product]]:
    seen: set[str] = set()
    catalog: dict[str, list[Product]] = {}
    for category, info in infos.items():
        products = []
        while len(products) < per_category:
            asin = _code(rng, 10, string.digits) if rng.random() < 0.03 else "B0" + _code(rng, 8)
            if asin in seen:
                continue
            seen.add(asin)
            keys = [info.styles[0]] + [s for s in info.styles[1:] if rng.random() < 0.3]
            variants = tuple(
                {key: " " + rng.choice(values) for key, values in keys} for _ in range(rng.randint(1, 3))
            )
            products.append(Product(asin, category, variants))
        catalog[category] = products
    return catalog


def make_reviewers(rng: random.Random, fake: Faker, count: int) -> list[tuple[str, str]]:
    seen: set[str] = set()
    out = []
    while len(out) < count:
        rid = "A" + _code(rng, rng.choice((12, 13, 13, 13)))  # 13-14 chars, as most real ids
        if rid in seen:
            continue
        seen.add(rid)
        roll = rng.random()
        if roll < 0.45:
            name = fake.name()
        elif roll < 0.6:
            name = f"{fake.first_name()} {fake.last_name()[0]}."
        elif roll < 0.85:
            name = fake.user_name()
        elif roll < 0.95:
            name = "Amazon Customer"
        else:
            name = f"Kindle Customer {fake.name()}"
        out.append((rid, name))
    return out


def _zipf_cum(n: int, s: float) -> list[float]:
    total, cum = 0.0, []
    for k in range(n):
        total += 1.0 / (k + 1) ** s
        cum.append(total)
    return cum


class TextPool:
    """Faker sentences drawn once, then combined by the rng (fast for 100k reviews)."""

    def __init__(self, fake: Faker, size: int = 1500):
        self.sentences = [fake.sentence(nb_words=3 + i % 14) for i in range(size)]
        self.titles = [fake.sentence(nb_words=2 + i % 7) for i in range(size // 3)]

    def text(self, rng: random.Random) -> str:
        target = min(5000, rng.lognormvariate(math.log(120), 1.0))
        parts, length = [], 0
        while length < target:
            sentence = rng.choice(self.sentences)
            if length > 300 and rng.random() < 0.15:
                parts.append("\n\n")
            elif parts:
                parts.append(" ")
            parts.append(sentence)
            length += len(sentence) + 1
        return "".join(parts)

    def summary(self, rng: random.Random, rating: int) -> str:
        if rng.random() < 0.3:
            return STAR_SUMMARIES[rating - 1]
        title = rng.choice(self.titles)
        return title[:-1] if rng.random() < 0.6 else title


def iter_reviews(
    rng: random.Random, pool: TextPool, catalog: dict[str, list[Product]],
    reviewers: list[tuple[str, str]], counts: dict[str, int], start: dt.date, days: int,
) -> Iterator[tuple[str, int, dict]]:
    """Yield (category, index, record); (reviewer, asin, day) never repeats."""
    reviewer_cum = _zipf_cum(len(reviewers), 0.5)
    rating_cum = [sum(RATING_WEIGHTS[: i + 1]) for i in range(5)]
    seen: set[tuple[int, str, int]] = set()
    for category, count in counts.items():
        products = catalog[category]
        product_cum = _zipf_cum(len(products), 0.7)
        for index in range(count):
            for _ in range(200):
                day = rng.randrange(days)
                who = bisect.bisect(reviewer_cum, rng.random() * reviewer_cum[-1])
                product = products[bisect.bisect(product_cum, rng.random() * product_cum[-1])]
                if (who, product.asin, day) not in seen:
                    break
            else:
                raise ValueError("too few reviewers, products or days for that many unique reviews")
            seen.add((who, product.asin, day))
            yield category, index, _review(rng, pool, product, reviewers[who], rating_cum, start, day)


def _review(rng, pool: TextPool, product: Product, reviewer, rating_cum, start, day) -> dict:
    rating = bisect.bisect(rating_cum, rng.random() * rating_cum[-1]) + 1
    date = start + dt.timedelta(days=day)
    record: dict = {}
    if rng.random() < 0.02:
        record["image"] = [IMAGE_URL.format(_code(rng, 11, string.ascii_letters + string.digits))
                           for _ in range(rng.randint(1, 3))]
    record["overall"] = float(rating)
    if rng.random() < 0.10:
        votes = rng.randint(1000, 4000) if rng.random() < 0.03 else int(rng.paretovariate(1.2) + 1)
        record["vote"] = f"{votes:,}"
    record["verified"] = rng.random() < 0.88
    record["reviewTime"] = f"{date.month:02d} {date.day}, {date.year}"
    record["reviewerID"] = reviewer[0]
    record["asin"] = product.asin
    if rng.random() < 0.85:
        record["style"] = rng.choice(product.variants)
    record["reviewerName"] = reviewer[1]
    if rng.random() >= 0.002:
        record["reviewText"] = pool.text(rng)
    if rng.random() >= 0.001:
        record["summary"] = pool.summary(rng, rating)
    record["unixReviewTime"] = (date - dt.date(1970, 1, 1)).days * 86400
    return record


def product_record(rng: random.Random, fake: Faker, pool: TextPool, info: CategoryInfo, asin: str) -> dict:
    """One metadata line in the real 2018 key order; the empty keys stay empty."""
    html = rng.random() < 0.05  # this record carries HTML entities
    brand = fake.last_name() + rng.choice(("", "", " Labs", " Home", " Pro", "co"))
    noun = rng.choice(info.nouns)
    if html:
        title = f"{brand} {noun} &amp; {rng.choice(info.nouns)} Set"
    else:
        title = f"{brand} {rng.choice(ADJECTIVES)} {noun}" + rng.choice(("", "", ", Pack of 2", ", 2 Count"))
    path = [info.name] + rng.sample(info.subcategories, rng.randint(1, 2))
    if html:
        path = [p.replace("&", "&amp;") for p in path]
    return {
        "category": path,
        "tech1": "",
        "description": [" ".join(rng.sample(pool.sentences, 3)) for _ in range(rng.randint(0, 2))],
        "fit": "",
        "title": title,
        "also_buy": [],
        "image": [],
        "tech2": "",
        "brand": brand,
        "feature": rng.sample(pool.sentences, rng.randint(0, 5)),
        "rank": _rank(rng, info, html),
        "also_view": [],
        "details": {},
        "main_cat": info.main_cats[0] if rng.random() < 0.8 else rng.choice(info.main_cats),
        "similar_item": "",
        "date": "" if rng.random() < 0.15 else f"{rng.choice(MONTHS)} {rng.randint(1, 28)}, {rng.randint(1999, 2017)}",
        "price": _price(rng),
        "asin": asin,
    }


def _rank(rng: random.Random, info: CategoryInfo, html: bool) -> list[str] | str:
    number = int(10 ** rng.uniform(2, 6.5))
    name = info.rank_name.replace("&", "&amp;") if html else info.rank_name
    if rng.random() < 0.06:  # the real data has a truncated plain string on some records
        return f"{number:,} in {name} ("
    ranks = [f">#{number:,} in {name} (See top 100)"]
    if rng.random() < 0.5:
        sub = f"{info.rank_name} > {rng.choice(info.subcategories)}"
        if html:
            sub = sub.replace("&", "&amp;").replace(">", "&gt;")
        ranks.append(f">#{max(1, number // 40):,} in {sub}")
    return ranks


def _price(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.20:
        return ""
    if roll < 0.22:
        return rng.choice(JUNK_PRICES)
    return f"${rng.lognormvariate(math.log(15), 0.8):.2f}"
