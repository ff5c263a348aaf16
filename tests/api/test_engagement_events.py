"""``POST /api/v1/events`` (design §12): the event entity, every error code, the dry run, the idempotency of a
required reference (201 then a byte-identical 200, a changed body refused, an omitted occurred_at replayed, a
refused attempt re-run), and the campaign read's engagement part."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from campaigns.models import Campaign
from engagement.models import BehaviorProgress, Event
from incentives.models import Voucher
from interactions.models import Interaction

from .conftest import event_body
from .test_engagement_customers import AWARD_KEYS, PARTICIPATION_KEYS, error_of, last_interaction

EVENT_KEYS = {"id", "event_name", "occurred_at", "behaviors", "outcome", "participation", "dry_run"}
COUNT_KEYS = {"behavior_id", "counted", "reason", "progress", "goal", "achieved", "completed_now"}


def post_event(api, setup, *, key=None, path="/events", **body):
    return api.post(path, event_body(**body), key=key or setup.live_key)


def test_an_event_that_counts_answers_201_with_the_event_entity(engage, api):
    setup = engage()
    response = post_event(api, setup, customer={"tags": ["VIP"], "email": "ann@example.com"})

    assert response.status_code == 201
    event = response.json()["event"]
    assert set(event) == EVENT_KEYS and set(event["participation"]) == PARTICIPATION_KEYS
    (count,) = event["behaviors"]
    assert set(count) == COUNT_KEYS
    assert (count["counted"], count["reason"], count["progress"], count["goal"], count["completed_now"]) == (
        True, None, 1, 2, False)
    assert (event["outcome"], event["dry_run"], event["event_name"]) == (None, False, "purchase")
    assert event["participation"]["customer"]["tags"] == ["vip"]
    assert Event._base_manager.get().pk == event["id"]
    logged = last_interaction()
    assert (logged.kind, logged.http_status, logged.redeemer_external_id) == ("event", 201, "cust-1")


def test_the_completing_event_gives_a_voucher_as_its_outcome(engage, api):
    setup = engage()
    post_event(api, setup, reference="ev-1")
    event = post_event(api, setup, reference="ev-2").json()["event"]

    assert event["behaviors"][0]["completed_now"] is True
    outcome = event["outcome"]
    assert (outcome["type"], outcome["issuance"]) == ("voucher", None) and set(outcome["award"]) == AWARD_KEYS
    assert event["participation"]["outcomes"] == [outcome]
    voucher = Voucher._base_manager.get(code=outcome["award"]["code"])
    assert voucher.awarded_at is not None and last_interaction().voucher_id == voucher.pk


def test_an_event_that_counts_nothing_is_still_201_with_its_reason(engage, api):
    setup = engage(settings={"qualify_tag": "vip"})
    event = post_event(api, setup).json()["event"]
    assert event["behaviors"][0]["counted"] is False and event["behaviors"][0]["reason"] == "not_qualified"


def test_an_unknown_event_name_is_422_unknown_event(engage, api):
    response = post_event(api, engage(), event_name="nope")
    assert response.status_code == 422 and error_of(response) == "unknown_event"
    assert last_interaction().error_code == "unknown_event" and not Event._base_manager.exists()


@pytest.mark.parametrize("status", ["pending", "ended"])
def test_an_event_on_a_campaign_not_writable_is_refused(engage, api, status):
    setup = engage()
    if status == "pending":
        Campaign._base_manager.filter(pk=setup.campaign.pk).update(status=Campaign.Status.PENDING)
    else:
        Campaign._base_manager.filter(pk=setup.campaign.pk).update(ends_at=timezone.now() - timedelta(seconds=1))
    response = post_event(api, setup)
    assert response.status_code == 409
    assert error_of(response) == {"pending": "campaign_not_live", "ended": "campaign_ended"}[status]


def test_an_event_with_the_vault_empty_is_out_of_vouchers_and_advances_nothing(engage, api):
    setup = engage()
    Voucher._base_manager.filter(vault=setup.vault).delete()
    post_event(api, setup, reference="ev-1")
    response = post_event(api, setup, reference="ev-2")
    assert response.status_code == 409 and error_of(response) == "out_of_vouchers"
    assert last_interaction().outcome == Interaction.Outcome.OUT_OF_STOCK
    assert BehaviorProgress._base_manager.get().progress == 1


@pytest.mark.parametrize(("body", "field"), [
    ({"reference": None}, "reference"),
    ({"reference": ""}, "reference"),
    ({"event_name": "has space"}, "event_name"),
    ({"event_name": "x" * 101}, "event_name"),
    ({"occurred_at": "2026-05-01T12:00:00"}, "occurred_at"),  # no offset
    ({"occurred_at": "2026-05-01"}, "occurred_at"),
    ({"occurred_at": 1767225600}, "occurred_at"),
    ({"customer": {"external_id": "a/b"}}, "customer.external_id"),
    ({"customer": {"external_id": "a\ufeffb"}}, "customer.external_id"),
    ({"customer": {"external_id": "ann", "tags": ["a b"]}}, "customer.tags.0"),
])
def test_a_malformed_event_is_an_invalid_request_naming_its_field(engage, api, body, field):
    sent = {**event_body(), **body}
    if "customer" in body:
        sent["customer"] = body["customer"]
    response = api.post("/events", sent, key=engage().live_key)
    assert response.status_code == 400 and field in response.json()["error"]["fields"], response.content


@pytest.mark.parametrize(("offset", "refused"), [
    (-timedelta(hours=24) - timedelta(seconds=5), True), (-timedelta(hours=23), False),
    (timedelta(minutes=4), False), (timedelta(minutes=5, seconds=5), True),
])
def test_occurred_at_is_taken_within_24_hours_before_and_5_minutes_after_now(engage, api, offset, refused):
    occurred_at = (timezone.now() + offset).isoformat()
    response = post_event(api, engage(), occurred_at=occurred_at)
    assert (response.status_code == 400) is refused, response.content
    if refused:
        assert set(response.json()["error"]["fields"]) == {"occurred_at"}


def test_a_dry_run_answers_200_with_what_would_happen_and_changes_nothing_but_its_interaction(engage, api):
    setup = engage()
    post_event(api, setup, reference="ev-1")
    before = Interaction._base_manager.count()
    response = post_event(api, setup, path="/events?dry_run=true", reference="ev-2")

    assert response.status_code == 200
    event = response.json()["event"]
    assert (event["dry_run"], event["id"], event["outcome"]) == (True, None, None)
    assert event["behaviors"][0]["completed_now"] is True and event["behaviors"][0]["progress"] == 2
    assert Event._base_manager.count() == 1 and BehaviorProgress._base_manager.get().progress == 1
    assert not Voucher._base_manager.filter(awarded_at__isnull=False).exists()
    assert Interaction._base_manager.count() == before + 1
    assert (last_interaction().kind, last_interaction().http_status) == ("event", 200)
    # The reference was not used up: the real event with it counts.
    assert post_event(api, setup, reference="ev-2").status_code == 201


def test_a_dry_run_with_the_vault_empty_says_out_of_vouchers(engage, api):
    setup = engage()
    Voucher._base_manager.filter(vault=setup.vault).delete()
    post_event(api, setup, reference="ev-1")
    response = post_event(api, setup, path="/events?dry_run=true", reference="ev-2")
    assert response.status_code == 409 and error_of(response) == "out_of_vouchers"


# --- idempotency ------------------------------------------------------------------------------------------------

def test_the_same_reference_twice_is_201_then_200_with_a_byte_identical_body_and_one_event(engage, api):
    setup = engage()
    post_event(api, setup, reference="ev-0")
    first = post_event(api, setup, reference="ev-1")  # the completing one: its voucher is in the body
    again = post_event(api, setup, reference="ev-1")

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.content == first.content
    assert Event._base_manager.count() == 2
    assert Voucher._base_manager.filter(awarded_at__isnull=False).count() == 1
    assert last_interaction().http_status == 200 and "Replayed" in last_interaction().message
    assert list(Interaction._base_manager.order_by("pk").values_list("http_status", flat=True)) == [201, 201, 200]


def test_the_same_reference_with_another_body_is_an_idempotency_conflict(engage, api):
    setup = engage()
    assert post_event(api, setup, reference="ev-1").status_code == 201
    for changed in ({"event_name": "visit"}, {"customer": {"tags": ["vip"]}}, {"external_id": "cust-2"},
                    {"occurred_at": timezone.now().isoformat()}):
        response = post_event(api, setup, reference="ev-1", **changed)
        assert response.status_code == 409 and error_of(response) == "idempotency_conflict", changed
    assert Event._base_manager.count() == 1


def test_an_omitted_occurred_at_still_replays(engage, api):
    """The server's time differs between the two, but the fingerprint is of the body as sent."""
    setup = engage()
    first = post_event(api, setup, reference="ev-1")
    again = post_event(api, setup, reference="ev-1")
    assert again.status_code == 200 and again.content == first.content


