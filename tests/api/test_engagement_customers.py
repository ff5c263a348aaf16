"""A customer's part over the API (design §12): opt-in, opt-out, progress, claim and delete, each success and
every error code, the participation entity's shape, one interaction of its kind per call, test keys apart from
live ones, and nothing reachable across organizations."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from campaigns.models import Campaign, Integration
from campaigns.services.integrations import create_integration
from core.scoping import scopes_disabled
from engagement.models import EngagementSettings, Participation
from incentives.models import Voucher
from interactions.models import Interaction

from .conftest import VOUCHER_REWARD, event_body

PARTICIPATION_KEYS = {"campaign", "customer", "qualified", "opted_in", "state", "instance", "percent_complete",
                      "behaviors", "outcomes", "test"}
INSTANCE_KEYS = {"state", "instance_state", "active", "triggerable", "claimable", "is_deletable", "has_expired",
                 "hidden", "is_full", "expires", "visible"}
BEHAVIOR_KEYS = {"behavior_id", "external_id", "name", "event_name", "progress", "goal", "achieved", "completed",
                 "max_times_repeatable", "max_times_repeatable_per_period", "period", "min_time_between_events",
                 "period_ends_at"}
AWARD_KEYS = {"id", "code", "pin", "vendor", "amount", "currency", "expires_at", "test", "campaign"}
CLAIM_REWARD = {f"claim_{name}": value for name, value in VOUCHER_REWARD.items()}


def last_interaction() -> Interaction:
    return Interaction._base_manager.order_by("-pk").first()


def error_of(response) -> str:
    return response.json()["error"]["code"]


@pytest.fixture
def opt_in_campaign(engage):
    now = timezone.now()
    return engage(settings={"optin_required": True, "opt_in_starts_at": now - timedelta(hours=1),
                            "opt_in_ends_at": now + timedelta(hours=1), "opt_in_limit": 2, "qualify_tag": "vip"})


def opt_in(api, key, external_id="ann", **body):
    return api.post(f"/customers/{external_id}/opt_in", body, key=key)


# --- opt-in ----------------------------------------------------------------------------------------------------

def test_an_opt_in_that_takes_a_slot_answers_201_with_the_participation_and_is_logged_201(opt_in_campaign, api):
    response = opt_in(api, opt_in_campaign.live_key, customer={"tags": [" VIP "], "email": "ann@example.com"})

    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"status", "participation"}
    participation = body["participation"]
    assert set(participation) == PARTICIPATION_KEYS and set(participation["instance"]) == INSTANCE_KEYS
    assert all(set(row) == BEHAVIOR_KEYS for row in participation["behaviors"])
    assert participation["customer"] == {"external_id": "ann", "email": "ann@example.com", "mobile": "",
                                         "tags": ["vip"]}
    assert (participation["opted_in"], participation["state"], participation["test"]) == (True, "opted_in", False)
    logged = last_interaction()
    assert (logged.kind, logged.outcome, logged.http_status) == ("opt_in", "success", 201)
    assert logged.redeemer_external_id == "ann"


def test_an_opt_in_again_answers_200_takes_no_slot_and_is_logged_200(opt_in_campaign, api):
    """The log's status is the answer's: the write logs itself before the API knows whether a slot was taken."""
    assert opt_in(api, opt_in_campaign.live_key, customer={"tags": ["vip"]}).status_code == 201
    again = opt_in(api, opt_in_campaign.live_key)

    assert again.status_code == 200 and again.json()["participation"]["opted_in"] is True
    assert last_interaction().http_status == 200
    assert EngagementSettings._base_manager.get(campaign=opt_in_campaign.campaign).opt_in_taken == 1


def test_on_a_campaign_without_opt_in_an_opt_in_answers_200_and_is_logged_200(engage, api):
    setup = engage()
    response = opt_in(api, setup.live_key)
    assert response.status_code == 200 and response.json()["participation"]["opted_in"] is True
    assert last_interaction().http_status == 200


@pytest.mark.parametrize(("case", "code"), [
    ("unqualified", "user_ineligible_for_campaign"),
    ("before the window", "opt_in_not_started"),
    ("after the window", "opt_in_ended"),
    ("no slot left", "opt_in_limit_reached"),
])
def test_each_opt_in_refusal_answers_409_with_its_code_and_is_logged(engage, api, case, code):
    now = timezone.now()
    starts, ends = now - timedelta(hours=1), now + timedelta(hours=1)
    if case == "before the window":
        starts = now + timedelta(minutes=30)
    if case == "after the window":
        ends = now - timedelta(minutes=30)
        starts = now - timedelta(hours=1)
    setup = engage(settings={"optin_required": True, "opt_in_starts_at": starts, "opt_in_ends_at": ends,
                             "opt_in_limit": 1, "qualify_tag": "vip"})
    if case == "no slot left":
        assert opt_in(api, setup.live_key, "bob", customer={"tags": ["vip"]}).status_code == 201
    tags = [] if case == "unqualified" else ["vip"]

    response = opt_in(api, setup.live_key, customer={"tags": tags})

    assert response.status_code == 409 and error_of(response) == code
    logged = last_interaction()
    assert (logged.kind, logged.error_code, logged.http_status) == ("opt_in", code, 409)
    assert not Participation._base_manager.filter(customer__external_id="ann").exists()


@pytest.mark.parametrize(("case", "code"), [("pending", "campaign_not_live"), ("ended", "campaign_ended")])
def test_an_opt_in_to_a_campaign_not_writable_is_refused(engage, api, case, code):
    setup = engage()
    now = timezone.now()
    if case == "pending":
        Campaign._base_manager.filter(pk=setup.campaign.pk).update(status=Campaign.Status.PENDING)
    else:
        Campaign._base_manager.filter(pk=setup.campaign.pk).update(ends_at=now - timedelta(seconds=1))
    response = opt_in(api, setup.live_key)
    assert response.status_code == 409 and error_of(response) == code


@pytest.mark.parametrize("external_id", ["a%20b", "a%0Ab", "x" * 201, "a%C2%A0b"])
def test_an_external_id_outside_its_pattern_is_an_invalid_request(engage, api, external_id):
    response = api.post(f"/customers/{external_id}/opt_in", {}, key=engage().live_key)
    assert response.status_code == 400 and set(response.json()["error"]["fields"]) == {"external_id"}


@pytest.mark.parametrize("tags", [["no spaces inside"], ["é"], ["x" * 51], [f"t{n}" for n in range(101)]])
def test_tags_outside_their_pattern_or_count_are_an_invalid_request(engage, api, tags):
    response = opt_in(api, engage().live_key, customer={"tags": tags})
    assert response.status_code == 400 and error_of(response) == "invalid_request"


# --- opt-out, progress -------------------------------------------------------------------------------------------

def test_an_opt_out_answers_200_keeps_progress_and_stops_counting(engage, api):
    setup = engage()
    assert api.post("/events", event_body(), key=setup.live_key).status_code == 201
    response = api.post("/customers/cust-1/opt_out", None, key=setup.live_key, raw=True)

    assert response.status_code == 200
    participation = response.json()["participation"]
    assert (participation["opted_in"], participation["state"]) == (False, "opted_out")
    assert participation["behaviors"][0]["progress"] == 1
    assert (last_interaction().kind, last_interaction().http_status) == ("opt_out", 200)
    after = api.post("/events", event_body(reference="ev-2"), key=setup.live_key).json()["event"]
    assert after["behaviors"][0]["counted"] is False and after["behaviors"][0]["reason"] == "opted_out"


def test_progress_of_an_unknown_customer_is_not_found_and_of_a_known_one_without_a_part_has_no_instance(
    engage, api
):
    setup = engage()
    unknown = api.get("/customers/nobody/progress", key=setup.live_key)
    assert unknown.status_code == 404 and error_of(unknown) == "not_found"
    api.post("/events", event_body(), key=setup.test_key)  # a test participation only

    live = api.get("/customers/cust-1/progress", key=setup.live_key)
    assert live.status_code == 200
    assert live.json()["participation"]["instance"] is None and live.json()["participation"]["test"] is False
    test = api.get("/customers/cust-1/progress", key=setup.test_key).json()["participation"]
    assert test["test"] is True and test["behaviors"][0]["progress"] == 1
    assert (last_interaction().kind, last_interaction().http_status) == ("lookup", 200)
    lookups = Interaction._base_manager.filter(kind="lookup").order_by("pk")
    assert [(i.http_status, i.error_code) for i in lookups] == [(404, "not_found"), (200, ""), (200, "")]


def test_a_progress_read_past_the_earn_window_is_logged_as_it_was_answered_even_when_the_correction_fails(
    engage, api, monkeypatch
):
    """Past an end the read may have to correct a stale state after it: the call is logged with the answer it got
    (the read does not log it as a 200 beforehand)."""
    from django.db import OperationalError

    from engagement.services.setup import configure_engagement

    setup = engage()
    api.post("/events", event_body(event_name="visit"), key=setup.live_key)
    with scopes_disabled():
        configure_engagement(setup.campaign, earn_starts_at=timezone.now() - timedelta(days=1),
                             earn_ends_at=timezone.now() - timedelta(seconds=1))

    def connection_lost(*args, **kwargs):
        raise OperationalError("terminating connection due to administrator command")

    with monkeypatch.context() as patched:
        patched.setattr("engagement.services.participations.correct_stale", connection_lost)
        failed = api.get("/customers/cust-1/progress", key=setup.live_key)
    assert failed.status_code == 503 and error_of(failed) == "service_unavailable"
    lookups = Interaction._base_manager.filter(kind="lookup").order_by("pk")
    assert [(i.http_status, i.outcome) for i in lookups] == [(503, "exception")]

    corrected = api.get("/customers/cust-1/progress", key=setup.live_key)
    assert corrected.status_code == 200 and corrected.json()["participation"]["instance"]["state"] == "inactive"
    lookups = Interaction._base_manager.filter(kind="lookup").order_by("pk")
    assert [(i.http_status, i.outcome) for i in lookups] == [(503, "exception"), (200, "success")]
    again = api.get("/customers/cust-1/progress", key=setup.live_key)  # no correction left: the read answers
    assert again.content == corrected.content
    assert Interaction._base_manager.filter(kind="lookup").count() == 3


def test_no_customer_of_another_organization_is_reachable(engage, api, make_organization, make_member,
                                                          make_campaign):
    setup = engage()
    other = make_organization(name="Other")
    other_campaign = make_campaign(other, make_member(other), external_id="theirs")
    with scopes_disabled():
        other_key = create_integration(other_campaign, name="Theirs", status=Integration.Status.LIVE).key
    api.post("/customers/theirs-1/opt_out", {}, key=other_key)

    for response in (api.get("/customers/theirs-1/progress", key=setup.live_key),
                     api.post("/customers/theirs-1/claim", {}, key=setup.live_key),
                     api.client.delete("/api/v1/customers/theirs-1/instance",
                                       headers={"Authorization": f"Bearer {setup.live_key}"})):
        assert response.status_code == 404 and error_of(response) == "not_found"


def test_a_participation_in_another_campaign_is_not_reachable_with_this_key(engage, api, make_campaign,
                                                                          admin_user):
    setup = engage()
    other = make_campaign(setup.campaign.organization, admin_user, external_id="autumn")
    with scopes_disabled():
        other_key = create_integration(other, name="Autumn", status=Integration.Status.LIVE).key
    api.post("/customers/ann/opt_out", {}, key=other_key)

    mine = api.get("/customers/ann/progress", key=setup.live_key).json()["participation"]
    assert mine["instance"] is None and mine["campaign"] == "spring-2026"
    assert error_of(api.post("/customers/ann/claim", {}, key=setup.live_key)) == "not_claimable"


# --- claim and delete ---------------------------------------------------------------------------------------------

@pytest.fixture
def claimable(engage, api):
    """A claim-required campaign with an ACME claim reward; ``ann`` has met every goal."""
    setup = engage(settings={"claim_required": True, **CLAIM_REWARD},
                   behaviors=[{"name": "Visit", "event_name": "visit", "goal": 1}])
    assert api.post("/events", event_body("ann", "visit"), key=setup.live_key).status_code == 201
    return setup


def delete(api, key, external_id="ann"):
    return api.client.delete(f"/api/v1/customers/{external_id}/instance", headers={"Authorization": f"Bearer {key}"})


def test_a_claim_answers_201_with_its_reward_and_a_second_claim_200_with_the_same_body(claimable, api):
    first = api.post("/customers/ann/claim", {}, key=claimable.live_key)

    assert first.status_code == 201
    participation = first.json()["participation"]
    assert participation["instance"]["state"] == "claimed"
    (outcome,) = participation["outcomes"]
    assert (outcome["behavior_id"], outcome["type"], outcome["issuance"]) == (None, "voucher", None)
    assert set(outcome["award"]) == AWARD_KEYS and outcome["award"]["vendor"] == "ACME"
    assert (last_interaction().kind, last_interaction().http_status) == ("claim", 201)

    second = api.post("/customers/ann/claim", None, key=claimable.live_key, raw=True)
    assert second.status_code == 200 and second.content == first.content
    assert last_interaction().http_status == 200
    with scopes_disabled():
        assert Voucher.objects.filter(vault=claimable.vault, awarded_at__isnull=False).count() == 1


def test_a_claim_with_empty_stock_is_refused_and_stays_claimable_until_a_restock(claimable, api):
    Voucher._base_manager.filter(vault=claimable.vault).delete()
    refused = api.post("/customers/ann/claim", {}, key=claimable.live_key)
    assert refused.status_code == 409 and error_of(refused) == "out_of_vouchers"
    assert last_interaction().outcome == "out_of_stock"
    assert api.get("/customers/ann/progress", key=claimable.live_key).json()["participation"]["instance"][
        "claimable"] is True

    Voucher._base_manager.create(vault=claimable.vault, vendor="ACME", amount=Decimal("10.00"), currency="USD",
                                 code="RESTOCK")
    paid = api.post("/customers/ann/claim", {}, key=claimable.live_key)
    assert paid.status_code == 201 and paid.json()["participation"]["outcomes"][0]["award"]["code"] == "RESTOCK"


def test_a_claim_of_what_is_not_claimable_is_refused(claimable, api):
    assert error_of(api.post("/customers/nobody/claim", {}, key=claimable.live_key)) == "not_found"
    api.post("/customers/bob/opt_out", {}, key=claimable.live_key)
    refused = api.post("/customers/bob/claim", {}, key=claimable.live_key)
    assert refused.status_code == 409 and error_of(refused) == "not_claimable"
    # The live participation is claimable; the test key sees none.
    assert error_of(api.post("/customers/ann/claim", {}, key=claimable.test_key)) == "not_claimable"


def test_delete_hides_the_claimed_instance_again_200_and_refuses_an_active_one(claimable, api):
    api.post("/events", event_body("bob", "visit", reference="bob-1"), key=claimable.live_key)  # claimable
    refused = delete(api, claimable.live_key, "bob")
    assert refused.status_code == 409 and error_of(refused) == "not_deletable"
    assert error_of(delete(api, claimable.live_key, "nobody")) == "not_found"

    api.post("/customers/ann/claim", {}, key=claimable.live_key)
    deleted = delete(api, claimable.live_key)
    assert deleted.status_code == 200
    instance = deleted.json()["participation"]["instance"]
    assert (instance["instance_state"], instance["hidden"]) == ("deleted", True)
    assert (last_interaction().kind, last_interaction().http_status) == ("deletion", 200)
    again = delete(api, claimable.live_key)
    assert again.status_code == 200 and again.json()["participation"]["instance"]["instance_state"] == "deleted"


def test_every_call_writes_one_interaction_of_its_kind(claimable, api):
    before = Interaction._base_manager.count()
    key = claimable.live_key
    api.post("/customers/cy/opt_in", {}, key=key)
    api.post("/events", event_body("cy", "visit", reference="cy-1"), key=key)
    api.post("/events", event_body("cy", "visit", reference="cy-1"), key=key)  # a replay
    api.post("/events", event_body("cy", "nope", reference="cy-2"), key=key)  # refused
    api.get("/customers/cy/progress", key=key)
    api.post("/customers/cy/claim", {}, key=key)
    delete(api, key, "cy")
    api.post("/customers/cy/opt_out", {}, key=key)
    kinds = list(Interaction._base_manager.order_by("pk").values_list("kind", "http_status")[before:])
    assert kinds == [("opt_in", 200), ("event", 201), ("event", 200), ("event", 422), ("lookup", 200),
                     ("claim", 201), ("deletion", 200), ("opt_out", 200)]


@pytest.mark.parametrize(("raw", "accepted"), [
    ("", True), ("null", True), ("{}", True), ('{"customer": null}', True),
    ("[null, null]", False), ("3", False), ('"x"', False), ('{"customer": []}', False),  # what schemathesis sent
])
@pytest.mark.parametrize("operation", ["opt_in", "opt_out", "claim"])
def test_an_optional_body_is_absent_null_or_an_object(engage, api, raw, accepted, operation):
    if operation == "claim" and "customer" in raw:
        raw = raw.replace("customer", "reference")  # a claim's body has no customer
    response = api.post(f"/customers/ann/{operation}", raw, key=engage().live_key, raw=True)
    assert (response.status_code != 400) is accepted, response.content
