"""Awards under concurrent callers (design §8): no voucher twice, none lost, references and caps race-free.

Each thread is one client with its own database connection, as gunicorn workers are.
"""

from collections import Counter

import pytest

from campaigns.models import Campaign, Integration
from campaigns.services.integrations import create_integration
from core.scoping import scopes_disabled
from incentives.models import Voucher
from interactions.models import Interaction

from .conftest import award_body, run_concurrently

THREADS = 16


@pytest.fixture
def live_campaign(transactional_db, organization, admin_user, make_campaign, make_vault):
    def make(vouchers: int, **fields) -> tuple[Campaign, str]:
        campaign = make_campaign(organization, admin_user, **fields)
        vault = make_vault(organization, vouchers=vouchers)
        with scopes_disabled():
            campaign.vaults.add(vault)
            key = create_integration(campaign, name="Shop", status=Integration.Status.LIVE).key
        return campaign, key

    return make


def test_500_concurrent_awards_on_300_vouchers_give_each_voucher_once(live_campaign):
    campaign, key = live_campaign(300)
    calls = [award_body(redeemer={"external_id": f"customer-{n}"}) for n in range(500)]

    answers = run_concurrently("/awards", calls, key)

    statuses = Counter(status for status, _ in answers)
    assert statuses == {201: 300, 409: 200}
    assert {body["error"]["code"] for status, body in answers if status == 409} == {"out_of_vouchers"}
    codes = [body["award"]["code"] for status, body in answers if status == 201]
    assert len(set(codes)) == 300
    assert Voucher._base_manager.filter(status=Voucher.Status.AVAILABLE).count() == 0
    logged = Interaction._base_manager.filter(campaign=campaign)
    assert logged.count() == 500
    assert logged.filter(outcome="success").count() == 300
    assert logged.filter(outcome="out_of_stock", error_code="out_of_vouchers").count() == 200
    given = Counter(logged.exclude(voucher=None).values_list("voucher_id", flat=True))
    assert len(given) == 300 and max(given.values()) == 1  # no voucher twice
    # Each awarded voucher points back at the one interaction that gave it.
    for voucher in Voucher._base_manager.filter(vault__campaigns=campaign):
        assert voucher.interaction.voucher_id == voucher.pk


def test_the_same_reference_sent_at_once_awards_once_and_every_answer_replays_it(live_campaign):
    campaign, key = live_campaign(20)
    calls = [award_body(reference="order-77")] * 12

    answers = run_concurrently("/awards", calls, key, threads=12)

    statuses = Counter(status for status, _ in answers)
    assert statuses == {201: 1, 200: 11}
    assert len({body["award"]["code"] for _, body in answers}) == 1
    assert all(body == answers[0][1] for _, body in answers)
    assert Voucher._base_manager.filter(status=Voucher.Status.AWARDED).count() == 1
    assert Interaction._base_manager.filter(campaign=campaign).count() == 12


def test_max_awards_per_redeemer_holds_under_concurrency(live_campaign):
    campaign, key = live_campaign(100, max_awards_per_redeemer=3)
    calls = [award_body(redeemer={"email": "ann@example.com"})] * 32

    answers = run_concurrently("/awards", calls, key)

    statuses = Counter(status for status, _ in answers)
    assert statuses == {201: 3, 409: 29}
    assert {body["error"]["code"] for status, body in answers if status == 409} == {"redeemer_limit_reached"}
    assert Voucher._base_manager.filter(status=Voucher.Status.AWARDED).count() == 3
    assert Interaction._base_manager.filter(campaign=campaign, error_code="redeemer_limit_reached").count() == 29
