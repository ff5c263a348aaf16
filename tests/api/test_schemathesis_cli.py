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


def schemathesis_config(*, key: str, pool_ids: list[int], codes: list[str]) -> str:
    """Real pools and codes for the path parameters most of the time (else schemathesis' own, mostly 404), a
    vendor the vaults hold for most awards, and the one schema-valid refusal no document can rule out: a vendor
    that no linked vault holds (422 unknown_vendor) depends on the campaign, not on the request's form."""
    return f"""
headers = {{ Authorization = {_toml("Bearer " + key)} }}

[dictionaries]
pools = {{ values = {_toml(pool_ids)} }}
codes = {{ values = {_toml(codes)} }}
vendors = {{ values = ["ACME"] }}
amounts = {{ values = ["10.00"] }}
currencies = {{ values = ["USD"] }}

[parameters]
"path.pool_id" = {{ dictionary = "pools", probability = 0.9 }}
"path.code" = {{ dictionary = "codes", probability = 0.9 }}
"body.vendor" = {{ dictionary = "vendors", probability = 0.7 }}
"body.amount" = {{ dictionary = "amounts", probability = 0.7 }}
"body.currency" = {{ dictionary = "currencies", probability = 0.7 }}

[[operations]]
include-operation-id = "createAward"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422", "429"]
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
    }


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
