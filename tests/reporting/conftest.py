"""The reporting fixture: interactions around local midnight and the end of British Summer Time.

On 2026-10-25 at 01:00 UTC the clocks in Europe/London go back from 02:00 BST to 01:00 GMT: local 01:00
happens twice (00:00–01:00 UTC, then 01:00–02:00 UTC) and the local day has 25 hours. Every figure the
tests expect is counted by hand from the table in ``autumn``'s docstring.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from accounts.models import Organization
from campaigns.models import Campaign
from core.scoping import scopes_disabled
from incentives.models import Vault, Voucher
from interactions.models import Interaction
from reporting.periods import Period

LONDON = "Europe/London"
ACME = ("ACME", Decimal("10.00"), "USD", False)
GLOBEX = ("Globex", Decimal("25.00"), "USD", False)
INITECH = ("Initech", Decimal("5.00"), "EUR", False)
ACME_TEST = ("ACME", Decimal("10.00"), "USD", True)
NOW = datetime(2026, 10, 27, 0, 30, tzinfo=UTC)  # "now" for the last-7-days and last-24-hours windows


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@dataclass
class Autumn:
    organization: Organization
    campaign: Campaign  # "Autumn": every case of the table
    other_campaign: Campaign  # "Winter", same organization
    foreign_campaign: Campaign  # another organization's
    period: Period  # 24–26 Oct 2026 (local), 73 hours
    user: object
    foreign_user: object


@pytest.fixture
def make_interaction():
    counter = iter(range(1, 100_000))

    def make(campaign: Campaign | None, at: datetime, kind: str = "award", outcome: str = "success",
             http_status: int | None = 201, error_code: str = "", voucher_type: tuple | None = None,
             vault: Vault | None = None, organization: Organization | None = None) -> Interaction:
        with scopes_disabled():
            voucher = None
            if voucher_type is not None:
                vendor, amount, currency, is_test = voucher_type
                voucher = Voucher.objects.create(vault=vault, vendor=vendor, amount=amount, currency=currency,
                                                 is_test=is_test, code=f"AWARDED-{next(counter)}",
                                                 status=Voucher.Status.AWARDED, awarded_at=at)
            interaction = Interaction.objects.create(
                organization=organization or campaign.organization, campaign=campaign, kind=kind, outcome=outcome,
                http_status=http_status, error_code=error_code, voucher=voucher,
            )
            Interaction.objects.filter(pk=interaction.pk).update(created_at=at)  # auto_now_add ignores ours
            return interaction

    return make


def add_vouchers(vault: Vault, voucher_type: tuple, count: int) -> None:
    vendor, amount, currency, is_test = voucher_type
    with scopes_disabled():
        Voucher.objects.bulk_create(
            Voucher(vault=vault, vendor=vendor, amount=amount, currency=currency, is_test=is_test,
                    code=f"{vault.pk}-{vendor}-{amount}-{is_test}-{n}")
            for n in range(count)
        )


@pytest.fixture
def autumn(make_organization, make_member, make_campaign, make_interaction) -> Autumn:
    """Campaign "Autumn" of Acme (Europe/London), with these interactions (UTC → London):

    ====  =================  =====================  ===========  ===============================  ==========
    name  created (UTC)      local (London)         kind         outcome / status / code          voucher
    ====  =================  =====================  ===========  ===============================  ==========
    O1    09-01 12:00        Tue 1 Sep 13:00 BST    award        success 201                      ACME live
    P1    10-20 22:30        Tue 20 Oct 23:30 BST   award        success 201                      ACME live
    P2    10-20 23:30        Wed 21 Oct 00:30 BST   award        out_of_stock 409 out_of_vouchers
    P3    10-23 22:30        Fri 23 Oct 23:30 BST   award        error 400 invalid_request
    C1    10-23 23:10        Sat 24 Oct 00:10 BST   award        success 201                      ACME live
    C2    10-24 10:00        Sat 24 Oct 11:00 BST   lookup       success 200
    C3    10-24 22:59        Sat 24 Oct 23:59 BST   award        success 201                      Globex live
    C4    10-24 23:00        Sun 25 Oct 00:00 BST   award        exception 500 internal_error
    C5    10-25 00:30        Sun 25 Oct 01:30 BST   award        success 201                      ACME test
    C6    10-25 01:30        Sun 25 Oct 01:30 GMT   award        success 201                      Globex live
    C7    10-25 01:45        Sun 25 Oct 01:45 GMT   award        out_of_stock 409 out_of_vouchers
    C8    10-25 23:30        Sun 25 Oct 23:30 GMT   award        success 200 (a replay: no voucher)
    C9    10-26 00:15        Mon 26 Oct 00:15 GMT   award        error 404 unknown_vendor
    C10   10-26 12:10        Mon 26 Oct 12:10 GMT   award        success 201                      ACME live
    C11   10-26 23:59        Mon 26 Oct 23:59 GMT   award        success 201                      ACME live
    X1    10-27 00:00        Tue 27 Oct 00:00 GMT   award        success 201                      ACME live
    ====  =================  =====================  ===========  ===============================  ==========

    The period is 24–26 Oct (C1–C11), the previous one 21–23 Oct (P2, P3). "Winter", of the same
    organization, has W1 (24 Oct, awarded Globex) and W2 (22 Oct, error); a call without a campaign and
    another organization's campaign have interactions on the same days, which no figure may count.
    Available now: ACME live 3, Initech live 4 (live vault), ACME test 2 (test vault); Globex none.
    """
    organization = make_organization("Acme", time_zone=LONDON)
    user = make_member(organization)
    campaign = make_campaign(organization, user, name="Autumn")
    other_campaign = make_campaign(organization, user, name="Winter")
    foreign = make_organization("Other Co", time_zone=LONDON)
    foreign_user = make_member(foreign)
    foreign_campaign = make_campaign(foreign, foreign_user, name="Foreign")
    with scopes_disabled():
        live = Vault.objects.create(organization=organization, name="Autumn live")
        test = Vault.objects.create(organization=organization, name="Autumn test")
        winter = Vault.objects.create(organization=organization, name="Winter")
        elsewhere = Vault.objects.create(organization=foreign, name="Foreign")
        campaign.vaults.add(live, test)
        other_campaign.vaults.add(winter)
        foreign_campaign.vaults.add(elsewhere)
    add_vouchers(live, ACME, 3)
    add_vouchers(live, INITECH, 4)
    add_vouchers(test, ACME_TEST, 2)
    add_vouchers(winter, GLOBEX, 5)
    add_vouchers(elsewhere, ACME, 7)

    def award(at, voucher_type, vault=live, on=campaign):
        return make_interaction(on, at, voucher_type=voucher_type, vault=vault)

    award(utc(2026, 9, 1, 12, 0), ACME)  # O1
    award(utc(2026, 10, 20, 22, 30), ACME)  # P1
    make_interaction(campaign, utc(2026, 10, 20, 23, 30), outcome="out_of_stock", http_status=409,
                     error_code="out_of_vouchers")  # P2
    make_interaction(campaign, utc(2026, 10, 23, 22, 30), outcome="error", http_status=400,
                     error_code="invalid_request")  # P3
    award(utc(2026, 10, 23, 23, 10), ACME)  # C1
    make_interaction(campaign, utc(2026, 10, 24, 10, 0), kind="lookup", http_status=200)  # C2
    award(utc(2026, 10, 24, 22, 59), GLOBEX)  # C3
    make_interaction(campaign, utc(2026, 10, 24, 23, 0), outcome="exception", http_status=500,
                     error_code="internal_error")  # C4
    award(utc(2026, 10, 25, 0, 30), ACME_TEST, vault=test)  # C5
    award(utc(2026, 10, 25, 1, 30), GLOBEX)  # C6
    make_interaction(campaign, utc(2026, 10, 25, 1, 45), outcome="out_of_stock", http_status=409,
                     error_code="out_of_vouchers")  # C7
    make_interaction(campaign, utc(2026, 10, 25, 23, 30), http_status=200)  # C8
    make_interaction(campaign, utc(2026, 10, 26, 0, 15), outcome="error", http_status=404,
                     error_code="unknown_vendor")  # C9
    award(utc(2026, 10, 26, 12, 10), ACME)  # C10
    award(utc(2026, 10, 26, 23, 59), ACME)  # C11
    award(utc(2026, 10, 27, 0, 0), ACME)  # X1

    award(utc(2026, 10, 24, 12, 0), GLOBEX, vault=winter, on=other_campaign)  # W1
    make_interaction(other_campaign, utc(2026, 10, 22, 12, 0), outcome="error", http_status=400,
                     error_code="invalid_request")  # W2
    make_interaction(None, utc(2026, 10, 24, 12, 0), kind="call", http_status=None,
                     organization=organization)  # a call to an unassigned number
    for at in (utc(2026, 10, 22, 12, 0), utc(2026, 10, 24, 12, 0), utc(2026, 10, 25, 1, 30)):
        award(at, ACME, vault=elsewhere, on=foreign_campaign)
    make_interaction(foreign_campaign, utc(2026, 10, 25, 1, 40), outcome="exception", http_status=500,
                     error_code="internal_error")

    period = Period(date(2026, 10, 24), date(2026, 10, 26), ZoneInfo(LONDON))
    return Autumn(organization, campaign, other_campaign, foreign_campaign, period, user, foreign_user)
