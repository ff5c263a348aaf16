"""Fixtures for the JSON API: a live campaign with a vault, its keys, and a caller."""

import json
import threading
import time
from dataclasses import dataclass

import pytest
from django.core.cache import cache
from django.db import connections
from django.test import Client

from campaigns.models import Campaign, Integration
from campaigns.services.integrations import create_integration
from core.scoping import scopes_disabled
from incentives.models import Vault
from incentives.services import awards


@pytest.fixture(autouse=True)
def _fresh_process_state():
    """Rate-limit counters live in the shared cache, award frontiers in the process: every test starts afresh."""
    cache.clear()
    awards._frontier.clear()
    yield
    cache.clear()
    awards._frontier.clear()


@dataclass
class Setup:
    campaign: Campaign
    vault: Vault
    test_vault: Vault
    live_key: str
    test_key: str

    @property
    def live(self) -> Integration:
        return self.integration(self.live_key)

    def integration(self, key: str) -> Integration:
        from api.keys import integration_for_key as find_integration_by_key

        return find_integration_by_key(key)


@pytest.fixture
def setup(organization, admin_user, make_campaign, make_vault) -> Setup:
    """A live campaign: 5 live and 5 test ACME 10.00 USD vouchers in two linked vaults, a live and a test key."""
    campaign = make_campaign(organization, admin_user, name="Spring promo", external_id="spring-2026")
    vault = make_vault(organization, vouchers=5, name="Live vault")
    test_vault = make_vault(organization, vouchers=5, is_test=True, name="Test vault")
    with scopes_disabled():
        campaign.vaults.add(vault, test_vault)
        live_key = create_integration(campaign, name="Shop", status=Integration.Status.LIVE).key
        test_key = create_integration(campaign, name="Shop (test)", status=Integration.Status.TEST).key
        campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.LIVE
    return Setup(campaign, vault, test_vault, live_key, test_key)


class ApiCaller:
    """Calls the API as another application would: JSON bodies, a bearer key."""

    def __init__(self, client: Client | None = None):
        self.client = client or Client()

    def post(self, path: str, body, *, key: str | None = None, raw: bool = False, **headers):
        data = body if raw else json.dumps(body)
        return self.client.post(
            "/api/v1" + path, data=data, content_type="application/json", headers=self._headers(key, headers)
        )

    def get(self, path: str, *, key: str | None = None, **headers):
        return self.client.get("/api/v1" + path, headers=self._headers(key, headers))

    @staticmethod
    def _headers(key, headers):
        if key is not None:
            headers.setdefault("Authorization", f"Bearer {key}")
        return headers


@pytest.fixture
def api() -> ApiCaller:
    return ApiCaller()


def wait_for_a_fresh_minute(margin: float = 5.0) -> None:
    """The rate limit counts per calendar minute: start a phase that counts with the minute far from its end."""
    left = 60 - time.time() % 60
    if left < margin:
        time.sleep(left + 0.05)


def award_body(**overrides):
    body = {"vendor": "ACME", "amount": "10.00", "currency": "USD", "redeemer": {"email": "ann@example.com"}}
    body.update(overrides)
    return body


def run_concurrently(path: str, calls: list[dict], key: str, threads: int = 16) -> list[tuple[int, dict]]:
    """POST the bodies to ``path`` from ``threads`` clients at once (all start together), each client with its own
    database connection; the answers in the order of the bodies."""
    answers: list[tuple[int, dict] | None] = [None] * len(calls)
    next_call = iter(range(len(calls)))
    lock = threading.Lock()
    start = threading.Barrier(threads)
    failures: list[BaseException] = []

    def worker():
        caller = ApiCaller(Client())
        try:
            start.wait()
            while True:
                with lock:
                    index = next(next_call, None)
                if index is None:
                    return
                response = caller.post(path, calls[index], key=key)
                answers[index] = (response.status_code, response.json())
        except BaseException as error:  # surfaced by the test, not lost in the thread
            failures.append(error)
        finally:
            connections.close_all()

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(timeout=120)
    assert not failures, failures
    assert all(answer is not None for answer in answers)
    return answers


# --- engagement (design §12) ------------------------------------------------------------------------------------

VOUCHER_REWARD = {"reward_vendor": "ACME", "reward_amount": "10.00", "reward_currency": "USD"}


@pytest.fixture
def engage(setup):
    """Engagement on the API's live campaign: ``settings`` and ``behaviors`` (dicts of ``add_behavior``'s fields;
    by default a purchase goal of 2 giving an ACME voucher and a visit goal of 1 giving nothing)."""
    from engagement.services.setup import add_behavior, configure_engagement

    def make(settings: dict | None = None, behaviors: list[dict] | None = None) -> Setup:
        if behaviors is None:
            behaviors = [{"name": "Purchase", "event_name": "purchase", "goal": 2, **VOUCHER_REWARD},
                         {"name": "Visit", "event_name": "visit", "goal": 1}]
        with scopes_disabled():
            if settings:
                configure_engagement(setup.campaign, **settings)
            for fields in behaviors:
                add_behavior(setup.campaign, **fields)
        return setup

    return make


def event_body(external_id: str = "cust-1", event_name: str = "purchase", reference: str = "ev-1", **fields):
    return {"customer": {"external_id": external_id, **fields.pop("customer", {})}, "event_name": event_name,
            "reference": reference, **fields}
