"""The admin UI in a real browser (design §2, §9, §10): login, the campaign builder, saved grid filters,
CSV downloads, the background voucher import with its progress bar, and who may edit what."""

import csv
import io
import re

import pytest
from celery.contrib.testing.worker import start_worker
from django.contrib.sessions.models import Session
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.models import Membership
from api.keys import integration_for_key as find_integration_by_key
from campaigns.models import Campaign
from config import celery_app
from core.scoping import scopes_disabled
from incentives.models import IncentiveCode, IncentivePool, Vault, Voucher, VoucherImport
from tracking.models import TrackingNumber

pytestmark = pytest.mark.browser

IMPORT_HEADER = "vendor,amount,currency,code,pin,expires_at,is_test"
BIG_IMPORT_ROWS = 50_000


@pytest.fixture
def alice(make_member, organization):
    return make_member(organization, Membership.Role.ADMIN, username="alice")


@pytest.fixture
def sam(make_member, organization):
    return make_member(organization, Membership.Role.STANDARD, username="sam")


@pytest.fixture(scope="module")
def import_worker(django_db_setup):
    """A real Celery worker, in this process, consuming the environment's Redis broker (CELERY_BROKER_URL)."""
    celery_app.control.purge()  # forget tasks a killed earlier run may have left in the queue
    with start_worker(celery_app, perform_ping_check=False, pool="solo", shutdown_timeout=30) as worker:
        yield worker


def row_texts(page: Page, column: int = 1) -> list[str]:
    """The text of one column (1-based) of every row of the grid on screen."""
    return [text.strip() for text in page.locator(f"table tbody tr td:nth-child({column})").all_inner_texts()]


def apply_filters(page: Page) -> None:
    page.locator("#grid-filters").get_by_role("button", name=re.compile(r"Filter$")).click()


def campaign_names(page: Page) -> list[str]:
    return sorted(row_texts(page, 1))


# --- login and the campaign builder -----------------------------------------------------------------


def test_login_then_build_a_campaign_with_the_wizard(page, logged_in_page, alice, organization, make_vault,
                                                      screenshot):
    make_vault(organization, vouchers=3, name="Spring vault")

    page.goto("/login/")
    screenshot(page, "01-login")
    logged_in_page(alice)
    expect(page).to_have_url(re.compile(r"/campaigns/$"))
    expect(page.get_by_role("heading", name="Campaigns")).to_be_visible()

    page.get_by_role("link", name=re.compile(r"Create$")).click()  # the icon adds to the name
    basics = page.get_by_test_id("wizard-step-basics")
    expect(basics).to_be_visible()
    page.locator("#id_basics-name").fill("Spring launch")
    page.locator("#id_basics-external_id").fill("SPRING-2026")
    page.locator("#id_basics-description").fill("Vouchers for the spring callers.")
    expect(page.locator("#id_basics-owner option:checked")).to_have_text("alice")
    screenshot(page, "02-wizard-basics")
    page.get_by_role("button", name="Next").click()

    expect(page.get_by_test_id("wizard-step-schedule")).to_be_visible()
    expect(page.locator("#id_schedule-starts_at")).not_to_have_value("")  # defaults to now
    screenshot(page, "03-wizard-schedule")
    page.get_by_role("button", name="Next").click()

    expect(page.get_by_test_id("wizard-step-links")).to_be_visible()
    page.get_by_label("Spring vault").check()
    screenshot(page, "04-wizard-vaults")
    page.get_by_role("button", name="Next").click()

    # Engagement's optional step (contributed through campaigns.extensions): left off, nothing is set up.
    expect(page.get_by_test_id("wizard-step-engagement")).to_be_visible()
    expect(page.locator("#id_engagement-enabled")).not_to_be_checked()
    page.get_by_role("button", name="Next").click()

    expect(page.get_by_test_id("wizard-step-integration")).to_be_visible()
    page.locator("#id_integration-name").fill("Call centre")
    page.locator("#id_integration-status").select_option("live")
    screenshot(page, "05-wizard-integration")
    page.get_by_role("button", name="Create campaign").click()

    created = page.get_by_test_id("campaign-created")
    expect(created).to_be_visible()
    expect(created).to_contain_text("Spring launch")
    expect(created).to_contain_text("SPRING-2026")
    # Started now, with a vault and a live integration: live at once.
    expect(created.locator(".status-badge")).to_have_text("Live")
    key = page.get_by_test_id("new-key").inner_text().strip()
    assert re.fullmatch(r"vk_[A-Za-z0-9_-]{40,}", key)
    screenshot(page, "06-wizard-created")

    with scopes_disabled():
        campaign = Campaign.objects.get(name="Spring launch")
        assert campaign.status == Campaign.Status.LIVE
        assert [v.name for v in campaign.vaults.all()] == ["Spring vault"]
        assert campaign.owner == alice
        integration = find_integration_by_key(key)  # the key shown is the integration's working key
        assert integration is not None and integration.campaign_id == campaign.pk
        assert integration.name == "Call centre"
    # The key came in the answer to the wizard's last POST: it never waited in the session table.
    assert not [s for s in Session.objects.all() if key in str(s.get_decoded())]
    assert page.url.endswith(f"/campaigns/{campaign.pk}/created/")  # swapped in, so a reload GETs it

    # Shown once: the same page again has no key.
    page.reload()
    expect(page.get_by_test_id("campaign-created")).to_be_visible()
    expect(page.get_by_test_id("new-key")).to_have_count(0)

    page.get_by_role("link", name="Create another").click()
    expect(page).to_have_url(re.compile(r"/campaigns/new/$"))
    expect(page.get_by_test_id("wizard-step-basics")).to_be_visible()
    expect(page.locator("#id_basics-name")).to_have_value("")