def test_a_refused_attempt_is_run_again_with_its_reference(engage, api):
    setup = engage()
    Voucher._base_manager.filter(vault=setup.vault).delete()
    post_event(api, setup, reference="ev-1")
    assert post_event(api, setup, reference="ev-2").status_code == 409
    Voucher._base_manager.create(vault=setup.vault, vendor="ACME", amount=Decimal("10.00"), currency="USD",
                                 code="BACK")
    response = post_event(api, setup, reference="ev-2")
    assert response.status_code == 201 and response.json()["event"]["outcome"]["award"]["code"] == "BACK"


def test_a_reference_is_per_key_and_a_test_key_makes_test_participations(engage, api):
    setup = engage()
    live = post_event(api, setup, reference="ev-1")
    test = post_event(api, setup, key=setup.test_key, reference="ev-1")
    assert (live.status_code, test.status_code) == (201, 201)
    assert (live.json()["event"]["participation"]["test"], test.json()["event"]["participation"]["test"]) == (
        False, True)
    post_event(api, setup, key=setup.test_key, reference="ev-2")
    test_outcome = api.get("/customers/cust-1/progress", key=setup.test_key).json()["participation"]["outcomes"]
    assert [outcome["award"]["test"] for outcome in test_outcome] == [True]
    assert api.get("/customers/cust-1/progress", key=setup.live_key).json()["participation"]["outcomes"] == []


