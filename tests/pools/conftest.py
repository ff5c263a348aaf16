"""Fixtures for incentive pools: a live campaign with a linked unique and multi pool, its key, and a caller."""

from dataclasses import dataclass

import pytest
from django.core.cache import cache

from campaigns.models import Campaign, Integration
from campaigns.services.integrations import create_integration
from core.scoping import scopes_disabled
from incentives.models import IncentiveCode, IncentivePool
from tests.api.conftest import ApiCaller


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api() -> ApiCaller:
    return ApiCaller()


@dataclass
class PoolSetup:
    campaign: Campaign
    unique: IncentivePool
    multi: IncentivePool
    key: str
    integration_name: str = "Shop"


@pytest.fixture
def pools(organization, admin_user, make_campaign, make_pool, make_vault) -> PoolSetup:
    """A live campaign, a unique pool of 5 codes and a multi pool of one code (MULTI-1), both linked; a live key."""
    campaign = make_campaign(organization, admin_user, name="Spring promo", external_id="spring-2026")
    unique = make_pool(organization, codes=5, name="Store coupons")
    multi = make_pool(organization, name="Shared code", distribution=IncentivePool.Distribution.MULTI)
    with scopes_disabled():
        IncentiveCode.objects.create(pool=multi, organization=organization, code="MULTI-1")
        campaign.pools.add(unique, multi)
        campaign.vaults.add(make_vault(organization))  # a campaign goes live with a vault
        key = create_integration(campaign, name="Shop", status=Integration.Status.LIVE).key
        campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.LIVE
    return PoolSetup(campaign, unique, multi, key)
