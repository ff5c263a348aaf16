"""Engagement's admin pages in a real browser (design §12): from the campaign page to a participation, an
admin's "Set state" with its history, and a refused one with the form's error."""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import Membership
from core.scoping import scopes_disabled
from engagement.models import Behavior, Customer, Participation

pytestmark = pytest.mark.browser


def test_an_admin_sets_a_participations_state_from_the_campaign_page(page, logged_in_page, make_member,
                                                                     organization, make_campaign, screenshot):
    alice = make_member(organization, Membership.Role.ADMIN, username="alice")
    campaign = make_campaign(organization, alice, name="Loyalty")
    with scopes_disabled():
        Behavior.objects.create(campaign=campaign, name="Visit", event_name="visit", goal=2)
        customer = Customer.objects.create(organization=organization, external_id="ann-42")
        participation = Participation.objects.create(campaign=campaign, customer=customer)

    logged_in_page(alice)
    page.goto(campaign.get_absolute_url())
    panel = page.get_by_test_id("engagement-panel")
    expect(panel.get_by_test_id("behaviors")).to_contain_text("visit")
    panel.get_by_test_id("participations-link").click()
    expect(page).to_have_url(re.compile(rf"/engagement/campaigns/{campaign.pk}/participations/$"))
    page.get_by_role("link", name="ann-42").click()

    expect(page.get_by_test_id("participation-state")).to_have_text("Active")
    form = page.get_by_test_id("set-state-form")
    form.get_by_label("State").select_option("claimable")
    form.get_by_label("Why").fill("checking")
    form.get_by_test_id("set-state-submit").click()
    expect(page.get_by_text("Goals not met.")).to_be_visible()  # claimable only once every goal is met
    expect(page.get_by_test_id("participation-state")).to_have_text("Active")

    form = page.get_by_test_id("set-state-form")
    form.get_by_label("State").select_option("inactive")
    form.get_by_label("Why").fill("asked by phone")
    form.get_by_test_id("set-state-submit").click()
    expect(page.get_by_test_id("participation-state")).to_have_text("Inactive")
    history = page.get_by_test_id("state-history")
    expect(history.locator("tbody tr").first).to_contain_text("set by an admin: asked by phone")
    expect(history.locator("tbody tr").first).to_contain_text("alice")
    screenshot(page, "engagement-set-state")
    with scopes_disabled():
        participation.refresh_from_db()
        assert participation.state == "inactive"
        assert participation.changes.first().changed_by == alice


def test_an_admin_adds_a_behaviour_and_edits_it_once_it_has_counted(page, logged_in_page, make_member, organization,
                                                                     make_campaign, screenshot):
    """The form says what is wrong, the panel lists what was saved, and once an event counted, how the behaviour
    counts is locked on the page while its name can still change."""
    alice = make_member(organization, Membership.Role.ADMIN, username="alice")
    campaign = make_campaign(organization, alice, name="Loyalty")

    logged_in_page(alice)
    page.goto(campaign.get_absolute_url())
    page.get_by_test_id("engagement-panel").get_by_test_id("behavior-create-link").click()
    form = page.get_by_test_id("behavior-form")
    form.locator("#id_name").fill("Visit")
    form.get_by_label("Event name").fill("visit")
    form.get_by_label("Goal").fill("0")
    form.get_by_label("Unlimited completions").check()
    form.get_by_label("Reward vendor").fill("ACME")
    form.get_by_label("Reward amount").fill("10.00")
    form.get_by_test_id("behavior-save").click()
    expect(page.get_by_text("A goal of 0 never completes, so it carries no reward.")).to_be_visible()

    form = page.get_by_test_id("behavior-form")
    form.get_by_label("Goal").fill("3")
    form.get_by_test_id("behavior-save").click()
    expect(page.get_by_text("Behaviour saved.")).to_be_visible()
    behaviors = page.get_by_test_id("engagement-panel").get_by_test_id("behaviors")
    expect(behaviors).to_contain_text("visit")
    expect(behaviors).to_contain_text("unlimited")
    with scopes_disabled():
        behavior = Behavior.objects.get(campaign=campaign)
        customer = Customer.objects.create(organization=organization, external_id="ann-42")
        participation = Participation.objects.create(campaign=campaign, customer=customer)
        behavior.events.create(campaign=campaign, customer=customer, participation=participation,
                               event_name="visit", occurred_at=campaign.starts_at, counted=True,
                               created_at=campaign.starts_at)

    behaviors.get_by_role("link", name="Edit").click()
    expect(page.get_by_test_id("behavior-locked")).to_be_visible()
    form = page.get_by_test_id("behavior-form")
    expect(form.get_by_label("Event name")).to_be_disabled()
    expect(form.get_by_label("Goal")).to_be_disabled()
    form.locator("#id_name").fill("Shop visit")
    form.get_by_test_id("behavior-save").click()
    expect(page.get_by_text("Behaviour saved.")).to_be_visible()
    expect(page.get_by_test_id("behaviors")).to_contain_text("Shop visit")
    screenshot(page, "engagement-behaviour-edited")
    with scopes_disabled():
        behavior.refresh_from_db()
        assert (behavior.name, behavior.event_name, behavior.goal, behavior.max_times_repeatable) == (
            "Shop visit", "visit", 3, None)