# --- grids: saved filters and downloads ------------------------------------------------------------


def test_saved_filters_apply_when_coming_back_until_reset(logged_in_page, alice, organization, make_campaign,
                                                          screenshot):
    for name in ("Summer sale", "Summer promo", "Winter clearance", "Autumn deal"):
        make_campaign(organization, alice, name=name)
    page = logged_in_page(alice)
    page.goto("/campaigns/")
    expect(page.get_by_test_id("row-count")).to_have_text("4 rows")

    page.get_by_label("Name or external ID").fill("summer")
    apply_filters(page)
    expect(page).to_have_url(re.compile(r"/campaigns/\?(.*&)?q=summer(&|$)"))
    expect(page.get_by_test_id("row-count")).to_have_text("2 rows")
    assert campaign_names(page) == ["Summer promo", "Summer sale"]

    page.get_by_test_id("save-filters").click()
    expect(page.get_by_text("Filters saved")).to_be_visible()

    # Leave for another page, then come back to the bare URL.
    page.get_by_role("link", name="Vaults").click()
    expect(page).to_have_url(re.compile(r"/incentives/vaults/$"))
    page.goto("/campaigns/")
    expect(page).to_have_url(re.compile(r"/campaigns/\?(.*&)?q=summer(&|$)"))
    expect(page.get_by_text("Your saved filters are applied.")).to_be_visible()
    expect(page.get_by_label("Name or external ID")).to_have_value("summer")
    expect(page.get_by_test_id("row-count")).to_have_text("2 rows")
    assert campaign_names(page) == ["Summer promo", "Summer sale"]
    screenshot(page, "07-campaigns-saved-filter")

    page.get_by_test_id("reset-filters").click()
    expect(page.get_by_text("Filters reset to the default.")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/campaigns/$"))
    expect(page.get_by_test_id("row-count")).to_have_text("4 rows")
    assert campaign_names(page) == ["Autumn deal", "Summer promo", "Summer sale", "Winter clearance"]
    expect(page.get_by_text("Your saved filters are applied.")).to_have_count(0)

    # And it stays reset.
    page.get_by_role("link", name="Vaults").click()
    page.goto("/campaigns/")
    expect(page).to_have_url(re.compile(r"/campaigns/$"))
    expect(page.get_by_test_id("row-count")).to_have_text("4 rows")


def test_csv_download_holds_exactly_the_filtered_rows_on_screen(logged_in_page, alice, organization, make_vault,
                                                                screenshot):
    vault = make_vault(organization, vouchers=12, name="Mixed vault")  # 12 ACME vouchers
    with scopes_disabled():
        Voucher.objects.bulk_create(
            Voucher(vault=vault, vendor="Globex", amount="25.00", currency="EUR", code=f"GLOBEX-{n:03d}")
            for n in range(7)
        )
    page = logged_in_page(alice)
    page.goto("/incentives/vouchers/")
    expect(page.get_by_test_id("row-count")).to_have_text("19 rows")

    page.get_by_label("Vendor").fill("globex")
    apply_filters(page)
    expect(page.get_by_test_id("row-count")).to_have_text("7 rows")
    on_screen = row_texts(page, 1)
    assert len(on_screen) == 7 and all(code.startswith("GLOBEX-") for code in on_screen)
    screenshot(page, "08-vouchers-filtered")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download CSV").click()
    download = download_info.value
    assert download.suggested_filename.startswith("vouchers-") and download.suggested_filename.endswith(".csv")
    raw = download.path().read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    header, *rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert header[:4] == ["Code", "Vendor", "Amount", "Currency"]
    assert [row[0] for row in rows] == on_screen  # same rows, same order
    assert {row[1] for row in rows} == {"Globex"}


# --- the voucher import, run by a real worker -------------------------------------------------------


def big_voucher_file(rows: int) -> bytes:
    lines = [IMPORT_HEADER] + [
        f"Amazon,{n % 200 + 5}.{n % 100:02d},USD,AMZN-{n:08d}-QWERTYUIOP,{n % 10000:04d},2027-12-31,{n % 2}"
        for n in range(rows)
    ]
    return ("\n".join(lines) + "\n").encode()


def upload_vouchers(page: Page, vault: Vault, file_name: str, data: bytes) -> None:
    page.goto(f"/incentives/vaults/{vault.pk}/")
    page.get_by_role("link", name="Import vouchers").click()
    expect(page.get_by_role("heading", name=f"Import vouchers into {vault.name}")).to_be_visible()
    page.get_by_label("File").set_input_files({"name": file_name, "mimeType": "text/csv", "buffer": data})
    page.get_by_role("button", name="Upload and import").click()


def test_importing_a_good_file_shows_progress_to_100_percent(logged_in_page, alice, organization, make_vault,
                                                             import_worker, screenshot):
    vault = make_vault(organization, name="Amazon cards")
    page = logged_in_page(alice)
    polled: list[dict] = []
    page.on("response", lambda response: polled.append(response.json()) if "/progress/" in response.url else None)

    upload_vouchers(page, vault, "amazon.csv", big_voucher_file(BIG_IMPORT_ROWS))
    expect(page).to_have_url(re.compile(r"/incentives/imports/\d+/$"))
    expect(page.get_by_role("heading", name="Import of amazon.csv")).to_be_visible()
    # The page follows the running import: the script polls and moves the bar off 0% before the end.
    expect(page.locator("#import-progress .progress-bar")).to_have_text(re.compile(r"^([1-9]|[1-9]\d)%$"))
    screenshot(page, "09-import-running")

    result = page.get_by_test_id("import-result")
    expect(result).to_have_text(re.compile(rf"{BIG_IMPORT_ROWS:,} vouchers imported into Amazon cards"), timeout=60_000)
    expect(page.get_by_test_id("progress-bar")).to_have_text("100%")
    screenshot(page, "10-import-succeeded")

    unfinished = [state for state in polled if not state["finished"]]
    assert unfinished, "the page never saw the import running"
    assert any(0 < state["percent"] < 100 for state in unfinished), polled
    assert polled[-1]["finished"] and polled[-1]["percent"] == 100
    with scopes_disabled():
        assert Voucher.objects.filter(vault=vault).count() == BIG_IMPORT_ROWS
        assert VoucherImport.objects.get(vault=vault).status == VoucherImport.Status.SUCCEEDED


def test_importing_a_bad_file_lists_line_numbered_errors_and_imports_nothing(
    logged_in_page, alice, organization, make_vault, import_worker, screenshot
):
    vault = make_vault(organization, vouchers=2, name="Gift cards")  # holds codes V<pk>-0 and V<pk>-1
    bad = "\n".join([
        IMPORT_HEADER,
        "ACME,10.00,USD,GOOD-1,,,",
        "ACME,ten,USD,BAD-AMOUNT,,,",
        "ACME,10.00,DOLLARS,BAD-CURRENCY,,,",
        "ACME,10.00,USD,GOOD-1,,,",
        f"ACME,10.00,USD,V{vault.pk}-0,,,",
        "ACME,10.00,USD,GOOD-2,,,",
    ]).encode()
    page = logged_in_page(alice)

    upload_vouchers(page, vault, "bad.csv", bad)
    result = page.get_by_test_id("import-result")
    expect(result).to_have_text(re.compile(r"Nothing was imported: the file has 4 problems"), timeout=30_000)
    errors = page.get_by_test_id("import-errors").locator("tbody tr")
    expect(errors).to_have_count(4)
    lines_and_problems = [
        (row.locator("td").nth(0).inner_text().strip(), row.locator("td").nth(1).inner_text().strip())
        for row in errors.all()
    ]
    assert lines_and_problems == [
        ("3", "amount 'ten' is not a number (write it like 12.50)."),
        ("4", "currency 'DOLLARS' is not an ISO 4217 currency code."),
        ("5", "code 'GOOD-1' is a duplicate of line 2."),
        ("6", f"code 'V{vault.pk}-0' is already in the vault."),
    ]
    expect(page.get_by_test_id("progress-bar")).to_have_count(0)
    screenshot(page, "11-import-failed")

    with scopes_disabled():
        assert sorted(Voucher.objects.filter(vault=vault).values_list("code", flat=True)) == [
            f"V{vault.pk}-0", f"V{vault.pk}-1"
        ]
        assert VoucherImport.objects.get(vault=vault).status == VoucherImport.Status.FAILED
    page.get_by_role("link", name="Back to Gift cards").click()
    expect(page.locator("table").first.locator("tbody tr td").nth(4)).to_have_text("2")  # "All" still 2


# --- pools: importing codes, and codes in bulk ----------------------------------------------------


def test_importing_codes_into_a_pool_follows_the_progress_to_the_result(
    logged_in_page, alice, organization, import_worker, screenshot
):
    with scopes_disabled():
        pool = IncentivePool.objects.create(organization=organization, name="Spring coupons")
    codes = "\n".join(["code"] + [f"SPRING-{n:06d}" for n in range(BIG_IMPORT_ROWS)]).encode()
    page = logged_in_page(alice)

    page.goto(f"/incentives/pools/{pool.pk}/")
    page.get_by_role("link", name="Import codes").click()
    page.get_by_label("File").set_input_files({"name": "codes.csv", "mimeType": "text/csv", "buffer": codes})
    page.get_by_role("button", name="Upload and import").click()

    expect(page).to_have_url(re.compile(r"/incentives/code-imports/\d+/$"))
    expect(page.get_by_test_id("import-result")).to_have_text(
        re.compile(rf"{BIG_IMPORT_ROWS:,} codes imported into Spring coupons"), timeout=60_000
    )
    expect(page.get_by_test_id("progress-bar")).to_have_text("100%")
    screenshot(page, "16-code-import-succeeded")
    page.get_by_role("link", name="Back to Spring coupons").click()
    expect(page.get_by_test_id("pool-counts")).to_have_text(
        f"{BIG_IMPORT_ROWS:,} in all, 0 issued, {BIG_IMPORT_ROWS:,} remaining"
    )


def test_codes_are_deactivated_when_selected_and_activated_all_at_once(
    logged_in_page, alice, organization, screenshot
):
    with scopes_disabled():
        pool = IncentivePool.objects.create(organization=organization, name="Summer")
        IncentiveCode.objects.bulk_create(
            IncentiveCode(pool=pool, organization=organization, code=f"SUMMER-{n}") for n in range(3)
        )
    page = logged_in_page(alice)
    page.goto(f"/incentives/codes/?pool={pool.pk}&sort=code")

    for code in ("SUMMER-0", "SUMMER-2"):
        page.locator("tbody tr", has_text=code).get_by_role("checkbox").check()
    page.get_by_role("button", name="Deactivate selected").click()
    expect(page.get_by_text("2 codes deactivated")).to_be_visible()
    assert row_texts(page, 4) == ["NO", "YES", "NO"]  # select, code, pool, active
    screenshot(page, "17-codes-deactivated")

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="All 3 matching…").click()
    page.get_by_test_id("bulk-all-activate").click()
    expect(page.get_by_text("2 codes activated")).to_be_visible()
    assert row_texts(page, 4) == ["YES", "YES", "YES"]


