"""The idempotency records are kept for the retention window, then pruned by a daily job."""

from datetime import timedelta

from django.utils import timezone

from campaigns.services.integrations import create_integration
from core.scoping import scopes_disabled
from interactions import tasks
from interactions.models import IdempotencyRecord
from interactions.services import pruning


def test_records_older_than_the_retention_are_pruned_in_batches(
    organization, admin_user, make_campaign, settings, monkeypatch
):
    settings.IDEMPOTENCY_RETENTION_DAYS = 30
    monkeypatch.setattr(pruning, "PRUNE_BATCH", 2)  # several batches, and a last partial one
    campaign = make_campaign(organization, admin_user)
    with scopes_disabled():
        integration = create_integration(campaign, name="shop").integration
        IdempotencyRecord.objects.bulk_create(
            IdempotencyRecord(integration=integration, reference=f"r{n}", request_fingerprint="x") for n in range(8)
        )
        old = timezone.now() - timedelta(days=31)
        IdempotencyRecord.objects.filter(reference__in=["r0", "r1", "r2", "r3", "r4"]).update(created_at=old)

    assert tasks.prune_idempotency_records_task() == 5

    with scopes_disabled():
        assert sorted(IdempotencyRecord.objects.values_list("reference", flat=True)) == ["r5", "r6", "r7"]
