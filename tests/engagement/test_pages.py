"""The engagement pages (design §12): customers grid and page, a campaign's participations grid, a participation
with "Set state", the engagement card on the campaign page with its behaviours and settings, and the builder's
engagement step. Members read; admins (and, for a campaign's setup, its owner) change."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership
from campaigns.models import Campaign
from core.errors import DomainError
from core.scoping import scopes_disabled
from engagement.models import Behavior, Customer, CustomerTag, EngagementSettings, Participation, ParticipationChange
from interactions.models import Interaction

from .conftest import VOUCHER, behavior, behaviors_of


def _customers(organization, n: int, start: int = 0) -> None:
    with scopes_disabled():
        for i in range(start, start + n):
            customer = Customer.objects.create(organization=organization, external_id=f"cust-{i:03}",
                                               email=f"c{i}@example.com", mobile=f"+1415555{i:04}")
            CustomerTag.objects.bulk_create([CustomerTag(customer=customer, tag=t) for t in ("gold", f"t{i % 3}")])


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


@pytest.fixture
def shop(engaged):
    """A campaign with a two-event goal paying a voucher, and three customers part-way: 1 of 2, done, test."""
    setup = engaged(behaviors=[behavior("purchase", goal=2, **VOUCHER)])
    with scopes_disabled():
        setup.event("ann", "purchase", email="ann@example.com", tags=["vip"])
        setup.event("bob", "purchase")
        setup.event("bob", "purchase")
        setup.event("tess", "purchase", integration=setup.test)
    return setup


# --- customers -------------------------------------------------------------------------------------------------

def test_the_customers_grid_searches_id_email_and_mobile_and_filters_by_tag(client, organization, admin_user):
    _customers(organization, 6)
    client.force_login(admin_user)
    url = reverse("engagement:customer-list")
    for query, expected in (("q=cust-002", {"cust-002"}), ("q=C4@example.com", {"cust-004"}),
                            ("q=%2B14155550005", {"cust-005"}), ("tag=T1", {"cust-001", "cust-004"}),
                            ("tag=gold&q=cust-00", {f"cust-{i:03}" for i in range(6)})):
        page = client.get(f"{url}?{query}").content.decode()
        shown = {f"cust-{i:03}" for i in range(6) if f">cust-{i:03}<" in page}
        assert shown == expected, query
    csv = b"".join(client.get(f"{url}?tag=t2&format=csv").streaming_content).decode("utf-8-sig").splitlines()
    assert csv[0].startswith("External ID,Email,Mobile,Tags,Campaigns")
    assert [line.split(",")[0] for line in csv[1:]] == ["cust-002", "cust-005"]
    assert ",gold t2," in csv[1]  # the tags as one cell, however many a customer has


def test_the_customers_grid_runs_a_constant_number_of_queries(client, organization, admin_user,
                                                              django_assert_max_num_queries):
    client.force_login(admin_user)
    url = reverse("engagement:customer-list")
    _customers(organization, 3)
    few = _queries(client, url)
    _customers(organization, 40, start=3)
    with django_assert_max_num_queries(few):
        client.get(url)


def test_a_customer_page_shows_participations_events_and_history(client, shop, admin_user):
    with scopes_disabled():
        ann = Customer.objects.get(external_id="ann")
    client.force_login(admin_user)
    page = client.get(reverse("engagement:customer-detail", args=[ann.pk])).content.decode()
    assert shop.campaign.name in page and "purchase" in page and "vip" in page
    assert 'data-testid="customer-participations"' in page and 'data-testid="state-history"' in page
    assert 'data-testid="tags-form"' in page


def test_an_admin_edits_a_customers_tags_through_the_service(client, shop, admin_user):
    with scopes_disabled():
        ann = Customer.objects.get(external_id="ann")
    client.force_login(admin_user)
    url = reverse("engagement:customer-tags", args=[ann.pk])
    assert client.post(url, {"tags": " New, VIP  other"}).status_code == 302
    with scopes_disabled():
        assert sorted(ann.tags.values_list("tag", flat=True)) == ["new", "other", "vip"]
    response = client.post(url, {"tags": "ok bad/tag"})
    assert response.status_code == 200 and "bad/tag" in response.content.decode()
    with scopes_disabled():
        assert sorted(ann.tags.values_list("tag", flat=True)) == ["new", "other", "vip"]  # nothing changed
    assert client.post(url, {"tags": ""}).status_code == 302
    with scopes_disabled():
        assert not ann.tags.exists()


def test_members_read_customers_but_only_admins_change_them(client, shop, standard_user):
    with scopes_disabled():
        ann = Customer.objects.get(external_id="ann")
    client.force_login(standard_user)
    page = client.get(reverse("engagement:customer-detail", args=[ann.pk])).content.decode()
    assert "vip" in page and 'data-testid="tags-form"' not in page
    assert client.post(reverse("engagement:customer-tags", args=[ann.pk]), {"tags": "x"}).status_code == 403
    assert client.get(reverse("engagement:customer-create")).status_code == 403
    assert client.post(reverse("engagement:customer-create"), {"external_id": "new"}).status_code == 403
    with scopes_disabled():
        assert [t.tag for t in ann.tags.all()] == ["vip"] and not Customer.objects.filter(external_id="new").exists()


def test_an_admin_adds_a_customer_once(client, organization, admin_user):
    client.force_login(admin_user)
    url = reverse("engagement:customer-create")
    assert client.post(url, {"external_id": "zoe", "email": "zoe@example.com", "tags": "a b"}).status_code == 302
    response = client.post(url, {"external_id": "zoe"})
    assert response.status_code == 200 and "Taken by another customer" in response.content.decode()
    response = client.post(url, {"external_id": "has space"})
    assert response.status_code == 200 and "no slash, space or NUL" in response.content.decode()
    with scopes_disabled():
        zoe = Customer.objects.get()
        assert zoe.email == "zoe@example.com" and sorted(zoe.tags.values_list("tag", flat=True)) == ["a", "b"]


# --- participations --------------------------------------------------------------------------------------------

def test_the_campaign_page_links_its_participations_grid(client, shop, standard_user):
    client.force_login(standard_user)
    page = client.get(reverse("campaigns:detail", args=[shop.campaign.pk])).content.decode()
    assert reverse("engagement:participation-list", args=[shop.campaign.pk]) in page
    assert "Participations (3)" in page and "purchase" in page
    assert 'data-testid="behavior-create-link"' not in page  # not the owner, not an admin


def test_the_participations_grid_filters_state_opt_in_progress_and_test_and_downloads(client, shop, admin_user):
    client.force_login(admin_user)
    url = reverse("engagement:participation-list", args=[shop.campaign.pk])

    def shown(query):
        page = client.get(f"{url}?{query}").content.decode()
        return {name for name in ("ann", "bob", "tess") if f">{name}<" in page}

    assert shown("") == {"ann", "bob", "tess"}
    assert shown("state=claimed") == {"bob"}
    assert shown("state=active&is_test=false") == {"ann"}
    assert shown("is_test=true") == {"tess"}
    assert shown("opted_in=true") == set()  # no opt-in campaign: nobody opted in
    assert shown("progressed=true") == {"ann", "bob", "tess"}
    assert shown("customer=ann%40example.com") == {"ann"}
    lines = b"".join(client.get(f"{url}?sort=customer&format=csv").streaming_content).decode("utf-8-sig").splitlines()
    assert lines[0].startswith("Customer,State,Instance,Opted in,Counted events,Completions,Test")
    assert [line.split(",")[:7] for line in lines[1:]] == [
        ["ann", "Active", "Active", "", "1", "0", "no"], ["bob", "Claimed", "Active", "", "2", "1", "no"],
        ["tess", "Active", "Active", "", "1", "0", "yes"],
    ]


def test_the_participations_grid_runs_a_constant_number_of_queries(client, shop, admin_user,
                                                                   django_assert_max_num_queries):
    client.force_login(admin_user)
    url = reverse("engagement:participation-list", args=[shop.campaign.pk])
    few = _queries(client, url)
    with scopes_disabled():
        for i in range(25):
            shop.event(f"more-{i}", "purchase")
    with django_assert_max_num_queries(few):
        client.get(url)


def _participation(shop, name: str, is_test: bool = False) -> Participation:
    with scopes_disabled():
        return shop.participation(name, is_test)


def test_an_admin_sets_a_state_and_the_history_says_who_and_why(client, shop, admin_user):
    ann = _participation(shop, "ann")
    client.force_login(admin_user)
    url = reverse("engagement:participation-set-state", args=[ann.pk])
    assert client.post(url, {"state": "inactive", "why": "asked by phone"}).status_code == 302
    with scopes_disabled():
        ann.refresh_from_db()
        change = ParticipationChange.objects.filter(participation=ann).first()
    assert ann.state == "inactive" and change.changed_by == admin_user and change.from_state == "active"
    page = client.get(reverse("engagement:participation-detail", args=[ann.pk])).content.decode()
    assert "set by an admin: asked by phone" in page and admin_user.username in page


@pytest.mark.parametrize("data, error", [
    ({"state": "claimable", "why": "x"}, "Goals not met."),
    ({"state": "claimed", "why": "x"}, "Select a valid choice."),
    ({"state": "deleted", "why": ""}, "This field is required."),
])
def test_set_state_refuses_what_the_rules_forbid(client, shop, admin_user, data, error):
    ann = _participation(shop, "ann")
    client.force_login(admin_user)
    response = client.post(reverse("engagement:participation-set-state", args=[ann.pk]), data)
    assert response.status_code == 200 and error in response.content.decode()
    with scopes_disabled():
        ann.refresh_from_db()
        assert ann.state == "active" and ann.changes.count() == 1  # made, nothing more


def test_only_admins_set_states_and_only_admins_see_voucher_codes(client, shop, standard_user, admin_user):
    bob = _participation(shop, "bob")
    with scopes_disabled():
        code = bob.completions.get().voucher.code
    url = reverse("engagement:participation-detail", args=[bob.pk])
    client.force_login(standard_user)
    page = client.get(url).content.decode()
    assert 'data-testid="set-state-form"' not in page and code not in page and "••••••" in page
    assert client.post(reverse("engagement:participation-set-state", args=[bob.pk]),
                       {"state": "inactive", "why": "x"}).status_code == 403
    client.force_login(admin_user)
    page = client.get(url).content.decode()
    assert 'data-testid="set-state-form"' in page and code in page


# --- behaviours and settings on the campaign page --------------------------------------------------------------

def test_a_behaviour_is_added_edited_and_archived_from_the_campaign_page(client, engaged, admin_user):
    setup = engaged()
    client.force_login(admin_user)
    add = reverse("engagement:behavior-create", args=[setup.campaign.pk])
    fields = {"name": "Visit", "event_name": "visit", "goal": 3, "max_times_repeatable": 2}
    assert client.post(add, fields).status_code == 302
    response = client.post(add, fields | {"name": "Again"})
    assert "Another behaviour of this campaign has this event name." in response.content.decode()
    response = client.post(add, fields | {"event_name": "bad name", "max_times_repeatable": ""})
    body = response.content.decode()
    assert "1 to 100 of A-Z" in body and "Set a maximum, or tick Unlimited completions." in body
    with scopes_disabled():
        visit = Behavior.objects.get(campaign=setup.campaign)
    assert client.post(reverse("engagement:behavior-edit", args=[visit.pk]),
                       fields | {"goal": 5, "unlimited": "on"}).status_code == 302
    visit.refresh_from_db()
    assert (visit.goal, visit.max_times_repeatable) == (5, None)
    assert client.post(reverse("engagement:behavior-archive", args=[visit.pk])).status_code == 302
    visit.refresh_from_db()
    assert visit.archived
    page = client.get(reverse("campaigns:detail", args=[setup.campaign.pk])).content.decode()
    assert "archived" in page and "Restore" in page


def test_a_counted_behaviour_is_locked_and_the_form_says_so(client, shop, admin_user):
    purchase = behaviors_of(shop.campaign)["purchase"]
    client.force_login(admin_user)
    url = reverse("engagement:behavior-edit", args=[purchase.pk])
    page = client.get(url).content.decode()
    assert 'data-testid="behavior-locked"' in page and "Locked: this behaviour has counted events." in page
    response = client.post(url, {"name": "Buy", "event_name": "other", "goal": 9, "max_times_repeatable": 5,
                                 **VOUCHER})
    assert response.status_code == 302
    purchase.refresh_from_db()
    assert (purchase.name, purchase.event_name, purchase.goal, purchase.max_times_repeatable) == (
        "Buy", "purchase", 2, 1)  # the name changes; how it counts does not


def test_engagement_settings_are_edited_with_the_services_checks(client, engaged, admin_user):
    setup = engaged()
    client.force_login(admin_user)
    url = reverse("engagement:settings", args=[setup.campaign.pk])
    too_early = timezone.localtime(setup.campaign.starts_at - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(url, {"optin_required": "on", "opt_in_starts_at": too_early, "opt_in_limit": 10})
    assert response.status_code == 200 and "Inside the campaign&#x27;s dates." in response.content.decode()
    response = client.post(url, {"optin_required": "on", "opt_in_limit": 10, "qualify_tag": "vip"})
    assert response.status_code == 302
    with scopes_disabled():
        settings = EngagementSettings.objects.get(campaign=setup.campaign)
    assert settings.optin_required and settings.opt_in_limit == 10 and settings.qualify_tag == "vip"
    page = client.get(reverse("campaigns:detail", args=[setup.campaign.pk])).content.decode()
    assert "0 of 10 slots taken" in page and "needs <code>vip</code>" in page


def test_a_campaigns_setup_is_changed_by_admins_and_its_owner_only(client, engaged, organization, make_member,
                                                                  standard_user):
    setup = engaged()
    with scopes_disabled():
        purchase = Behavior.objects.create(campaign=setup.campaign, name="P", event_name="purchase")
    client.force_login(standard_user)
    for url in (reverse("engagement:settings", args=[setup.campaign.pk]),
                reverse("engagement:behavior-create", args=[setup.campaign.pk]),
                reverse("engagement:behavior-edit", args=[purchase.pk])):
        assert client.get(url).status_code == 403 and client.post(url, {}).status_code == 403, url
    assert client.post(reverse("engagement:behavior-archive", args=[purchase.pk])).status_code == 403
    purchase.refresh_from_db()
    assert not purchase.archived
    with scopes_disabled():
        setup.campaign.owner = standard_user
        setup.campaign.save(update_fields=["owner"])
    assert client.get(reverse("engagement:settings", args=[setup.campaign.pk])).status_code == 200


# --- the builder's engagement step -----------------------------------------------------------------------------

def _wizard(client, owner, engagement: dict) -> object:
    url = reverse("campaigns:create")
    steps = [("basics", {"name": "Loyal", "external_id": "loyal", "owner": owner.pk}),
             ("schedule", {"end_behavior": "normal"}), ("links", {}), ("engagement", engagement),
             ("integration", {"status": "test"})]
    response = None
    for step, data in steps:
        response = client.post(url, {"campaign_wizard_view-current_step": step,
                                     **{f"{step}-{key}": value for key, value in data.items()}})
        if response.status_code == 200 and f'data-testid="wizard-step-{step}"' in response.content.decode():
            return response  # the step again, with its errors
    return response


def test_the_builder_offers_an_optional_engagement_step(client, organization, admin_user):
    client.force_login(admin_user)
    response = _wizard(client, admin_user, {"enabled": "on", "optin_required": "on", "opt_in_limit": 5,
                                "behavior_name": "Visit", "event_name": "visit", "goal": 3})
    assert response.status_code == 302
    with scopes_disabled():
        settings = EngagementSettings.objects.get(campaign__external_id="loyal")
        visit = Behavior.objects.get(campaign__external_id="loyal")
    assert settings.optin_required and settings.opt_in_limit == 5 and (visit.event_name, visit.goal) == ("visit", 3)


def test_the_builder_without_engagement_makes_none(client, organization, admin_user):
    client.force_login(admin_user)
    assert _wizard(client, admin_user, {}).status_code == 302
    with scopes_disabled():
        assert not EngagementSettings.objects.exists() and not Behavior.objects.exists()


@pytest.mark.parametrize("engagement, error", [
    ({"enabled": "on", "goal": 1}, "Needed to set up engagement."),
    ({"enabled": "on", "behavior_name": "V", "event_name": "no spaces", "goal": 1}, "1 to 100 of A-Z"),
    ({"enabled": "on", "behavior_name": "V", "event_name": "v", "goal": 0, "reward_vendor": "ACME",
      "reward_amount": "5"}, "A goal of 0 never completes"),
])
def test_the_builders_engagement_step_shows_its_errors_and_makes_nothing(client, organization, admin_user,
                                                                           engagement, error):
    client.force_login(admin_user)
    response = _wizard(client, admin_user, engagement)
    assert response.status_code == 200 and error in response.content.decode()
    with scopes_disabled():
        assert not Campaign.objects.filter(external_id="loyal").exists()


# --- the dashboard ---------------------------------------------------------------------------------------------

def test_the_dashboard_counts_engagement_in_a_constant_number_of_queries(client, engaged, admin_user,
                                                                         django_assert_max_num_queries):
    setup = engaged(settings={"optin_required": True, "opt_in_limit": 1},
                    behaviors=[behavior("purchase", goal=1, **VOUCHER)])
    client.force_login(admin_user)
    url = reverse("reporting:overview")
    empty = client.get(url).content.decode()
    assert "No engagement in this period" in empty
    with scopes_disabled():
        setup.opt_in("ann")
        for name in ("bob", "cy"):
            with pytest.raises(DomainError) as refused:
                setup.opt_in(name)
            assert refused.value.code == "opt_in_limit_reached"
            # a refusal's interaction is written by the API, outside the refused transaction
            Interaction.objects.create(organization=setup.campaign.organization, campaign=setup.campaign,
                                       kind="opt_in", outcome="error", error_code="opt_in_limit_reached",
                                       http_status=409, redeemer_external_id=name)
        setup.event("ann", "purchase")
        setup.event("bob", "purchase")  # not opted in: not counted
        setup.opt_out("ann")
    few = _queries(client, url)
    page = client.get(url).content.decode()
    assert 'data-testid="opt-ins-taken">1<' in page
    assert 'opt_in_limit_reached</code></th><td class="text-end">2<' in page
    assert 'data-testid="opt-outs">1<' in page and 'data-testid="events-counted">1<' in page
    assert "not_opted_in" in page and 'data-testid="completions">1<' in page and "Outcomes: vouchers" in page
    with scopes_disabled():
        for i in range(10):
            setup.event(f"x{i}", "purchase")
    with django_assert_max_num_queries(few):
        client.get(url)


def test_the_dashboard_counts_only_the_current_organization(client, engaged, make_organization, make_member):
    setup = engaged(behaviors=[behavior("purchase", goal=1, **VOUCHER)])
    with scopes_disabled():
        setup.event("ann", "purchase")
    other = make_organization("Elsewhere")
    client.force_login(make_member(other, Membership.Role.ADMIN))
    assert "No engagement in this period" in client.get(reverse("reporting:overview")).content.decode()


def test_anonymous_visitors_are_sent_to_log_in_from_every_engagement_page(client, shop):
    participation = _participation(shop, "ann")
    with scopes_disabled():
        customer, purchase = participation.customer, behaviors_of(shop.campaign)["purchase"]
    for name, pk in (("customer-list", None), ("customer-create", None), ("customer-detail", customer.pk),
                     ("participation-list", shop.campaign.pk), ("participation-detail", participation.pk),
                     ("settings", shop.campaign.pk), ("behavior-create", shop.campaign.pk),
                     ("behavior-edit", purchase.pk)):
        response = client.get(reverse(f"engagement:{name}", args=[pk] if pk else []))
        assert response.status_code == 302 and response["Location"].startswith(reverse("login")), name


def test_the_engagement_card_costs_the_same_queries_whatever_the_behaviours(client, shop, admin_user, make_pool,
                                                                             django_assert_max_num_queries):
    client.force_login(admin_user)
    url = reverse("campaigns:detail", args=[shop.campaign.pk])
    few = _queries(client, url)
    with scopes_disabled():
        for i in range(12):
            archived = i % 2 == 0
            Behavior.objects.create(campaign=shop.campaign, name=f"B{i}", event_name=f"b{i}", archived=archived,
                                    reward_pool=shop.pool if archived else None)
            shop.event(f"c{i}", f"b{i}")
    with django_assert_max_num_queries(few):
        page = client.get(url).content.decode()
    assert page.count("Restore") == 6 and page.count("bi-lock") >= 7  # purchase, and the six live ones counted
