"""GET /api/v1/campaign: the key's campaign with its available vouchers by type (design §8)."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from campaigns.models import Campaign
from campaigns.services.integrations import revoke_integration
from core.scoping import scopes_disabled
from incentives.models import Voucher
from interactions.models import Interaction

from .conftest import award_body

CAMPAIGN_KEYS = {
    "external_id",
    "name",
    "status",
    "is_active",
    "starts_at",
    "ends_at",
    "max_awards_per_redeemer",
    "test",
    "available_vouchers",
    "engagement",
}


def test_the_campaign_is_answered_with_its_live_vouchers_by_type_for_a_live_key(setup, api):
    Voucher._base_manager.create(vault=setup.vault, vendor="Globex", amount=Decimal("5.00"), currency="EUR", code="G1")
    response = api.get("/campaign", key=setup.live_key)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"status", "campaign"} and body["status"] == "ok"
    campaign = body["campaign"]
    assert set(campaign) == CAMPAIGN_KEYS
    assert (campaign["external_id"], campaign["name"], campaign["status"]) == ("spring-2026", "Spring promo", "live")
    assert campaign["is_active"] is True and campaign["ends_at"] is None and campaign["test"] is False
    assert campaign["available_vouchers"] == [
        {"vendor": "ACME", "amount": "10.00", "currency": "USD", "available": 5},
        {"vendor": "Globex", "amount": "5.00", "currency": "EUR", "available": 1},
    ]
    logged = Interaction._base_manager.get()
    assert (logged.kind, logged.outcome, logged.http_status) == ("lookup", "success", 200)
    assert logged.campaign_id == setup.campaign.pk


def test_a_test_key_counts_test_vouchers_and_awards_lower_the_count(setup, api):
    api.post("/awards", award_body(), key=setup.test_key)
    campaign = api.get("/campaign", key=setup.test_key).json()["campaign"]
    assert campaign["test"] is True
    assert campaign["available_vouchers"] == [{"vendor": "ACME", "amount": "10.00", "currency": "USD", "available": 4}]


def test_an_ended_campaign_is_still_readable_with_its_status_from_the_dates(setup, api):
    now = timezone.now()
    Campaign._base_manager.filter(pk=setup.campaign.pk).update(
        starts_at=now - timedelta(days=9), ends_at=now - timedelta(days=2)
    )
    campaign = api.get("/campaign", key=setup.live_key).json()["campaign"]
    assert (campaign["status"], campaign["is_active"]) == ("completed", False)


def test_a_revoked_key_cannot_read_the_campaign(setup, api):
    with scopes_disabled():
        revoke_integration(setup.live)
    response = api.get("/campaign", key=setup.live_key)
    assert response.status_code == 403 and response.json()["error"]["code"] == "integration_revoked"
    assert Interaction._base_manager.get().error_code == "integration_revoked"


def test_no_key_cannot_read_any_campaign(setup, api):
    response = api.get("/campaign")
    assert response.status_code == 401 and response.json()["error"]["code"] == "unauthorized"
    assert not Interaction._base_manager.exists()
