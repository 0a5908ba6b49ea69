"""The Dagster UI in a real headless Chromium (Debian's, driven by Playwright): the asset lineage a
user sees (from the upload area), the backfill each kind of asset offers, and what a catalog reads off
reviews_fact: its column descriptions, its freshness state (evaluated by a real dagster-daemon), the
backend's kind icon; and the chart of an analysis month (product_popularity's top products, a PNG
data URI in markdown metadata) rendered as an image. `make test` installs chromium as root; elsewhere the
test skips without it (fails under AMZN_TESTS_REQUIRE_ALL=1)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from dagster import AssetSelection, DagsterInstance, materialize

from amzn_assets.domains.rating_model import monthly_partitions
from amzn_assets_tests.deployment import all_assets, analysis, resources_for
from amzn_assets.domains.stream.job import stream_job
from amzn_assets_tests.daemon import running_daemon, wait_for
from amzn_assets_tests.needs import require_executable, require_module
from amzn_assets_tests.webserver import env_for, running_webserver

# Chromium in a closed network: no background fetches, no GPU, no sandbox (CI runs as root).
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]
# The sample's days (2018-01-01..05) lie in one analysis month, keyed by its first day.
SAMPLE_MONTH = {"dagster/asset_partition_range_start": "2018-01-01", "dagster/asset_partition_range_end": "2018-01-01"}


@pytest.fixture
def browser() -> Iterator:
    chromium = require_executable("chromium", "apt-get install -y chromium; make test does it as root")
    sync_api = require_module("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def open_page(browser, url: str):
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    page.set_default_timeout(60_000)
    # The community sign-up dialog of a new instance may open at any moment: dismissed whenever it does.
    skip = page.get_by_role("button", name="Skip")
    page.add_locator_handler(skip, lambda: skip.click())
    page.goto(url)
    page.wait_for_load_state("networkidle")
    return page


def shown(page, *texts: str) -> str:
    """The page's text once every one of `texts` is on it (the UI loads its parts by separate queries)."""
    for text in texts:
        page.wait_for_function("text => document.body.innerText.includes(text)", arg=text, timeout=30_000)
    return page.inner_text("body")


@pytest.mark.timeout(300)
def test_ui_shows_the_lineage_and_the_backfill_of_each_kind_of_asset(browser, dirs, sample, tmp_path, monkeypatch):
    env = env_for(dirs, tmp_path / "home")
    monkeypatch.setenv("DAGSTER_HOME", env["DAGSTER_HOME"])  # dagster.yaml puts the storage there
    resources = resources_for("local", str(dirs.root))
    with DagsterInstance.get() as instance:
        # A stream run (check evaluations to show), then the analysis assets of the month of the days
        # it wrote (a chart per month in their materializations' metadata).
        assert stream_job.execute_in_process(instance=instance, resources=resources).success
        assert materialize([*all_assets, *analysis], instance=instance, resources=resources, tags=SAMPLE_MONTH,
                           selection=AssetSelection.groups("analysis")).success
    # The daemon's freshness daemon evaluates reviews_fact's FreshnessPolicy (the stream run just
    # materialized it: PASS); the sensors stay off.
    daemon = running_daemon(dirs, tmp_path / "home", tmp_path / "daemon.log", AMZN_SENSORS_RUNNING="0", FRESHNESS_DAEMON_INTERVAL_SECONDS="1")
    with daemon, running_webserver(env) as (base, _), DagsterInstance.get() as instance:
        from dagster import AssetKey
        from dagster._core.definitions.freshness import FreshnessState

        def fresh() -> bool:
            record = instance.get_freshness_state_records([AssetKey("reviews_fact")]).get(AssetKey("reviews_fact"))
            return record is not None and record.freshness_state == FreshnessState.PASS

        wait_for(fresh, 60, "the daemon's freshness evaluation of reviews_fact", tmp_path / "daemon.log")
        page = open_page(browser, f"{base}/assets/rating_model?view=lineage&lineageScope=upstream")
        months = len(monthly_partitions.get_partition_keys())  # grows with the calendar
        body = shown(page, "rating_tokenizer", f"{months:,} partitions")
        for name in ("reviews_fact", "rating_tokenizer", "rating_model", f"{months:,} partitions"):
            assert name in body, name
        page.screenshot(path=str(tmp_path / "rating_model_lineage.png"))
        assert (tmp_path / "rating_model_lineage.png").stat().st_size > 10_000

        page = open_page(browser, f"{base}/asset-groups")
        body = shown(page, "rating_model")
        for group in ("reviews", "climate", "rating_model"):
            assert group in body, group

        # A daily warehouse asset: a range is one run (BackfillPolicy.single_run()).
        page = open_page(browser, f"{base}/assets/datetime")
        page.get_by_role("button", name="Materialize…").first.click()
        dialog = page.get_by_role("dialog")
        dialog.get_by_text("Launch runs to materialize datetime").wait_for()
        dialog.get_by_text("Backfills all partitions in a single run.").wait_for(timeout=30_000)
        assert "Backfills all partitions in a single run." in dialog.inner_text()

        # The warehouse asset checks, declared on the asset and evaluated by the stream run: its Checks tab.
        page = open_page(browser, f"{base}/assets/reviews_fact?view=checks")
        body = shown(page, "matches_landed_reviews", "Passed")
        page.wait_for_function("() => !document.body.innerText.includes('Not evaluated')", timeout=30_000)
        body = page.inner_text("body")
        for check in ("references_exist", "matches_landed_reviews", "ratings_in_range", "unique_review_keys", "fresh"):
            assert check in body, check
        page.screenshot(path=str(tmp_path / "reviews_fact_checks.png"))
        assert "Not evaluated" not in body and "Passed" in body

        # The lineage starts at the upload area (an external asset upstream of the landed tables).
        page = open_page(browser, f"{base}/assets/landed_reviews?view=lineage&lineageScope=upstream")
        page.screenshot(path=str(tmp_path / "landed_reviews_lineage.png"))
        page.locator("text=upload_area").first.wait_for()
        assert "landed_reviews" in page.inner_text("body")

        # What a catalog reads: the column descriptions (tables.py), the freshness state, the kind icon.
        page = open_page(browser, f"{base}/assets/reviews_fact")
        # The freshness section loads after the columns (its own query): wait for its state.
        body = shown(page, "Star rating, 1 to 5", "Freshness policy", "Passing")
        assert "Freshness policy" in body and "Passing" in body and "not evaluated" not in body.lower(), body[:3000]
        page.screenshot(path=str(tmp_path / "reviews_fact_overview.png"), full_page=True)
        page.wait_for_function("() => document.body.innerHTML.includes('tool-parquet-color')", timeout=30_000)
        assert "tool-parquet-color" in page.content(), "no parquet kind icon"  # AMZN_BACKEND=local: the parquet kind's icon

        # An analysis month's chart: the overview lists the latest materialization's (2018-01-01) markdown
        # metadata as [Show Markdown]; its dialog renders the markdown, the PNG data URI as an <img>.
        page = open_page(browser, f"{base}/assets/product_popularity")
        page.locator("tr", has_text="top_products_chart").get_by_text("[Show Markdown]").click()
        chart = page.get_by_role("dialog").locator('img[src^="data:image/png;base64,"]')
        chart.wait_for()
        assert chart.get_attribute("alt") == "Top products, 2018-01"
        width = chart.evaluate("img => img.decode().then(() => img.naturalWidth)")  # decoded: a real PNG
        assert width > 100, width
        page.screenshot(path=str(tmp_path / "product_popularity_chart.png"))
        assert (tmp_path / "product_popularity_chart.png").stat().st_size > 10_000
