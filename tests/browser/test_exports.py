"""A large XLSX download in the browser (#16 item 15): Download XLSX above the bound opens the export's page,
whose bar follows a real worker's progress until the link to the file appears."""

import io
import re

import pytest
from celery.contrib.testing.worker import start_worker
from openpyxl import load_workbook
from playwright.sync_api import expect

from accounts.models import Membership
from config import celery_app

pytestmark = pytest.mark.browser

ROWS = 20_000


@pytest.fixture(scope="module")
def export_worker(django_db_setup):
    """A real Celery worker, in this process, consuming the environment's Redis broker (CELERY_BROKER_URL)."""
    celery_app.control.purge()  # forget tasks a killed earlier run may have left in the queue
    with start_worker(celery_app, perform_ping_check=False, pool="solo", shutdown_timeout=30) as worker:
        yield worker


def test_a_large_xlsx_download_follows_its_progress_to_a_link(
    logged_in_page, make_member, organization, make_vault, export_worker, settings, tmp_path, screenshot
):
    settings.GRID_XLSX_REQUEST_ROWS = 100
    settings.MEDIA_ROOT = tmp_path
    make_vault(organization, vouchers=ROWS, name="Big vault")
    page = logged_in_page(make_member(organization, Membership.Role.ADMIN, username="alice"))
    polled: list[dict] = []
    page.on("response", lambda response: polled.append(response.json()) if "/progress/" in response.url else None)

    page.goto("/incentives/vouchers/")
    page.get_by_test_id("download-xlsx").click()
    expect(page).to_have_url(re.compile(r"/exports/\d+/$"))
    expect(page.get_by_role("heading", name="Vouchers: XLSX export")).to_be_visible()
    expect(page.locator("#export-progress .progress-bar")).to_have_text(re.compile(r"^([1-9]|[1-9]\d)%$"))
    screenshot(page, "20-export-running")

    link = page.get_by_test_id("export-link")
    expect(link).to_be_visible(timeout=120_000)
    expect(page.get_by_test_id("export-result")).to_have_text(f"{ROWS:,} rows written.")
    screenshot(page, "21-export-ready")
    unfinished = [state for state in polled if not state["finished"]]
    assert any(0 < state["percent"] < 100 for state in unfinished), polled
    assert polled[-1]["finished"] and polled[-1]["status"] == "ready"

    with page.expect_download() as download_info:
        link.click()
    download = download_info.value
    assert re.fullmatch(r"vouchers-\d{8}-\d{4}\.xlsx", download.suggested_filename), download.suggested_filename
    sheet = load_workbook(io.BytesIO(download.path().read_bytes()), read_only=True).active  # the path has no .xlsx
    rows = list(sheet.values)
    assert len(rows) == ROWS + 1 and rows[0][0] == "Code"
