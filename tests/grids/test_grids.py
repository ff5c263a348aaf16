"""The generic grid: constant queries, saved filters, downloads that hold exactly the filtered rows."""

import csv
import io
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from campaigns.models import Campaign
from campaigns.services.integrations import create_integration
from core.scoping import scopes_disabled
from grids.models import SavedFilter
from grids.views import BulkAction


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))


def make_rows(grid: str, organization, owner, make_campaign, make_vault, n: int) -> None:
    if grid in ("campaigns:list", "campaigns:integration-list"):
        for _ in range(n):
            campaign = make_campaign(organization, owner)
            if grid == "campaigns:integration-list":
                with scopes_disabled():
                    create_integration(campaign, name="app")
    elif grid == "interactions:interaction-list":
        from interactions.models import Interaction

        campaign = make_campaign(organization, owner)
        with scopes_disabled():
            integration = create_integration(campaign, name=f"app-{campaign.pk}").integration
            vault = make_vault(organization, vouchers=1)
            voucher = vault.vouchers.get()
            Interaction.objects.bulk_create(
                Interaction(organization=organization, campaign=campaign, integration=integration, kind="award",
                            outcome="success", voucher=voucher, redeemer_email=f"r{n}@example.com", http_status=201)
                for n in range(n)
            )
    elif grid in ("incentives:code-list", "incentives:issuance-list", "incentives:redemption-list",
                  "incentives:pool-list"):
        from incentives.models import IncentiveCode, IncentivePool, Issuance, Redemption

        with scopes_disabled():
            pool = IncentivePool.objects.create(organization=organization, name=f"Pool {IncentivePool.objects.count()}")
            codes = IncentiveCode.objects.bulk_create(
                IncentiveCode(pool=pool, organization=organization, code=f"P{pool.pk}-{i}") for i in range(n)
            )
            for model in (Issuance, Redemption):
                model.objects.bulk_create(model(code=code, pool=pool, external_issuee_id=f"e{code.pk}",
                                                issuee_id=uuid.uuid4()) for code in codes)
    elif grid == "incentives:vault-list":
        for _ in range(n):
            make_vault(organization, vouchers=2)
    else:
        make_vault(organization, vouchers=n)


GRIDS = ["campaigns:list", "campaigns:integration-list", "incentives:vault-list", "incentives:voucher-list",
         "interactions:interaction-list", "incentives:code-list", "incentives:issuance-list",
         "incentives:redemption-list", "incentives:pool-list"]


@pytest.mark.parametrize("grid", GRIDS)
def test_grid_page_runs_the_same_queries_with_10_and_500_rows(client, organization, admin_user, make_campaign,
                                                              make_vault, grid):
    client.force_login(admin_user)
    url = reverse(grid) + "?per_page=250"

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    make_rows(grid, organization, admin_user, make_campaign, make_vault, 10)
    with_10 = count()
    make_rows(grid, organization, admin_user, make_campaign, make_vault, 490)
    assert count() == with_10


def test_grid_page_query_budget(client, admin_user, organization, make_vault, django_assert_max_num_queries):
    make_vault(organization, vouchers=300)
    client.force_login(admin_user)
    with django_assert_max_num_queries(12):
        client.get(reverse("incentives:voucher-list"))


def test_archived_campaigns_are_hidden_unless_a_filter_asks(client, organization, admin_user, make_campaign):
    old = timezone.now() - timedelta(days=100)
    make_campaign(organization, admin_user, name="Old one", starts_at=old, ends_at=old + timedelta(days=1))
    make_campaign(organization, admin_user, name="Current one")
    client.force_login(admin_user)
    page = client.get(reverse("campaigns:list")).content.decode()
    assert "Current one" in page and "Old one" not in page
    page = client.get(reverse("campaigns:list") + "?status=archived").content.decode()
    assert "Old one" in page and "Current one" not in page


def test_saved_filters_apply_by_default_and_reset_removes_them(client, organization, admin_user, make_campaign):
    make_campaign(organization, admin_user, name="Spring sale")
    make_campaign(organization, admin_user, name="Autumn sale")
    client.force_login(admin_user)
    url = reverse("campaigns:list")
    response = client.post(url, {"action": "save", "query": "q=spring&page=3&sort=name"})
    assert response.status_code == 302
    with scopes_disabled():
        assert SavedFilter.objects.get(user=admin_user).query_string == "q=spring&sort=name"  # page is not a filter

    response = client.get(url)  # opening the grid again applies them
    assert response.status_code == 302 and response["Location"] == f"{url}?q=spring&sort=name"
    page = client.get(response["Location"]).content.decode()
    assert "Spring sale" in page and "Autumn sale" not in page
    assert "Your saved filters are applied." in page

    client.post(url, {"action": "reset"})
    assert client.get(url).status_code == 200
    with scopes_disabled():
        assert not SavedFilter.objects.exists()


