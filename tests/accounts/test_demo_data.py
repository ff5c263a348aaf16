"""``manage.py load_demo_data``: a new user finds every part of the product, and a second run builds nothing twice."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Sum
from django.test import Client

from accounts.demo_engagement import STAMPS, STEPS, WINTER
from accounts.models import User
from api.keys import integration_for_key
from campaigns.models import Campaign, CampaignStatus
from engagement.models import (
    Behavior,
    Completion,
    Customer,
    CustomerTag,
    EngagementSettings,
    Event,
    Participation,
    ParticipationChange,
)
from engagement.rules import Derived, State
from engagement.services.check import check_engagement
from engagement.services.context import context_of
from engagement.services.views import participation_view
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
    campaign = Campaign.objects.select_related("organization").get(organization__slug="demo", external_id="spring-demo")
    return campaign, lines


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
    counted = {model: model._base_manager.count()
               for model in (Campaign, Voucher, IncentivePool, IncentiveCode, Issuance, Redemption, TrackingNumber,
                             Interaction, Customer, CustomerTag, EngagementSettings, Behavior, Participation, Event,
                             Completion, ParticipationChange)}

    lines = load()

    assert "API key" not in "\n".join(lines)
    assert {model: model.objects.count() for model in counted} == counted
    assert sum("login:" in line for line in lines) == 2


def engagement_of(external_id: str) -> tuple[Campaign, list]:
    """The demo's engagement campaign and (customer, stored participation, derived view) per participation."""
    campaign = Campaign.objects.select_related("organization").get(organization__slug="demo", external_id=external_id)
    ctx = context_of(campaign)
    rows = Participation.objects.filter(campaign=campaign).select_related("customer").order_by("pk")
    return campaign, [(row.customer.external_id, row, participation_view(ctx, row.customer, row)) for row in rows]


def test_the_demo_shows_every_engagement_state_and_agrees_with_its_events(demo):
    seen: dict[str, tuple] = {}
    derived, states, instance_states = set(), set(), set()
    for external_id in (STEPS, STAMPS, WINTER):
        campaign, participations = engagement_of(external_id)
        assert campaign.status == CampaignStatus.LIVE
        assert check_engagement(campaign) == []
        for customer, row, view in participations:
            seen[customer] = (view.state, row.state, row.instance_state)
            derived.add(view.state)
            states.add(row.state)
            instance_states.add(row.instance_state)
    steps = Campaign.objects.get(organization__slug="demo", external_id=STEPS)
    hal = Customer.objects.get(organization=steps.organization, external_id="hal")  # an event, never opted in
    derived.add(participation_view(context_of(steps), hal, None).state)
    assert derived == {d.value for d in Derived}
    assert states >= {State.ACTIVE, State.CLAIMABLE, State.CLAIMED, State.INACTIVE, State.EXPIRED}
    assert instance_states == {State.ACTIVE, State.EXPIRED, State.DELETED}
    assert seen == {
        "ann": ("opted_in", "active", "active"), "ben": ("in_progress", "active", "active"),
        "cara": ("completed", "claimed", "active"), "dev": ("opted_out", "inactive", "active"),
        "eli": ("not_qualified", "active", "active"), "fay": ("completed", "claimed", "deleted"),
        "ivy": ("in_progress", "active", "active"),
        "jo": ("completed", "claimable", "active"), "kai": ("completed", "claimed", "active"),
        "lou": ("in_progress", "active", "active"),
        "mia": ("completed", "expired", "expired"), "ned": ("completed", "claimed", "expired"),
        "oli": ("in_progress", "inactive", "expired"),
    }


def test_the_step_challenge_is_an_opt_in_two_behaviour_goal_paying_vouchers_from_a_linked_vault(demo):
    campaign, participations = engagement_of(STEPS)
    settings = EngagementSettings.objects.get(campaign=campaign)
    assert settings.optin_required and settings.opt_in_starts_at and settings.opt_in_ends_at
    assert settings.opt_in_taken == 7 and not settings.claim_required
    behaviors = Behavior.objects.filter(campaign=campaign)
    assert [(b.goal, b.reward_vendor != "") for b in behaviors.order_by("pk")] == [(3, True), (1, True)]
    given = Completion.objects.filter(participation__campaign=campaign, voucher__isnull=False)
    assert given.count() == 5  # ivy's first goal, and both goals of cara and fay
    assert set(given.values_list("voucher__vault__campaigns", flat=True)) >= {campaign.pk}
    # Events the product refuses to count, and a refused opt-in, as the API would have logged them.
    assert set(Event.objects.filter(campaign=campaign, counted=False).values_list("reason", flat=True)) == {
        "not_qualified", "not_opted_in"}
    refused = Interaction.objects.get(campaign=campaign, kind="opt_in", outcome="error")
    assert (refused.error_code, refused.http_status) == ("user_ineligible_for_campaign", 409)
    kinds = set(Interaction.objects.filter(campaign__external_id__in=(STEPS, STAMPS, WINTER))
                .values_list("kind", flat=True))
    assert kinds == {"opt_in", "opt_out", "event", "claim", "deletion"}
    # Every state change has its history row, the roll's included.
    assert ParticipationChange.objects.filter(participation__campaign__external_id=WINTER,
                                              reason="instance window ended").count() == 3


def test_the_claim_variants_pay_a_code_from_a_pool_and_a_voucher_and_an_unclaimed_card_is_never_paid(demo):
    stamps, _ = engagement_of(STAMPS)
    pool = EngagementSettings.objects.get(campaign=stamps).claim_reward_pool
    assert pool is not None and stamps.pools.filter(pk=pool.pk).exists()
    assert list(Issuance.objects.filter(pool=pool).values_list("external_issuee_id", flat=True)) == ["kai"]
    winter, participations = engagement_of(WINTER)
    paid = Completion.objects.filter(participation__campaign=winter, behavior__isnull=True)
    assert [(c.participation.customer.external_id, c.voucher.amount) for c in paid] == [("ned", 25)]
