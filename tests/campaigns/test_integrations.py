"""Integration keys (design §3): shown once, stored as a prefix plus a SHA-256 hash, rotated, revoked."""

import hashlib
import re

import pytest
from django.db import connection
from django.utils import timezone

from api.keys import integration_for_key as find_integration_by_key
from campaigns.models import Integration
from campaigns.services.integrations import (
    KEY_PREFIX_LENGTH,
    IntegrationNameTaken,
    create_integration,
    revoke_integration,
    rotate_integration_key,
    set_integration_status,
)
from core.errors import DomainError

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("unscoped")]


@pytest.fixture
def campaign(make_campaign, organization, admin_user):
    return make_campaign(organization, admin_user)


def raw_row(integration: Integration) -> dict:
    """The integration's row exactly as stored, every column."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {Integration._meta.db_table} WHERE id = %s", [integration.pk])
        names = [column.name for column in cursor.description]
        return dict(zip(names, cursor.fetchone(), strict=True))


def test_create_returns_the_key_once_and_stores_only_a_prefix_and_a_hash(campaign, admin_user):
    issued = create_integration(campaign, name="Shop", status="live", created_by=admin_user)
    key, integration = issued.key, issued.integration

    assert re.fullmatch(r"vk_[A-Za-z0-9_-]{40,}", key)
    assert integration.key_prefix == key[:KEY_PREFIX_LENGTH]
    assert integration.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert integration.masked_key == f"{key[:KEY_PREFIX_LENGTH]}…"
    assert (integration.status, integration.created_by, integration.campaign) == ("live", admin_user, campaign)

    row = raw_row(integration)
    assert row["key_prefix"] == key[:KEY_PREFIX_LENGTH]
    assert row["key_hash"] == hashlib.sha256(key.encode()).hexdigest()
    secret_part = key[KEY_PREFIX_LENGTH:]
    for column, value in row.items():
        assert key not in str(value), column
        assert secret_part not in str(value), column  # not even the part after the prefix
    # Nor can it be read back from the model afterwards.
    reloaded = Integration._base_manager.get(pk=integration.pk)
    assert not any(key in str(value) for value in vars(reloaded).values())
    assert not hasattr(reloaded, "key")


def test_two_integrations_get_different_keys(campaign):
    first = create_integration(campaign, name="One")
    second = create_integration(campaign, name="Two")
    assert first.key != second.key
    assert first.integration.key_hash != second.integration.key_hash
    assert first.integration.status == second.integration.status == "test"  # the default


def test_find_integration_by_key(campaign, django_assert_num_queries):
    issued = create_integration(campaign, name="Shop", status="live")

    with django_assert_num_queries(1):
        found = find_integration_by_key(issued.key)
        # The campaign and its organization come with it (the API needs both for every call).
        assert found.campaign.organization == campaign.organization
    assert found.pk == issued.integration.pk


def test_rotate_stops_the_old_key_and_starts_the_new_one(campaign):
    issued = create_integration(campaign, name="Shop", status="live")
    before = timezone.now()

    rotated = rotate_integration_key(issued.integration)

    assert rotated.key != issued.key
    assert find_integration_by_key(issued.key) is None
    found = find_integration_by_key(rotated.key)
    assert found.pk == issued.integration.pk
    assert found.status == "live"  # rotation does not change the status
    assert found.key_prefix == rotated.key[:KEY_PREFIX_LENGTH]
    assert found.key_hash == hashlib.sha256(rotated.key.encode()).hexdigest()
    assert found.key_rotated_at >= before
    assert all(rotated.key not in str(value) for value in raw_row(found).values())


def test_revoked_key_is_found_but_revoked(campaign):
    issued = create_integration(campaign, name="Shop", status="live")
    before = timezone.now()

    revoke_integration(issued.integration)

    found = find_integration_by_key(issued.key)  # found, so the API can answer integration_revoked
    assert found is not None
    assert found.pk == issued.integration.pk
    assert found.status == Integration.Status.REVOKED
    assert found.revoked_at >= before


def test_revoked_cannot_be_rotated_or_unrevoked(campaign):
    issued = create_integration(campaign, name="Shop", status="live")
    integration = revoke_integration(issued.integration)

    with pytest.raises(DomainError) as rotating:
        rotate_integration_key(integration)
    assert rotating.value.code == "integration_revoked"
    for status in ("live", "test", "revoked"):
        with pytest.raises(DomainError) as changing:
            set_integration_status(integration, status)
        assert changing.value.code == "integration_revoked"

    stored = Integration._base_manager.get(pk=integration.pk)
    assert stored.status == "revoked"
    assert stored.key_hash == hashlib.sha256(issued.key.encode()).hexdigest()  # the key was not replaced
    assert find_integration_by_key(issued.key).status == "revoked"


@pytest.mark.parametrize(
    "make_garbage",
    [
        lambda key: "",
        lambda key: None,
        lambda key: "vk_",
        lambda key: "garbage",
        lambda key: "Bearer " + key,
        lambda key: key[:KEY_PREFIX_LENGTH],  # the visible prefix alone
        lambda key: key + "x",
        lambda key: key[:-1],
        lambda key: key.upper(),
        lambda key: hashlib.sha256(key.encode()).hexdigest(),  # the stored hash is not a key
        lambda key: "vk_" + "A" * 43,
    ],
    ids=[
        "empty", "none", "scheme-only", "garbage", "bearer", "prefix", "longer", "shorter", "upper", "hash", "unknown"
    ],
)
def test_unknown_or_garbage_keys_find_nothing(campaign, make_garbage):
    issued = create_integration(campaign, name="Shop", status="live")
    assert find_integration_by_key(issued.key) is not None
    assert find_integration_by_key(make_garbage(issued.key)) is None


def test_last_used_at_exists_and_touching_it_is_cheap(campaign, django_assert_num_queries):
    integration = create_integration(campaign, name="Shop", status="live").integration
    assert integration.last_used_at is None

    integration.last_used_at = timezone.now()
    with django_assert_num_queries(1):  # the UPDATE alone: recording use does not recompute the campaign
        integration.save(update_fields=["last_used_at"])
    assert Integration._base_manager.get(pk=integration.pk).last_used_at == integration.last_used_at


def test_a_new_integration_is_test_or_live(campaign):
    with pytest.raises(DomainError) as error:
        create_integration(campaign, name="Shop", status="revoked")
    assert "status" in error.value.fields
    assert not Integration._base_manager.filter(campaign=campaign).exists()


def test_names_are_unique_in_a_campaign_case_insensitively(campaign, make_campaign, organization, admin_user):
    create_integration(campaign, name="Shop")
    with pytest.raises(IntegrationNameTaken):
        create_integration(campaign, name="SHOP")
    other = make_campaign(organization, admin_user)
    assert create_integration(other, name="shop").integration.campaign == other  # fine in another campaign
    assert Integration._base_manager.filter(name__iexact="shop").count() == 2


def test_integration_edit_page_switches_test_and_live_and_moves_the_campaign(client, organization, admin_user,
                                                                          make_campaign, make_vault):
    from django.urls import reverse

    from campaigns.services.integrations import create_integration
    from core.scoping import scopes_disabled

    campaign = make_campaign(organization, admin_user)
    with scopes_disabled():
        campaign.vaults.add(make_vault(organization, vouchers=1))
        integration = create_integration(campaign, name="shop").integration
    client.force_login(admin_user)
    url = reverse("campaigns:integration-edit", args=[integration.pk])
    response = client.post(url, {"name": "shop", "status": "live", "rate_limit_per_minute": 50})
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.status == "live"
    response = client.post(url, {"name": "shop", "status": "revoked", "rate_limit_per_minute": 50})
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()


# --- the edit page writes only what it changed ------------------------------------------------------


def _edit_racing(monkeypatch, client, integration, race, data):
    """Post the edit form while ``race`` lands just after the page loaded the integration."""
    from django.urls import reverse

    import campaigns.views

    loaded = campaigns.views.get_object_or_404

    def load_then_race(*args, **kwargs):
        found = loaded(*args, **kwargs)
        race(Integration._base_manager.get(pk=found.pk))  # another request, with its own copy
        return found

    monkeypatch.setattr(campaigns.views, "get_object_or_404", load_then_race)
    return client.post(reverse("campaigns:integration-edit", args=[integration.pk]), data)


def test_an_edit_keeps_a_key_rotated_while_it_was_open(monkeypatch, client, campaign, admin_user):
    integration = create_integration(campaign, name="Shop", status="test").integration
    rotated = []
    client.force_login(admin_user)

    response = _edit_racing(monkeypatch, client, integration, lambda i: rotated.append(rotate_integration_key(i)),
                            {"name": "Shop 2", "status": "test", "rate_limit_per_minute": 50})

    assert response.status_code == 302
    row = raw_row(integration)
    assert row["key_hash"] == rotated[0].integration.key_hash != integration.key_hash
    assert row["key_prefix"] == rotated[0].key[:KEY_PREFIX_LENGTH]
    assert row["key_rotated_at"] is not None
    assert (row["name"], row["rate_limit_per_minute"]) == ("Shop 2", 50)
    assert find_integration_by_key(rotated[0].key).pk == integration.pk


def test_an_edit_keeps_a_revoke_that_landed_just_before_its_write(client, campaign, admin_user):
    from django.urls import reverse

    integration = create_integration(campaign, name="Shop", status="test").integration
    client.force_login(admin_user)
    raced = []

    def revoke_before_the_first_write(execute, sql, params, many, context):
        # After any check the page makes, right before its UPDATE reaches the row.
        if not raced and sql.startswith(f'UPDATE "{Integration._meta.db_table}"'):
            raced.append(True)
            revoke_integration(Integration._base_manager.get(pk=integration.pk))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(revoke_before_the_first_write):
        response = client.post(reverse("campaigns:integration-edit", args=[integration.pk]),
                               {"name": "Shop 2", "status": "live", "rate_limit_per_minute": 50})

    assert raced and response.status_code == 302
    row = raw_row(integration)
    assert (row["status"], row["name"], row["rate_limit_per_minute"]) == ("revoked", "Shop", 1000)
    assert row["revoked_at"] is not None


def test_update_integration_writes_only_the_fields_given(campaign, make_vault, organization):
    from campaigns.services.integrations import update_integration
    from core.scoping import scopes_disabled

    with scopes_disabled():
        campaign.vaults.add(make_vault(organization, vouchers=1))
    integration = create_integration(campaign, name="Shop", status="test").integration
    create_integration(campaign, name="Other")
    stale = Integration._base_manager.get(pk=integration.pk)
    rotated = rotate_integration_key(integration)

    update_integration(stale, status="live")  # a stale copy: its old key columns are not written back
    row = raw_row(integration)
    assert (row["status"], row["name"], row["key_hash"]) == ("live", "Shop", rotated.integration.key_hash)
    campaign.refresh_from_db()
    assert campaign.status == "live"  # recomputed although update() sends no post_save

    with pytest.raises(IntegrationNameTaken):
        update_integration(stale, name=" OTHER ")
    with pytest.raises(DomainError):
        update_integration(stale, status="revoked")  # revoking is its own action
    assert update_integration(stale, name="shop") is stale  # its own name in another case is fine
    assert raw_row(integration)["name"] == "shop"

    revoke_integration(Integration._base_manager.get(pk=integration.pk))
    with pytest.raises(DomainError) as refused:
        update_integration(stale, status="test", rate_limit_per_minute=5)  # stale: still says live
    assert refused.value.code == "integration_revoked"
    row = raw_row(integration)
    assert (row["status"], row["rate_limit_per_minute"]) == ("revoked", 1000)


# --- a new key is in one answer only, never in the session table ------------------------------------


def _sessions_holding(key: str) -> list[dict]:
    from django.contrib.sessions.models import Session

    return [data for data in (s.get_decoded() for s in Session.objects.all()) if key in str(data)]


def test_a_created_or_rotated_key_is_shown_by_its_post_and_never_stored_in_the_session(client, campaign,
                                                                                      admin_user):
    from django.urls import reverse

    client.force_login(admin_user)
    response = client.post(reverse("campaigns:integration-create", args=[campaign.pk]),
                           {"name": "Shop", "status": "test", "rate_limit_per_minute": 60})
    assert response.status_code == 200
    key = re.search(r'data-testid="new-key">(vk_[A-Za-z0-9_-]+)<', response.content.decode()).group(1)
    integration = find_integration_by_key(key)
    assert integration.name == "Shop"
    assert "no-store" in response["Cache-Control"]
    assert _sessions_holding(key) == []
    detail = client.get(integration.get_absolute_url())
    assert detail.status_code == 200 and key not in detail.content.decode()
    assert 'data-testid="new-key"' not in detail.content.decode()

    response = client.post(reverse("campaigns:integration-rotate", args=[integration.pk]))
    assert response.status_code == 200
    new_key = re.search(r'data-testid="new-key">(vk_[A-Za-z0-9_-]+)<', response.content.decode()).group(1)
    assert new_key != key and find_integration_by_key(new_key).pk == integration.pk
    assert find_integration_by_key(key) is None
    assert _sessions_holding(new_key) == []
    assert new_key not in client.get(integration.get_absolute_url()).content.decode()
