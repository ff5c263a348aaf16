"""Configuring engagement (design §12): windows inside the campaign's dates, rewards that name a linked pool or
a voucher type, none on a claim-required campaign's behaviours, and what counting depends on locked once an
event counted."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction

from core.errors import DomainError
from engagement.models import Behavior, Customer, CustomerTag
from engagement.services.setup import add_behavior, configure_engagement, save_behavior

from .conftest import VOUCHER, behavior, behaviors_of

pytestmark = pytest.mark.usefixtures("unscoped")


def test_windows_lie_inside_the_campaigns_dates(engaged):
    setup = engaged()
    campaign = setup.campaign
    configure_engagement(campaign, earn_starts_at=campaign.starts_at, earn_ends_at=campaign.ends_at)
    with pytest.raises(DomainError) as caught:
        configure_engagement(campaign, opt_in_starts_at=campaign.starts_at - timedelta(microseconds=1))
    assert "opt_in_starts_at" in caught.value.fields
    with pytest.raises(DomainError) as caught:
        configure_engagement(campaign, claim_ends_at=campaign.ends_at + timedelta(microseconds=1))
    assert "claim_ends_at" in caught.value.fields


def test_a_counted_behaviour_is_locked_but_can_be_archived(engaged):
    setup = engaged(behaviors=[behavior("visit", goal=3)])
    visit = behaviors_of(setup.campaign)["visit"]
    save_behavior(visit, goal=4)  # nothing counted yet
    setup.event("ann", "visit")
    with pytest.raises(DomainError) as caught:
        save_behavior(visit, goal=5)
    assert "goal" in caught.value.fields
    save_behavior(visit, name="Visits", archived=True)
    assert Behavior._base_manager.get(pk=visit.pk).archived
    assert setup.event("ann", "visit").value.behaviors[0].reason == "behavior_archived"


def test_rewards_are_checked(engaged, make_pool, organization):
    setup = engaged()
    with pytest.raises(DomainError) as caught:
        add_behavior(setup.campaign, **behavior("a", reward_pool=make_pool(organization)))  # not linked
    assert "reward_pool" in caught.value.fields
    with pytest.raises(DomainError):
        add_behavior(setup.campaign, **behavior("b", goal=0, **VOUCHER))  # goal 0 never completes
    add_behavior(setup.campaign, **behavior("c", **VOUCHER))
    with pytest.raises(DomainError) as caught:
        configure_engagement(setup.campaign, claim_required=True)
    assert "claim_required" in caught.value.fields
    with pytest.raises(DomainError) as caught:
        add_behavior(setup.campaign, **behavior("c"))
    assert "event_name" in caught.value.fields


def test_event_names_and_tags_have_their_patterns(engaged):
    setup = engaged()
    with pytest.raises(DomainError) as caught:
        add_behavior(setup.campaign, **behavior("has space"))
    assert "event_name" in caught.value.fields
    customer = Customer._base_manager.create(organization=setup.campaign.organization, external_id="x")
    with pytest.raises(IntegrityError), transaction.atomic():
        CustomerTag._base_manager.create(customer=customer, tag="Upper")  # the database refuses it too
    with pytest.raises(IntegrityError), transaction.atomic():
        Customer._base_manager.create(organization=setup.campaign.organization, external_id="a/b")