def test_saving_cleared_filters_opens_the_grid_unfiltered_without_a_redirect_loop(client, organization, admin_user,
                                                                                  make_campaign):
    make_campaign(organization, admin_user, name="Spring sale")
    client.force_login(admin_user)
    url = reverse("campaigns:list")
    client.post(url, {"action": "save", "query": "q=spring"})
    response = client.post(url, {"action": "save", "query": ""}, follow=True)  # "Save filters" after "Clear"
    assert response.status_code == 200 and "Spring sale" in response.content.decode()
    with scopes_disabled():
        assert SavedFilter.objects.get(user=admin_user).query_string == ""  # the default is now: no filters

    for path in ("/", url):
        response = client.get(path, follow=True)
        assert response.status_code == 200 and len(response.redirect_chain) <= 1, response.redirect_chain
    page = response.content.decode()
    assert "Spring sale" in page and "Your saved filters are applied." in page
    client.post(url, {"action": "reset"})
    with scopes_disabled():
        assert not SavedFilter.objects.exists()


@pytest.mark.parametrize("stored", ["", "&", "page=2&per_page=50"])
def test_a_stored_saved_filter_without_filters_never_loops(client, organization, admin_user, stored):
    """Rows saved before an empty filter meant "no filters" (or holding only presentation parameters)."""
    with scopes_disabled():
        SavedFilter.objects.create(user=admin_user, organization=organization, grid="campaigns:list",
                                   query_string=stored)
    client.force_login(admin_user)
    for path in ("/", reverse("campaigns:list")):
        response = client.get(path, follow=True)
        assert response.status_code == 200 and len(response.redirect_chain) <= 1, response.redirect_chain
    assert "Your saved filters are applied." in response.content.decode()


def test_saved_filters_are_per_user(client, organization, admin_user, standard_user, make_campaign):
    client.force_login(admin_user)
    client.post(reverse("campaigns:list"), {"action": "save", "query": "q=x"})
    client.force_login(standard_user)
    assert client.get(reverse("campaigns:list")).status_code == 200


def test_csv_download_holds_exactly_the_filtered_sorted_rows(client, organization, admin_user, make_vault):
    vault = make_vault(organization, vouchers=0)
    with scopes_disabled():
        from incentives.models import Voucher

        Voucher.objects.bulk_create(
            Voucher(vault=vault, vendor=vendor, amount=amount, currency="USD", code=f"{vendor}-{n}")
            for n in range(30) for vendor, amount in (("ACME", 10), ("Globex", 5))
        )
    client.force_login(admin_user)
    query = "vendor=globex&sort=-code"
    rows = csv_rows(client.get(reverse("incentives:voucher-list") + f"?{query}&format=csv"))
    assert rows[0][:4] == ["Code", "Vendor", "Amount", "Currency"]
    codes = [row[0] for row in rows[1:]]
    assert codes == sorted((f"Globex-{n}" for n in range(30)), reverse=True)
    page = client.get(reverse("incentives:voucher-list") + f"?{query}")
    assert [str(r.record.code) for r in page.context["table"].page.object_list] == codes[:50]


def test_a_download_counts_no_rows_and_a_page_counts_once(client, organization, admin_user, make_vault):
    """A download streams rows without the page's COUNT; a page counts once and reads the saved filter once, also
    when an empty query string makes it look for a saved filter to redirect to."""
    make_vault(organization, vouchers=3)
    client.force_login(admin_user)
    url = reverse("incentives:voucher-list") + "?vendor=ACME"
    with CaptureQueriesContext(connection) as queries:
        assert len(csv_rows(client.get(url + "&format=csv"))) == 4
    assert not [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"]]
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    assert len([q for q in queries.captured_queries if "COUNT(" in q["sql"]]) == 1
    assert len([q for q in queries.captured_queries if "grids_savedfilter" in q["sql"]]) == 1
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("incentives:voucher-list")).status_code == 200  # no saved filter: no redirect
    assert len([q for q in queries.captured_queries if "grids_savedfilter" in q["sql"]]) == 1


def test_xlsx_download_matches_the_csv(client, organization, admin_user, make_campaign):
    make_campaign(organization, admin_user, name="Alpha")
    make_campaign(organization, admin_user, name="Beta")
    client.force_login(admin_user)
    base = reverse("campaigns:list") + "?sort=name"
    csv_names = [row[0] for row in csv_rows(client.get(base + "&format=csv"))]
    response = client.get(base + "&format=xlsx")
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    xlsx_names = [row[0] for row in workbook.worksheets[0].iter_rows(values_only=True)]
    assert csv_names == xlsx_names == ["Name", "Alpha", "Beta"]


