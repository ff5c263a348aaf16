"""``manage.py create_integration`` (design §3): same service as the pages, key alone on the last line."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from api.keys import integration_for_key as find_integration_by_key
from campaigns.models import CampaignStatus, Integration
from campaigns.services.integrations import create_integration

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("unscoped")]


def run(*args, **options) -> list[str]:
    out = StringIO()
    call_command("create_integration", *args, stdout=out, **options)
    return out.getvalue().splitlines()


@pytest.fixture
def campaign(make_campaign, make_vault, organization, admin_user):
    campaign = make_campaign(organization, admin_user, external_id="spring-2030")
    campaign.vaults.add(make_vault(organization))
    return campaign


def test_prints_a_description_then_the_key_alone_on_the_last_line(campaign):
    lines = run("spring-2030", "--name", "Shop", "--status", "live")

    assert len(lines) >= 2
    key = lines[-1]
    assert key == key.strip() and " " not in key
    integration = find_integration_by_key(key)
    assert integration is not None
    assert (integration.campaign, integration.name, integration.status) == (campaign, "Shop", "live")
    description = "\n".join(lines[:-1])
    assert "Shop" in description and "spring-2030" in description
    assert key not in description  # printed once
    assert integration.key_prefix in key and integration.key_hash not in "\n".join(lines)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.LIVE  # same service, same recomputation as the pages


def test_test_status_and_options_as_keywords(campaign):
    lines = run("spring-2030", name="Sandbox", status="test")
    integration = find_integration_by_key(lines[-1])
    assert (integration.name, integration.status) == ("Sandbox", "test")
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.PENDING


def test_organization_picks_among_campaigns_sharing_an_external_id(
    campaign, make_organization, make_member, make_campaign
):
    other_org = make_organization("Globex")
    other = make_campaign(other_org, make_member(other_org), external_id="spring-2030")

    with pytest.raises(CommandError, match="--organization"):
        run("spring-2030", name="Shop", status="live")
    assert not Integration._base_manager.exists()

    key = run("spring-2030", name="Shop", status="live", organization=other_org.slug)[-1]
    assert find_integration_by_key(key).campaign == other
    key = run("spring-2030", name="Shop", status="test", organization=campaign.organization.slug)[-1]
    assert find_integration_by_key(key).campaign == campaign


def test_unknown_campaign(campaign):
    with pytest.raises(CommandError, match="No campaign has the external id 'nope'"):
        run("nope", name="Shop", status="live")
    with pytest.raises(CommandError, match="No campaign"):
        run("spring-2030", name="Shop", status="live", organization="no-such-org")
    assert not Integration._base_manager.exists()


def test_taken_name(campaign):
    create_integration(campaign, name="Shop")
    with pytest.raises(CommandError, match="already has an integration of that name"):
        run("spring-2030", name="SHOP", status="live")
    assert Integration._base_manager.filter(campaign=campaign).count() == 1


@pytest.mark.parametrize("status", ["revoked", "LIVE", "prod", ""])
def test_bad_status(campaign, status):
    with pytest.raises(CommandError, match="status"):
        run("spring-2030", name="Shop", status=status)
    assert not Integration._base_manager.exists()


def test_status_and_name_are_required(campaign):
    with pytest.raises(CommandError, match="--status"):
        run("spring-2030", name="Shop")
    with pytest.raises(CommandError, match="--name"):
        run("spring-2030", status="test")
    with pytest.raises(CommandError, match="--name"):
        run("spring-2030", name="   ", status="test")
    with pytest.raises(CommandError, match="at most 100"):
        run("spring-2030", name="x" * 101, status="test")
    assert not Integration._base_manager.exists()


def test_works_for_a_campaign_that_has_not_started(make_campaign, organization, admin_user):
    campaign = make_campaign(organization, admin_user, starts_at=timezone.now() + timedelta(days=3))
    key = run(campaign.external_id, name="Early", status="live")[-1]
    assert find_integration_by_key(key).campaign == campaign
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.PENDING
