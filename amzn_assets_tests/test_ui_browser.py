"""The Dagster UI in a real headless Chromium (Debian's, driven by Playwright): the asset lineage a
user sees, and the backfill each kind of asset offers. `make test` installs chromium as root; elsewhere the
test skips without it (fails under AMZN_TESTS_REQUIRE_ALL=1)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from dagster import DagsterInstance

from amzn_assets.domains.rating_model import monthly_partitions
from amzn_assets.definitions import resources_for
from amzn_assets.domains.stream.sensor import stream_job
from amzn_assets_tests.needs import require_executable, require_module
from amzn_assets_tests.webserver import env_for, running_webserver

# Chromium in a closed network: no background fetches, no GPU, no sandbox (CI runs as root).
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]


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
    page.goto(url)
    page.wait_for_load_state("networkidle")
    skip = page.get_by_role("button", name="Skip")  # the community sign-up dialog of a new instance
    if skip.count():
        skip.click()
    return page


@pytest.mark.timeout(240)
def test_ui_shows_the_lineage_and_the_backfill_of_each_kind_of_asset(browser, dirs, sample, tmp_path, monkeypatch):
    env = env_for(dirs, tmp_path / "home")
    monkeypatch.setenv("DAGSTER_HOME", env["DAGSTER_HOME"])  # dagster.yaml puts the storage there
    with DagsterInstance.get() as instance:  # a stream run: check evaluations to show
        assert stream_job.execute_in_process(instance=instance, resources=resources_for("local", str(dirs.root))).success
    with running_webserver(env) as (base, _):
        page = open_page(browser, f"{base}/assets/rating_model?view=lineage&lineageScope=upstream")
        graph = page.locator("text=rating_tokenizer").first
        graph.wait_for()
        body = page.inner_text("body")
        months = len(monthly_partitions.get_partition_keys())  # grows with the calendar
        for name in ("reviews_fact", "rating_tokenizer", "rating_model", f"{months:,} partitions"):
            assert name in body, name
        page.screenshot(path=str(tmp_path / "rating_model_lineage.png"))
        assert (tmp_path / "rating_model_lineage.png").stat().st_size > 10_000

        page = open_page(browser, f"{base}/asset-groups")
        page.locator("text=rating_model").first.wait_for()
        body = page.inner_text("body")
        for group in ("reviews", "climate", "rating_model"):
            assert group in body, group

        # A daily warehouse asset: a range is one run (BackfillPolicy.single_run()).
        page = open_page(browser, f"{base}/assets/datetime")
        page.get_by_role("button", name="Materialize…").first.click()
        dialog = page.get_by_role("dialog")
        dialog.get_by_text("Launch runs to materialize datetime").wait_for()
        assert "Backfills all partitions in a single run." in dialog.inner_text()

        # The warehouse asset checks, declared on the asset and evaluated by the stream run: its Checks tab.
        page = open_page(browser, f"{base}/assets/reviews_fact?view=checks")
        page.locator("text=matches_landed_reviews").first.wait_for()
        body = page.inner_text("body")
        for check in ("references_exist", "matches_landed_reviews", "ratings_in_range", "unique_review_keys", "fresh"):
            assert check in body, check
        page.screenshot(path=str(tmp_path / "reviews_fact_checks.png"))
        assert "Not evaluated" not in body and "Passed" in body