# --- roles ------------------------------------------------------------------------------------------


def test_standard_user_gets_403_editing_a_campaign_they_do_not_own(logged_in_page, alice, sam, organization,
                                                                   make_campaign, screenshot):
    theirs = make_campaign(organization, alice, name="Alice's campaign")
    own = make_campaign(organization, sam, name="Sam's campaign", starts_at=timezone.now())
    page = logged_in_page(sam)

    response = page.goto(f"/campaigns/{theirs.pk}/edit/")
    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", name="403")).to_be_visible()
    expect(page.get_by_text("You don't have permission to do this.")).to_be_visible()
    screenshot(page, "12-forbidden")

    # Sam may still see it, and may edit his own.
    assert page.goto(f"/campaigns/{theirs.pk}/").status == 200
    expect(page.get_by_role("heading", name="Alice's campaign")).to_be_visible()
    response = page.goto(f"/campaigns/{own.pk}/edit/")
    assert response is not None and response.status == 200
    expect(page.get_by_role("heading", name="Edit Sam's campaign")).to_be_visible()


# --- tracking numbers ------------------------------------------------------------------------------


def test_provision_a_number_from_the_wizard_success_page(page, logged_in_page, alice, organization, make_campaign,
                                                        screenshot):
    campaign = make_campaign(organization, alice, name="Radio spring")
    with scopes_disabled():
        TrackingNumber.objects.create(organization=organization, number="+14155550177", forward_to="+14155550100",
                                      label="Spare")
    logged_in_page(alice)
    page.goto(f"/campaigns/{campaign.pk}/created/")
    page.get_by_test_id("provision-number-link").click()
    form = page.get_by_test_id("provision-form")
    expect(form).to_be_visible()
    page.locator("#id_number").fill("+1 415 555 0188")
    page.locator("#id_forward_to").fill("(415) 555-0100 ")
    page.get_by_role("button", name="Provision").click()
    expect(form).to_contain_text("is not a phone number")  # no country code: refused with a clear message
    page.locator("#id_forward_to").fill("+1 415 555 0100")
    page.locator("#id_label").fill("Radio ad")
    screenshot(page, "13-provision-number")
    page.get_by_role("button", name="Provision").click()

    expect(page).to_have_url(re.compile(rf"/campaigns/{campaign.pk}/$"))
    numbers = page.get_by_test_id("campaign-numbers")
    expect(numbers).to_contain_text("+1 415-555-0188")
    expect(numbers).to_contain_text("Active")
    expect(numbers).not_to_contain_text("+1 415-555-0177")  # still in the inventory
    screenshot(page, "14-campaign-with-number")
    with scopes_disabled():
        assert list(campaign.numbers.values_list("number", "forward_to", "label")) == [
            ("+14155550188", "+14155550100", "Radio ad")]
