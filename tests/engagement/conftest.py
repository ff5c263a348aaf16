"""Fixtures for engagement: a live campaign with a vault (and a pool), its keys, behaviours, and callers of the
services as the API will call them (one interaction draft per call)."""

import threading
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone

from campaigns.models import Campaign, Integration
from campaigns.services.integrations import create_integration
from core.scoping import scopes_disabled
from engagement.models import Behavior, Participation
from engagement.services.customers import CustomerIn
from engagement.services.events import record_event
from engagement.services.participations import claim, delete_instance, opt_in, opt_out
from engagement.services.setup import add_behavior, configure_engagement
from incentives.models import IncentivePool, Vault
from incentives.services import awards
from interactions.models import Interaction
from interactions.services.log import InteractionDraft


@pytest.fixture(autouse=True)
def _fresh_frontiers():
    awards._frontier.clear()
    yield
    awards._frontier.clear()


def integration_of(pk: int) -> Integration:
    """The integration as the API loads it: with its campaign and organization."""
    return Integration._base_manager.select_related("campaign__organization").get(pk=pk)


def draft(integration: Integration, kind: str, success_status: int = 201) -> InteractionDraft:
    return InteractionDraft(integration=integration, kind=kind, success_status=success_status)


@dataclass
class Engaged:
    campaign: Campaign
    vault: Vault
    pool: IncentivePool
    live_id: int
    test_id: int
    counter: iter = field(default_factory=lambda: iter(range(1, 10**9)))

    @property
    def live(self) -> Integration:
        return integration_of(self.live_id)

    @property
    def test(self) -> Integration:
        return integration_of(self.test_id)

    def reference(self) -> str:
        return f"ref-{next(self.counter)}"

    def event(self, external_id: str, event_name: str, *, reference: str | None = None, occurred_at=None, tags=(),
              now=None, dry_run=False, integration: Integration | None = None, **customer):
        integration = integration or self.live
        return record_event(
            integration, customer=CustomerIn(external_id, tags=tuple(tags), **customer), event_name=event_name,
            occurred_at=occurred_at, reference=self.reference() if reference is None else reference,
            draft=draft(integration, "event"),
            dry_run=dry_run, now=now,
        )

    def opt_in(self, external_id: str, *, tags=(), now=None, reference=None, integration=None):
        integration = integration or self.live
        return opt_in(integration, customer=CustomerIn(external_id, tags=tuple(tags)),
                      draft=draft(integration, "opt_in"), reference=reference, now=now)

    def opt_out(self, external_id: str, *, now=None, integration=None):
        integration = integration or self.live
        return opt_out(integration, customer=CustomerIn(external_id), draft=draft(integration, "opt_out", 200),
                       now=now)

    def claim(self, external_id: str, *, now=None, integration=None):
        integration = integration or self.live
        return claim(integration, external_id=external_id, draft=draft(integration, "claim"), now=now)

    def delete(self, external_id: str, *, now=None, integration=None):
        integration = integration or self.live
        return delete_instance(integration, external_id=external_id, draft=draft(integration, "deletion", 200),
                               now=now)

    def participation(self, external_id: str, is_test: bool = False) -> Participation | None:
        return Participation._base_manager.filter(campaign=self.campaign, customer__external_id=external_id,
                                                  is_test=is_test).first()

    def interactions(self):
        return Interaction._base_manager.filter(campaign=self.campaign)


@pytest.fixture
def engaged(db, organization, admin_user, make_campaign, make_vault, make_pool):
    """A live campaign (started 10 days ago, ends in 10) with a vault of ``vouchers`` ACME 10.00 USD, a pool of
    ``codes``, a live and a test key, its engagement ``settings`` and ``behaviors``."""

    def make(*, vouchers: int = 5, codes: int = 5, settings: dict | None = None, behaviors=(), **campaign_fields):
        now = timezone.now()
        campaign_fields.setdefault("starts_at", now - timedelta(days=10))
        campaign_fields.setdefault("ends_at", now + timedelta(days=10))
        campaign = make_campaign(organization, admin_user, **campaign_fields)
        vault = make_vault(organization, vouchers=vouchers)
        make_vault_test = make_vault(organization, vouchers=vouchers, is_test=True)
        pool = make_pool(organization, codes=codes)
        with scopes_disabled():
            campaign.vaults.add(vault, make_vault_test)
            campaign.pools.add(pool)
            live = create_integration(campaign, name="Shop", status=Integration.Status.LIVE).integration
            test = create_integration(campaign, name="Shop (test)", status=Integration.Status.TEST).integration
            campaign.refresh_from_db()
            if settings:
                configure_engagement(campaign, **settings)
            for spec in behaviors:
                add_behavior(campaign, **spec)
        return Engaged(campaign, vault, pool, live.pk, test.pk)

    return make


VOUCHER = {"reward_vendor": "ACME", "reward_amount": "10.00", "reward_currency": "USD"}


def behavior(event_name: str = "purchase", goal: int = 1, **fields) -> dict:
    return {"name": event_name.title(), "event_name": event_name, "goal": goal, **fields}


def behaviors_of(campaign) -> dict[str, Behavior]:
    return {b.event_name: b for b in Behavior._base_manager.filter(campaign=campaign)}


def run_concurrently(calls, threads: int) -> list:
    """Run the callables from ``threads`` threads at once (all start together), each thread with its own
    database connection; their results (or the exceptions they raised) in the order of the calls."""
    results: list = [None] * len(calls)
    next_call = iter(range(len(calls)))
    lock = threading.Lock()
    start = threading.Barrier(threads)
    failures: list[BaseException] = []

    def worker():
        try:
            start.wait()
            while True:
                with lock:
                    index = next(next_call, None)
                if index is None:
                    return
                try:
                    results[index] = calls[index]()
                except Exception as error:  # a domain error is an answer, kept for the test
                    results[index] = error
        except BaseException as error:
            failures.append(error)
        finally:
            connections.close_all()

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(timeout=300)
    assert not failures, failures
    return results