def test_an_opt_in_reference_replays_201_as_200_with_the_same_body(engage, api):
    setup = engage(settings={"optin_required": True})
    first = api.post("/customers/ann/opt_in", {"reference": "in-1"}, key=setup.live_key)
    again = api.post("/customers/ann/opt_in", {"reference": "in-1"}, key=setup.live_key)
    assert (first.status_code, again.status_code) == (201, 200) and again.content == first.content
    conflict = api.post("/customers/ann/opt_in", {"reference": "in-1", "customer": {"tags": ["x"]}},
                        key=setup.live_key)
    assert conflict.status_code == 409 and error_of(conflict) == "idempotency_conflict"


# --- the campaign read ---------------------------------------------------------------------------------------------

def test_the_campaign_read_carries_the_engagement_settings_and_behaviours(engage, api):
    setup = engage(settings={"optin_required": True, "opt_in_limit": 5, "qualify_tag": "vip"})
    engagement = api.get("/campaign", key=setup.live_key).json()["campaign"]["engagement"]

    assert (engagement["optin_required"], engagement["opt_in_limit"], engagement["opt_in_taken"]) == (True, 5, 0)
    assert engagement["qualify_tag"] == "vip" and engagement["claim_reward"] is None
    purchase, visit = engagement["behaviors"]
    assert (purchase["event_name"], purchase["goal"], purchase["max_times_repeatable"]) == ("purchase", 2, 1)
    assert purchase["reward"] == {"type": "voucher", "vendor": "ACME", "amount": "10.00", "currency": "USD",
                                  "pool_id": None}
    assert visit["reward"] is None and visit["archived"] is False
