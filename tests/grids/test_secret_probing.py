"""Secrets cannot be probed (design §9, #16 item 7): a member who is not an admin sees codes masked, and neither
a filter on a code (exact or prefix), nor a search box reading one, nor sorting by one tells them anything.
Admins filter and sort by codes as before."""

import uuid
from decimal import Decimal

import django_filters
import pytest
from django.urls import reverse

from core.scoping import scopes_disabled
from grids.filters import SearchFilter
from grids.models import SavedFilter
from grids.secrets import probes_of
from grids.tables import SECRET_MASK
from incentives.filters import CodeFilterSet, IssuanceFilterSet, VoucherFilterSet
from incentives.models import IncentiveCode, Issuance, Voucher
from incentives.tables import CodeTable, IssuanceTable, VoucherTable
from interactions.filters import InteractionFilterSet
from interactions.models import Interaction
from interactions.tables import InteractionTable

VOUCHERS = reverse("incentives:voucher-list")
CODES = reverse("incentives:code-list")
INTERACTIONS = reverse("interactions:interaction-list")


@pytest.fixture
def secrets(organization, admin_user, make_vault, make_pool, make_campaign):
    """Vouchers whose code order is not their id order (amounts tell them apart), unissued codes and one issued,
    and an award interaction of each voucher."""
    vault = make_vault(organization)
    pool = make_pool(organization, name="Coupons")
    campaign = make_campaign(organization, admin_user)
    with scopes_disabled():
        vouchers = Voucher.objects.bulk_create(
            Voucher(vault=vault, vendor="ACME", amount=Decimal(amount), currency="USD", code=code)
            for code, amount in (("CHARLIE-1", 1), ("ALPHA-1", 2), ("BRAVO-1", 3))
        )
        IncentiveCode.objects.bulk_create(
            IncentiveCode(pool=pool, organization=organization, code=code, issued_count=issued)
            for code, issued in (("ZULU-9", 0), ("SECRET-1", 0), ("SECRET-2", 0), ("ISSUED-1", 1))
        )
        Interaction.objects.bulk_create(
            Interaction(organization=organization, campaign=campaign, kind="award", outcome="success",
                        voucher=voucher, redeemer_email=f"r{n}@example.com", http_status=201)
            for n, voucher in enumerate(vouchers)
        )
    return vault


def shown(client, url: str, attribute: str) -> list[str]:
    """One attribute of each row on the grid's page, in the page's order."""
    response = client.get(url)
    assert response.status_code == 200, response
    return [str(getattr(row.record, attribute)) for row in response.context["table"].page.object_list]


def test_a_standard_user_filtering_vouchers_by_a_code_gets_the_rows_of_no_filter(client, standard_user, secrets):
    client.force_login(standard_user)
    everything = shown(client, VOUCHERS, "amount")
    assert len(everything) == 3
    assert shown(client, f"{VOUCHERS}?code=ALPHA-1", "amount") == everything
    assert shown(client, f"{VOUCHERS}?code=NO-SUCH-CODE", "amount") == everything
    assert 'name="code"' not in client.get(VOUCHERS).content.decode()  # no code field in the filters


def test_a_standard_user_probing_unissued_codes_by_prefix_gets_the_rows_of_no_filter(
    client, standard_user, secrets
):
    client.force_login(standard_user)
    everything = shown(client, CODES, "pk")
    assert len(everything) == 4
    for prefix in ("SECRET", "S", "ZULU-9", "nothing"):
        assert shown(client, f"{CODES}?code={prefix}", "pk") == everything


@pytest.mark.parametrize(("url", "sort", "attribute"), [
    (VOUCHERS, "code", "amount"), (VOUCHERS, "-code", "amount"), (CODES, "code", "pk"),
    (INTERACTIONS, "voucher", "redeemer_email"),
])
def test_a_standard_user_cannot_sort_by_a_secret(client, standard_user, admin_user, secrets, url, sort, attribute):
    client.force_login(standard_user)
    unsorted = shown(client, url, attribute)
    assert shown(client, f"{url}?sort={sort}", attribute) == unsorted
    assert f"sort={sort.lstrip('-')}" not in client.get(url).content.decode()  # no sort link on the masked column
    client.force_login(admin_user)
    assert shown(client, f"{url}?sort={sort}", attribute) != unsorted  # an admin's sort still sorts


def test_a_standard_users_sort_keeps_its_other_columns(client, standard_user, secrets):
    client.force_login(standard_user)
    assert shown(client, f"{VOUCHERS}?sort=code,-amount", "amount") == ["3.00", "2.00", "1.00"]
    assert shown(client, f"{VOUCHERS}?sort=-code,amount", "amount") == ["1.00", "2.00", "3.00"]


def test_a_grid_ordered_by_its_secret_by_default_is_not_for_a_standard_user(client, standard_user, secrets):
    """Codes are ordered by code: masked codes among issued ones would tell where each unissued code sorts."""
    client.force_login(standard_user)
    with scopes_disabled():
        by_id = [str(pk) for pk in IncentiveCode.objects.order_by("pk").values_list("pk", flat=True)]
    assert shown(client, CODES, "pk") == by_id