def test_csv_download_dates_are_in_the_organizations_zone(client, make_organization, make_member, make_campaign):
    org = make_organization("Zoned", time_zone="Asia/Tokyo")
    user = make_member(org)
    starts = datetime(2026, 1, 1, 0, 0, tzinfo=UTC)
    make_campaign(org, user, name="Tokyo", starts_at=starts)
    client.force_login(user)
    rows = csv_rows(client.get(reverse("campaigns:list") + "?format=csv"))
    header = rows[0]
    assert rows[1][header.index("Starts at")] == "2026-01-01 09:00:00"


def test_invalid_filter_shows_no_rows_and_the_error(client, organization, admin_user, make_vault):
    make_vault(organization, vouchers=3)
    client.force_login(admin_user)
    response = client.get(reverse("incentives:voucher-list") + "?amount=lots")
    assert response.status_code == 200
    assert response.context["table"].paginator.count == 0
    assert "Enter a number." in response.content.decode()


def test_campaign_grid_active_filter(client, organization, admin_user, make_campaign):
    make_campaign(organization, admin_user, name="Running")
    make_campaign(organization, admin_user, name="Later", starts_at=timezone.now() + timedelta(days=3))
    client.force_login(admin_user)
    with scopes_disabled():
        assert Campaign.objects.count() == 2
    rows = csv_rows(client.get(reverse("campaigns:list") + "?active_now=true&format=csv"))
    assert [r[0] for r in rows[1:]] == ["Running"]


def test_interaction_grid_searches_redeemers_and_filters(client, organization, admin_user, make_campaign, make_vault):
    make_rows("interactions:interaction-list", organization, admin_user, make_campaign, make_vault, 5)
    client.force_login(admin_user)
    url = reverse("interactions:interaction-list")
    rows = csv_rows(client.get(url + "?redeemer=R3@example.com&format=csv"))
    header = rows[0]
    assert [r[header.index("Redeemer email")] for r in rows[1:]] == ["r3@example.com"]
    assert len(csv_rows(client.get(url + "?outcome=error&format=csv"))) == 1  # the header only
    assert len(csv_rows(client.get(url + "?outcome=success&kind=award&format=csv"))) == 6


@pytest.mark.parametrize("grid", [*GRIDS, "reporting:overview"])
def test_every_grid_styles_its_filter_form_and_labels_no_hidden_field(client, organization, admin_user, grid):
    client.force_login(admin_user)

    html = client.get(reverse(grid)).content.decode()

    form = html[html.index('id="grid-filters"'):]
    form = form[:form.index("</form>")]
    widgets = [tag for tag in re.findall(r"<(?:select|input) [^>]*>", form) if 'type="hidden"' not in tag]
    assert widgets and all(('class="form-select form-select-sm"' if tag.startswith("<select") else
                            'class="form-control form-control-sm"') in tag for tag in widgets)
    assert "[invalid name]" not in html
    for hidden in re.findall(r'<input type="hidden" name="(\w+)"[^>]*id="(\w+)"', form):
        assert f'for="{hidden[1]}"' not in form


def test_a_bulk_action_declares_who_may_run_it(client, organization, standard_user, make_pool, monkeypatch):
    from incentives.models import IncentiveCode
    from incentives.views import CodeListView

    def deactivate(rows):
        return rows.update(active=False)

    monkeypatch.setattr(CodeListView, "bulk_actions", (
        BulkAction("deactivate", "Deactivate", deactivate, "{count} code{s} deactivated.",
                   allowed=lambda membership: membership is not None),
        BulkAction("delete", "Delete", lambda rows: rows.delete()[0], "{count} code{s} deleted."),  # admins only
    ))
    pool = make_pool(organization, codes=2)
    client.force_login(standard_user)

    page = client.get(reverse("incentives:code-list")).content.decode()
    refused = client.post(reverse("incentives:code-list"), {"action": "bulk:delete", "query": "", "scope": "all"})
    done = client.post(reverse("incentives:code-list"), {"action": "bulk:deactivate", "query": "", "scope": "all"})

    assert 'value="bulk:deactivate"' in page and 'value="bulk:delete"' not in page
    assert refused.status_code == 403 and done.status_code == 302
    with scopes_disabled():
        assert list(IncentiveCode.objects.filter(pool=pool).values_list("active", flat=True)) == [False, False]
