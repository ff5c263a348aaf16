"""Tracking numbers and the voice webhook (design §6): routing at every boundary, signatures, logging."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from twilio.request_validator import RequestValidator

from core.scoping import scopes_disabled
from interactions.models import Interaction
from tracking.models import TrackingNumber
from tracking.numbers import answer_call, with_state
from tracking.voice import Routing, number_state

TOKEN = "test-twilio-token"
NUMBER, FORWARD, BUSINESS = "+14155550100", "+14155550111", "+442079460018"
T0 = timezone.now().replace(microsecond=0)


@pytest.fixture
def referral_campaign(organization, admin_user, make_campaign):
    return make_campaign(organization, admin_user, starts_at=T0, ends_at=T0 + timedelta(days=10),
                         end_behavior="referral", referral_number=BUSINESS)


@pytest.fixture
def normal_campaign(organization, admin_user, make_campaign):
    return make_campaign(organization, admin_user, starts_at=T0, ends_at=T0 + timedelta(days=10),
                         referral_number=BUSINESS)  # a referral number on a normal campaign is never said


def tracking_number(organization, campaign, number=NUMBER) -> TrackingNumber:
    with scopes_disabled():
        return TrackingNumber.objects.create(organization=organization, campaign=campaign, number=number,
                                             forward_to=FORWARD)


def calls():
    with scopes_disabled():
        return list(Interaction.objects.filter(kind=Interaction.Kind.CALL).order_by("pk"))


END = T0 + timedelta(days=10)
REFERRAL_BOUNDARIES = [
    ("before start", T0 - timedelta(seconds=1), Routing.NOT_IN_SERVICE),
    ("at start", T0, Routing.DIAL),
    ("just before the end", END - timedelta(seconds=1), Routing.DIAL),
    ("at the end", END, Routing.REFERRAL),
    ("29 days after the end", END + timedelta(days=29), Routing.REFERRAL),
    ("exactly 30 days after the end", END + timedelta(days=30), Routing.REFERRAL),
    ("just past 30 days", END + timedelta(days=30, seconds=1), Routing.NOT_IN_SERVICE),
    ("31 days after the end", END + timedelta(days=31), Routing.NOT_IN_SERVICE),
]


@pytest.mark.parametrize("label, now, expected", REFERRAL_BOUNDARIES, ids=[b[0] for b in REFERRAL_BOUNDARIES])
def test_referral_campaign_routing_at_each_boundary(organization, referral_campaign, label, now, expected):
    tracking_number(organization, referral_campaign)
    answer = answer_call(to=NUMBER, caller="+15005550006", now=now)
    assert answer.routing == expected
    with scopes_disabled():
        annotated = with_state(TrackingNumber.objects.all(), now=now).get()
    assert annotated.state == expected  # the grid's SQL agrees with the rule


@pytest.mark.parametrize("now, expected", [
    (T0 - timedelta(seconds=1), Routing.NOT_IN_SERVICE),
    (T0, Routing.DIAL),
    (END - timedelta(seconds=1), Routing.DIAL),
    (END, Routing.NOT_IN_SERVICE),
    (END + timedelta(seconds=1), Routing.NOT_IN_SERVICE),
])
def test_normal_campaign_goes_out_of_service_at_its_end(organization, normal_campaign, now, expected):
    tracking_number(organization, normal_campaign)
    assert answer_call(to=NUMBER, caller="+15005550006", now=now).routing == expected


def test_number_state_ignores_the_campaign_status(organization, admin_user, make_campaign):
    campaign = make_campaign(organization, admin_user, starts_at=T0)  # pending: no vault, no integration
    assert campaign.status == "pending"
    assert number_state(campaign, T0 + timedelta(hours=1)).routing == Routing.DIAL


def test_twiml_of_each_routing(organization, referral_campaign):
    tracking_number(organization, referral_campaign)
    dial = answer_call(to=NUMBER, caller="anonymous", now=T0).twiml
    assert f"<Dial>{FORWARD}</Dial>" in dial
    referral = answer_call(to=NUMBER, caller="anonymous", now=END + timedelta(days=1)).twiml
    assert "<Say>" in referral and "4 4 2 0 7 9 4 6 0 0 1 8" in referral and "<Dial>" not in referral
    gone = answer_call(to=NUMBER, caller="anonymous", now=END + timedelta(days=40)).twiml
    assert "not in service" in gone and "<Hangup />" in gone


def test_every_call_is_logged_as_one_interaction(organization, referral_campaign):
    tracking_number(organization, referral_campaign)
    answer_call(to=NUMBER, caller="anonymous", call_sid="CA1", now=T0)
    answer_call(to=NUMBER, caller="+15005550006", call_sid="CA2", now=END + timedelta(days=2))
    logged = calls()
    assert [(c.campaign_id, c.outcome, c.message, c.redeemer_mobile) for c in logged] == [
        (referral_campaign.pk, "success", "dial", "anonymous"),
        (referral_campaign.pk, "success", "referral", "+15005550006"),
    ]
    assert all(c.organization_id == organization.pk for c in logged)


def test_unassigned_number_is_not_in_service_and_logged_without_campaign(organization):
    tracking_number(organization, None)
    assert answer_call(to=NUMBER, caller="+15005550006").routing == Routing.NOT_IN_SERVICE
    [call] = calls()
    assert call.campaign_id is None and call.organization_id == organization.pk and call.message == "not_in_service"


def test_unknown_number_is_not_in_service_and_logs_no_interaction(db):
    answer = answer_call(to="+19995550000", caller="+15005550006")
    assert answer.routing == Routing.NOT_IN_SERVICE and "<Hangup />" in answer.twiml
    assert calls() == []


# --- the webhook over HTTP -------------------------------------------------------------------------


def signed_post(client, params: dict, *, token=TOKEN, signature=None):
    url = "http://testserver" + reverse("voice-webhook")
    headers = {}
    if signature is not False:
        headers["X-Twilio-Signature"] = signature or RequestValidator(token).compute_signature(url, params)
    return client.post(reverse("voice-webhook"), params, headers=headers)


CALL = {"CallSid": "CA123", "From": "+15005550006", "To": NUMBER, "CallStatus": "ringing"}


def test_webhook_answers_twiml_for_a_signed_request(client, settings, organization, referral_campaign):
    settings.TWILIO_AUTH_TOKEN = TOKEN
    tracking_number(organization, referral_campaign)
    response = signed_post(client, CALL)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/xml")
    assert f"<Dial>{FORWARD}</Dial>" in response.content.decode()
    assert len(calls()) == 1


@pytest.mark.parametrize("case", ["missing", "wrong", "other token", "no token configured"])
def test_webhook_refuses_bad_signatures_and_logs_nothing(client, settings, organization, referral_campaign, case):
    settings.TWILIO_AUTH_TOKEN = "" if case == "no token configured" else TOKEN
    tracking_number(organization, referral_campaign)
    signature = {"missing": False, "wrong": "bm90IGEgc2lnbmF0dXJl", "other token": None,
                 "no token configured": None}[case]
    response = signed_post(client, CALL, token="another-token" if case == "other token" else TOKEN,
                           signature=signature)
    assert response.status_code == 403
    assert calls() == []


def test_webhook_signature_covers_the_parameters(client, settings, organization, referral_campaign):
    settings.TWILIO_AUTH_TOKEN = TOKEN
    tracking_number(organization, referral_campaign)
    url = "http://testserver" + reverse("voice-webhook")
    signature = RequestValidator(TOKEN).compute_signature(url, CALL)
    tampered = CALL | {"To": "+14155550199"}
    response = client.post(reverse("voice-webhook"), tampered, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 403 and calls() == []


# --- numbers in pages -----------------------------------------------------------------------------


@pytest.mark.parametrize("value, message", [
    ("12345", "is not a phone number"),
    ("+1 555", "is not a valid phone number"),
    ("call me", "is not a phone number"),
])
def test_malformed_numbers_are_refused_with_a_clear_message(client, organization, admin_user, value, message):
    client.force_login(admin_user)
    response = client.post(reverse("tracking:number-create"), {"number": value, "forward_to": FORWARD})
    assert response.status_code == 200
    assert message in response.content.decode()
    with scopes_disabled():
        assert not TrackingNumber.objects.exists()


def test_numbers_are_stored_in_e164_and_unique_everywhere(client, organization, admin_user, make_organization):
    client.force_login(admin_user)
    response = client.post(reverse("tracking:number-create"), {"number": "+1 (415) 555-0100", "forward_to": FORWARD})
    assert response.status_code == 302
    with scopes_disabled():
        assert TrackingNumber.objects.get().number == NUMBER
    tracking_number(make_organization("Elsewhere"), None, number="+14155550122")
    response = client.post(reverse("tracking:number-create"), {"number": "+14155550122", "forward_to": FORWARD})
    assert "already in use" in response.content.decode()


def test_provision_from_the_inventory_and_a_new_number(client, organization, admin_user, referral_campaign):
    inventory = tracking_number(organization, None, number="+14155550133")
    client.force_login(admin_user)
    url = reverse("tracking:provision-number", args=[referral_campaign.pk])
    assert client.post(url, {"existing": inventory.pk, "forward_to": "+14155550144"}).status_code == 302
    assert client.post(url, {"number": "+14155550155", "forward_to": FORWARD, "label": "Radio"}).status_code == 302
    with scopes_disabled():
        assert sorted(referral_campaign.numbers.values_list("number", "forward_to")) == [
            ("+14155550133", "+14155550144"), ("+14155550155", FORWARD)]
    page = client.get(referral_campaign.get_absolute_url()).content.decode()
    assert "+1 415-555-0133" in page and "+1 415-555-0155" in page


def test_provision_needs_a_number(client, organization, admin_user, referral_campaign):
    client.force_login(admin_user)
    response = client.post(reverse("tracking:provision-number", args=[referral_campaign.pk]), {"forward_to": FORWARD})
    assert "Pick a number from the inventory or enter a new one." in response.content.decode()


def test_release_puts_the_number_back_in_the_inventory(client, organization, admin_user, referral_campaign):
    number = tracking_number(organization, referral_campaign)
    client.force_login(admin_user)
    assert client.post(reverse("tracking:number-release", args=[number.pk])).status_code == 302
    number.refresh_from_db()
    assert number.campaign_id is None


def test_numbers_grid_filters_by_state_and_downloads(client, organization, admin_user, referral_campaign):
    tracking_number(organization, referral_campaign)
    tracking_number(organization, None, number="+14155550166")
    client.force_login(admin_user)
    url = reverse("tracking:number-list")
    csv_text = b"".join(client.get(url + "?state=not_in_service&format=csv").streaming_content).decode("utf-8-sig")
    lines = csv_text.strip().splitlines()
    assert len(lines) == 2 and "+14155550166" in lines[1] and "Inactive" in lines[1]