def test_an_admin_still_filters_and_sorts_by_codes(client, admin_user, secrets):
    client.force_login(admin_user)
    assert shown(client, f"{VOUCHERS}?code=ALPHA-1", "code") == ["ALPHA-1"]
    assert shown(client, f"{VOUCHERS}?sort=code", "code") == ["ALPHA-1", "BRAVO-1", "CHARLIE-1"]
    assert shown(client, f"{CODES}?code=secret", "code") == ["SECRET-1", "SECRET-2"]
    assert 'name="code"' in client.get(VOUCHERS).content.decode()


def test_a_standard_users_saved_filter_keeps_no_probe(client, organization, standard_user, secrets):
    client.force_login(standard_user)
    client.post(VOUCHERS, {"action": "save", "query": "code=ALPHA-1&sort=code&vendor=ACME"})
    with scopes_disabled():
        saved = SavedFilter.objects.get(user=standard_user, grid="incentives:voucher-list")
    assert saved.query_string == "vendor=ACME"

    # A filter saved while the user was an admin (or written before this rule) applies without its probes.
    with scopes_disabled():
        SavedFilter.objects.filter(pk=saved.pk).update(query_string="code=ALPHA-1&sort=-code,vendor&currency=USD")
    response = client.get(VOUCHERS)
    assert response.status_code == 302 and response["Location"] == f"{VOUCHERS}?currency=USD&sort=vendor"
    with scopes_disabled():
        SavedFilter.objects.filter(pk=saved.pk).update(query_string="code=ALPHA-1")
    response = client.get(VOUCHERS)
    assert response.status_code == 200  # nothing left to apply: the grid, unfiltered
    assert len(response.context["table"].page.object_list) == 3


def test_an_admins_saved_code_filter_is_kept(client, admin_user, secrets):
    client.force_login(admin_user)
    client.post(VOUCHERS, {"action": "save", "query": "code=ALPHA-1&sort=code"})
    response = client.get(VOUCHERS)
    assert response.status_code == 302 and response["Location"] == f"{VOUCHERS}?code=ALPHA-1&sort=code"


def test_the_probes_are_derived_from_each_grids_table_and_filterset():
    vouchers = probes_of(VoucherTable, VoucherFilterSet)
    assert (vouchers.columns, vouchers.filters, vouchers.params) == ({"code"}, {"code"}, {"code"})
    assert probes_of(CodeTable, CodeFilterSet).filters == {"code"}
    interactions = probes_of(InteractionTable, InteractionFilterSet)
    assert (interactions.columns, interactions.filters) == ({"voucher"}, set())
    # An issued code is no secret: the issuances grid filters and sorts by it for everyone.
    issuances = probes_of(IssuanceTable, IssuanceFilterSet)
    assert (issuances.columns, issuances.filters) == (set(), set())

    class Searching(django_filters.FilterSet):
        q = SearchFilter("vendor__iexact", "code__icontains")
        code_between = django_filters.CharFilter(field_name="vendor")  # named like a code, reads the vendor
        created = django_filters.DateFromToRangeFilter(field_name="vault__created_at")

        class Meta:
            model = Voucher
            fields = ["q", "code_between", "created"]

    assert probes_of(VoucherTable, Searching).filters == {"q"}


def test_issuance_codes_stay_filterable_for_standard_users(client, organization, standard_user, secrets):
    with scopes_disabled():
        issued = IncentiveCode.objects.get(code="ISSUED-1")
        Issuance.objects.create(code=issued, pool=issued.pool, external_issuee_id="ann", issuee_id=uuid.uuid4())
    client.force_login(standard_user)
    url = reverse("incentives:issuance-list")
    assert shown(client, f"{url}?code=issued-1", "external_issuee_id") == ["ann"]
    assert shown(client, f"{url}?code=other", "external_issuee_id") == []


# --- the pages beside the grids that show codes ----------------------------------------------------------------


def test_a_pools_page_masks_its_unissued_codes_for_a_standard_user(client, standard_user, admin_user, secrets):
    with scopes_disabled():
        pool = IncentiveCode.objects.get(code="ISSUED-1").pool
    url = reverse("incentives:pool-detail", args=[pool.pk])
    client.force_login(standard_user)
    page = client.get(url).content.decode()
    assert "ISSUED-1" in page and SECRET_MASK in page
    assert "SECRET-" not in page and "ZULU-9" not in page
    assert "by code" not in page  # in id order: the masked ones do not tell where they sort
    client.force_login(admin_user)
    page = client.get(url).content.decode()
    assert all(code in page for code in ("ISSUED-1", "SECRET-1", "SECRET-2", "ZULU-9"))


def test_a_campaigns_latest_interactions_mask_voucher_codes_for_a_standard_user(
    client, standard_user, admin_user, secrets
):
    with scopes_disabled():
        campaign = Interaction.objects.first().campaign
    url = reverse("campaigns:detail", args=[campaign.pk])
    client.force_login(standard_user)
    page = client.get(url).content.decode()
    assert "r0@example.com" in page and SECRET_MASK in page
    assert not any(code in page for code in ("ALPHA-1", "BRAVO-1", "CHARLIE-1"))
    client.force_login(admin_user)
    page = client.get(url).content.decode()
    assert all(code in page for code in ("ALPHA-1", "BRAVO-1", "CHARLIE-1"))
