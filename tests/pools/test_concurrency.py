"""Issuance under concurrent callers (design §5, §8): no unique code twice, counts exact, one low-threshold email.

Each thread is one client with its own database connection, as gunicorn workers are.
"""

from collections import Counter

from django.core import mail

from core.scoping import scopes_disabled
from incentives.models import IncentiveCode, IncentivePool, Issuance
from interactions.models import Interaction
from tests.api.conftest import ApiCaller, run_concurrently

THREADS = 16


def test_concurrent_issuances_from_a_unique_pool_give_each_code_once_and_send_one_email(
    transactional_db, pools, settings
):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    pool = pools.unique
    with scopes_disabled():
        IncentiveCode.objects.bulk_create(
            IncentiveCode(pool=pool, organization=pool.organization, code=f"EXTRA-{n}") for n in range(25)
        )  # 30 codes in all
        IncentivePool.objects.filter(pk=pool.pk).update(low_threshold=10, notification_email="ops@example.com")
    requests = 48
    answers = run_concurrently(f"/pools/{pool.pk}/issuances",
                               [{"external_issuee_id": f"p{n}"} for n in range(requests)], pools.key, THREADS)
    assert Counter(status for status, _ in answers) == {201: 30, 409: 18}
    assert {body["error"]["code"] for status, body in answers if status == 409} == {"pool_exhausted"}
    codes = [body["issuance"]["incentive_code"]["code"] for status, body in answers if status == 201]
    assert len(set(codes)) == 30
    with scopes_disabled():
        assert Issuance.objects.filter(pool=pool).count() == 30
        assert set(IncentiveCode.objects.filter(pool=pool).values_list("issued_count", "issued_unique")) == {(1, 1)}
    counts = ApiCaller().get(f"/pools/{pool.pk}", key=pools.key).json()["incentive_pool"]["incentive_codes"]
    assert (counts["total"], counts["issued"], counts["remaining"]) == (30, 30, 0)
    logged = Counter(
        Interaction._base_manager.filter(campaign=pools.campaign, kind="issuance").values_list("outcome", flat=True)
    )
    assert logged == {"success": 30, "out_of_stock": 18}
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["ops@example.com"]
