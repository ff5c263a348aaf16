"""``manage.py load_demo_data``: a new user finds every part of the product, and a second run builds nothing twice."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Sum
from django.test import Client

from accounts.models import User
from api.keys import integration_for_key
from campaigns.models import Campaign, CampaignStatus
from incentives.models import IncentiveCode, IncentivePool, Issuance, Redemption, Voucher
from interactions.models import Interaction
from tracking.models import TrackingNumber

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("unscoped")]


def load() -> list[str]:
    out = StringIO()
    call_command("load_demo_data", "--vouchers", "30", stdout=out)
    return out.getvalue().splitlines()


@pytest.fixture
def demo():
    lines = load()
    return Campaign.objects.select_related("organization").get(organization__slug="demo"), lines


def test_the_demo_holds_every_part_of_the_product(demo):
    campaign, lines = demo
    assert campaign.status == CampaignStatus.LIVE
    integration = integration_for_key(lines[-1].split()[-1])
    assert integration is not None and (integration.campaign_id, integration.status) == (campaign.pk, "live")

    vouchers = Voucher.objects.filter(vault__campaigns=campaign, is_test=False)
    assert vouchers.filter(status=Voucher.Status.AVAILABLE).exists()
    assert vouchers.filter(status=Voucher.Status.AWARDED).exists()

    pools = {pool.distribution: pool for pool in campaign.pools.all()}
    assert set(pools) == {"unique", "multi"}
    unique, multi = pools["unique"], pools["multi"]
    assert unique.low_threshold > 0 and unique.notification_email
    assert unique.low_notified_at is None  # loading the demo sends no low-threshold email
    for pool in (unique, multi):
        assert IncentiveCode.objects.filter(pool=pool).exists()
        assert Issuance.objects.filter(pool=pool).exists()
        assert Redemption.objects.filter(pool=pool).exists()
    assert IncentiveCode.objects.filter(pool=unique, code__regex=r"^SPRING-\d{4}-[A-Z]{4}$").count() == 50
    # The counts on the code rows agree with the events the services wrote.
    for pool in (unique, multi):
        counts = IncentiveCode.objects.filter(pool=pool).aggregate(issued=Sum("issued_count"),
                                                                    redeemed=Sum("redeemed_count"))
        assert counts == {"issued": Issuance.objects.filter(pool=pool).count(),
                          "redeemed": Redemption.objects.filter(pool=pool).count()}
    for redemption in Redemption.objects.filter(pool=unique):
        assert Issuance.objects.filter(code=redemption.code, external_issuee_id=redemption.external_issuee_id).exists()

    number = TrackingNumber.objects.get(campaign=campaign)
    assert TrackingNumber.objects.filter(organization=campaign.organization, campaign=None).exists()  # inventory
    calls = Interaction.objects.filter(campaign=campaign, kind=Interaction.Kind.CALL)
    assert calls.count() >= 3 and set(calls.values_list("message", flat=True)) == {"dial"}

    interactions = Interaction.objects.filter(campaign=campaign)
    assert set(interactions.values_list("kind", flat=True)) >= {"award", "issuance", "redemption", "call"}
    assert interactions.filter(kind="issuance").count() == Issuance.objects.filter(pool__in=pools.values()).count()
    assert interactions.filter(kind="redemption").count() == Redemption.objects.filter(pool__in=pools.values()).count()

    browser = Client()
    browser.force_login(User.objects.get(username="admin"))
    for path in (campaign.get_absolute_url(), unique.get_absolute_url(), multi.get_absolute_url(),
                 number.get_absolute_url(), "/tracking/numbers/", "/interactions/"):
        assert browser.get(path).status_code == 200, path


def test_a_second_run_keeps_the_demo_and_only_renews_the_logins(demo):
    campaign, _ = demo
    counted = {model: model.objects.count()
               for model in (Campaign, Voucher, IncentivePool, IncentiveCode, Issuance, Redemption, TrackingNumber,
                             Interaction)}

    lines = load()

    assert "API key" not in "\n".join(lines)
    assert {model: model.objects.count() for model in counted} == counted
    assert sum("login:" in line for line in lines) == 2
