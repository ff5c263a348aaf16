"""The dashboard in a real browser (Debian's chromium through Playwright): every chart drawn from our own
static Chart.js, one chart's CSV downloaded, and the empty state of a campaign without interactions.

Screenshots go to tests/artifacts/ (not committed) for a reviewer to look at.
"""

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from core.scoping import scopes_disabled

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
PASSWORD = "pw-for-tests-1"  # what tests/conftest.py's make_member sets
PERIOD = "2026-10-24..2026-10-26"
CHARTS = ("available-vouchers", "awarded-by-voucher-type", "awarded-by-day", "errors-by-day", "api-statistics",
          "awarded-by-hour", "errors-by-hour")

expect.set_options(timeout=15_000)


@pytest.fixture
def chromium(browser) -> Browser:
    """The session's one chromium (tests/browser_support.py)."""
    return browser


@pytest.fixture
def signed_in(chromium, live_server, autumn) -> Iterator[Page]:
    """A fresh browser context, signed in as the organization's admin through the login form."""
    context = chromium.new_context(base_url=live_server.url, viewport={"width": 1400, "height": 1000},
                                   accept_downloads=True)
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto("/login/")
    page.get_by_label("Username").fill(autumn.user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/login/" not in url)
    try:
        yield page
    finally:
        context.close()


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


PAINTED_PIXELS = """(canvas) => {
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i] !== 0) painted++;
  return painted;
}"""


def test_every_chart_is_drawn_and_one_downloads_as_csv(signed_in, autumn):
    page = signed_in
    page.goto(f"/campaigns/{autumn.campaign.pk}/")
    page.get_by_test_id("campaign-dashboard-link").click()
    page.wait_for_url(f"**/reporting/campaigns/{autumn.campaign.pk}/")
    page.goto(f"/reporting/campaigns/{autumn.campaign.pk}/?period={PERIOD}")
    expect(page.get_by_test_id("summary-interactions-value")).to_have_text("11")
    expect(page.get_by_test_id("period-label")).to_have_text("24 Oct 2026 – 26 Oct 2026")

    for slug in CHARTS:
        canvas = page.get_by_test_id(f"chart-{slug}").locator("canvas")
        expect(canvas).to_have_attribute("data-drawn", "true")
        assert canvas.evaluate(PAINTED_PIXELS) > 2000, slug  # axes, labels, bars or lines: not a blank canvas
        datasets = canvas.evaluate("(canvas) => Chart.getChart(canvas).data.datasets.length")
        assert datasets >= 1, slug
    assert page.evaluate("() => typeof Chart.version") == "string"  # served from our static files

    # the data table: every value in text, readable without colour
    awarded_by_day = page.get_by_test_id("chart-awarded-by-day")
    awarded_by_day.get_by_text("Data table").click()
    table_rows = awarded_by_day.locator("table tbody tr")
    expect(table_rows).to_have_count(3)
    expect(table_rows.nth(1)).to_contain_text("Sun 25 Oct")
    assert table_rows.nth(1).locator("td").all_inner_texts() == ["5", "2"]
    screenshot(page, "reporting-dashboard")

    with page.expect_download() as download_info:
        page.get_by_test_id("download-errors-by-day").click()
    download = download_info.value
    assert download.suggested_filename == f"campaign-{autumn.campaign.pk}-errors-by-day-20261024-20261026.csv"
    rows = list(csv.reader(io.StringIO(download.path().read_bytes().decode("utf-8-sig"))))
    assert rows == [
        ["Day (Europe/London)", "All requests", "Errors", "Exceptions"],
        ["2026-10-24", "3", "0", "0"], ["2026-10-25", "5", "0", "1"], ["2026-10-26", "3", "1", "0"],
    ]


def test_a_campaign_without_interactions_shows_the_empty_state(signed_in, autumn, make_campaign):
    with scopes_disabled():
        quiet = make_campaign(autumn.organization, autumn.user, name="Quiet")
    page = signed_in
    page.goto(f"/reporting/campaigns/{quiet.pk}/?period={PERIOD}")
    expect(page.get_by_test_id("summary-interactions-value")).to_have_text("0")
    expect(page.get_by_test_id("chart-empty")).to_have_count(len(CHARTS))
    expect(page.locator("canvas[data-chart]")).to_have_count(0)
    expect(page.get_by_test_id("chart-awarded-by-hour")).to_contain_text("No data in this period.")
    screenshot(page, "reporting-empty")


def test_the_overview_links_each_campaign_to_its_dashboard(signed_in, autumn):
    page = signed_in
    page.get_by_role("link", name="Reporting").click()
    page.wait_for_url("**/reporting/**")
    page.goto(f"/reporting/?period={PERIOD}")
    expect(page.get_by_test_id("summary-interactions-value")).to_have_text("12")
    expect(page.get_by_role("link", name="Foreign")).to_have_count(0)
    screenshot(page, "reporting-overview")
    page.get_by_role("link", name="Autumn").click()
    page.wait_for_url(f"**/reporting/campaigns/{autumn.campaign.pk}/?period={PERIOD}")
    expect(page.get_by_test_id("summary-awarded-value")).to_have_text("6")
