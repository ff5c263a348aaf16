"""The API held to its own OpenAPI document from outside: the schemathesis CLI, every check and the four phases
(examples, coverage, fuzzing, stateful), against the app served on a port, over a campaign whose vault, pools and
codes are real, so that no operation is left answering 404 and the document's links lead somewhere."""

import json
import os
import subprocess
import sys
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from campaigns.models import Integration
from core.scoping import scopes_disabled
from incentives.models import IncentiveCode, IncentivePool, Voucher

# About 90 s on the 2-core machine. For a longer hunt: SCHEMATHESIS_MAX_EXAMPLES=200, another SCHEMATHESIS_SEED,
# SCHEMATHESIS_ARGS="--continue-on-failure".
MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "25"))
SEED = int(os.environ.get("SCHEMATHESIS_SEED", "16"))
EXTRA_ARGS = os.environ.get("SCHEMATHESIS_ARGS", "").split()


def _toml(value) -> str:
    return json.dumps(value)  # JSON strings, numbers and arrays are TOML too


def schemathesis_config(*, key: str, pool_ids: list[int], codes: list[str], customers: list[str],
                        event_names: list[str], times: list[str]) -> str:
    """Real pools, codes and customers for the path parameters most of the time (else schemathesis' own, mostly
    404), a vendor the vaults hold for most awards, the campaign's event names and times near now for most events,
    and the schema-valid refusals no document can rule out: a vendor that no linked vault holds (422
    unknown_vendor), an event name no behaviour has (422 unknown_event), the campaign's own refusals of an opt-in,
    claim or delete (409), and an event's time more than 24 hours from now (400) depend on the campaign and the
    clock, not on the request's form."""
    return f"""
headers = {{ Authorization = {_toml("Bearer " + key)} }}

[dictionaries]
pools = {{ values = {_toml(pool_ids)} }}
codes = {{ values = {_toml(codes)} }}
vendors = {{ values = ["ACME"] }}
amounts = {{ values = ["10.00"] }}
currencies = {{ values = ["USD"] }}
customers = {{ values = {_toml(customers)} }}
event_names = {{ values = {_toml(event_names)} }}
times = {{ values = {_toml(times)} }}

[parameters]
"path.pool_id" = {{ dictionary = "pools", probability = 0.9 }}
"path.code" = {{ dictionary = "codes", probability = 0.9 }}
"body.vendor" = {{ dictionary = "vendors", probability = 0.7 }}
"body.amount" = {{ dictionary = "amounts", probability = 0.7 }}
"body.currency" = {{ dictionary = "currencies", probability = 0.7 }}
"path.external_id" = {{ dictionary = "customers", probability = 0.9 }}
"body.customer.external_id" = {{ dictionary = "customers", probability = 0.8 }}
"body.event_name" = {{ dictionary = "event_names", probability = 0.8 }}
"body.occurred_at" = {{ dictionary = "times", probability = 0.9 }}

[[operations]]
include-operation-id = "createAward"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422", "429"]

[[operations]]
include-operation-id = "createEvent"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "409", "422", "429"]

[[operations]]
include-operation-id = ["optIn", "claimReward", "deleteInstance"]
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "429"]
"""


@pytest.fixture
def fuzzed_campaign(setup, make_vault, make_pool):
    """The API fixtures' live campaign, with what every operation needs to answer something else than 404: 200 ACME
    vouchers (some with a PIN and an expiry), a unique pool (codes issued, not issued, inactive) and a multi pool,
    both linked; the live key has no rate limit, so the fuzzing is never answered 429."""
    organization = setup.campaign.organization
    vault = make_vault(organization, name="Fuzzed vault")
    unique = make_pool(organization, codes=300, prefix="U", name="Fuzzed unique pool")
    multi = make_pool(organization, codes=20, prefix="M", name="Fuzzed multi pool",
                      distribution=IncentivePool.Distribution.MULTI)
    in_a_year = timezone.now() + timedelta(days=365)
    with scopes_disabled():
        Voucher.objects.bulk_create(
            Voucher(vault=vault, vendor="ACME", amount=Decimal("10.00"), currency="USD", code=f"F-{n}",
                    pin=f"{n:04}" if n % 2 else "", expires_at=in_a_year if n % 3 else None)
            for n in range(200)
        )
        setup.campaign.vaults.add(vault)
        setup.campaign.pools.add(unique, multi)
        unique_codes = list(IncentiveCode.objects.filter(pool=unique).order_by("pk").values_list("code", flat=True))
        IncentiveCode.objects.filter(code__in=unique_codes[:40]).update(issued_count=1, issued_unique=1)
        IncentiveCode.objects.filter(code__in=unique_codes[40:45]).update(active=False)
        multi_codes = list(IncentiveCode.objects.filter(pool=multi).values_list("code", flat=True))
        Integration.objects.filter(campaign=setup.campaign).update(rate_limit_per_minute=None)
    return {
        "pool_ids": [unique.pk, multi.pk],
        "codes": unique_codes[:50] + multi_codes[:5],
        **engaged_customers(setup),
    }


def engaged_customers(setup) -> dict[str, list[str]]:
    """Engagement on the campaign (an opt-in window and limit, two behaviours each giving an ACME voucher) and
    customers part-way: opted in, one event from a goal, every goal met (claimed), opted out, never opted in."""
    from engagement.services.setup import add_behavior, configure_engagement

    from .conftest import VOUCHER_REWARD, ApiCaller, event_body

    now = timezone.now()
    with scopes_disabled():
        configure_engagement(setup.campaign, optin_required=True, opt_in_starts_at=now - timedelta(days=1),
                             opt_in_ends_at=now + timedelta(days=1), opt_in_limit=1000)
        add_behavior(setup.campaign, name="Purchase", event_name="purchase", goal=2, **VOUCHER_REWARD)
        add_behavior(setup.campaign, name="Visit", event_name="visit", goal=1, max_times_repeatable=None,
                     **VOUCHER_REWARD)
    api, key = ApiCaller(), setup.live_key
    customers = [f"cust-{n}" for n in range(8)]
    for n, customer in enumerate(customers[:6]):
        assert api.post(f"/customers/{customer}/opt_in", {"customer": {"tags": ["vip"]}}, key=key).status_code == 201
        for step in range(n % 3):
            api.post("/events", event_body(customer, "purchase", reference=f"seed-{n}-{step}"), key=key)
    api.post("/customers/cust-6/opt_out", {}, key=key)
    return {"customers": customers, "event_names": ["purchase", "visit"],
            "times": [(now - timedelta(minutes=minutes)).isoformat() for minutes in (0, 5, 60)]}


@pytest.mark.django_db(transaction=True)  # the served app reads what the test committed
def test_schemathesis_from_outside_finds_no_answer_the_document_does_not_promise(
    live_server, setup, fuzzed_campaign, tmp_path
):
    config = tmp_path / "schemathesis.toml"
    config.write_text(schemathesis_config(key=setup.live_key, **fuzzed_campaign))
    command = [
        str(Path(sys.executable).with_name("schemathesis")), "--config-file", str(config),
        "run", f"{live_server.url}/api/v1/openapi.json",
        "--checks", "all",
        "--phases", "examples,coverage,fuzzing,stateful",
        "--max-examples", str(MAX_EXAMPLES),
        "--seed", str(SEED),
        "--generation-database", "none",
        "--no-color",
        *EXTRA_ARGS,
    ]
    result = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=600)
    print(result.stdout, result.stderr)  # the run's summary (pytest shows it on failure, or with -s)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
