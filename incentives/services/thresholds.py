"""The low-threshold email (design §5): one email per crossing of a pool's ``low_threshold``, even under
concurrent issuance, task retries and two job runs at once.

A pool is *armed* while ``low_notified_at`` is empty. The one caller whose conditional UPDATE disarms it sends
the email; the pool re-arms once its remaining codes rise above the threshold again. Every condition is the
ORM on ``pools.remaining_count``, the same rule the pages and the API count with.
"""

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from core.scoping import organization_scope, scopes_disabled
from core.tasks import queue_after_commit

from ..models import IncentiveCode, IncentivePool
from .pools import UNIQUE, pool_counts, remaining_codes, remaining_count

NOTIFY_TASK = "incentives.notify_pool_low"


def _pools(pool_ids: list[int] | None) -> QuerySet[IncentivePool]:
    """Every organization's pools (a maintenance job), or those among ``pool_ids``."""
    pools = IncentivePool._base_manager.order_by()
    return pools if pool_ids is None else pools.filter(pk__in=pool_ids)


def _armed_and_low(pools: QuerySet[IncentivePool]) -> QuerySet[IncentivePool]:
    return pools.filter(low_notified_at__isnull=True).exclude(notification_email="").alias(
        remaining=remaining_count()
    ).filter(remaining__lte=F("low_threshold"))


def queue_check_if_low(pool: IncentivePool) -> None:
    """After an issuance: when the armed pool is now at or below its threshold, check it once committed.

    Only a unique pool's issuance lowers ``remaining`` (a multi code stays remaining). The count stops at
    threshold + 1 codes of the partial index of unissued codes: its cost follows the threshold, not the pool.
    """
    if not pool.notification_email or pool.low_notified_at is not None or pool.distribution != UNIQUE:
        return
    unissued = IncentiveCode._base_manager.filter(remaining_codes(UNIQUE), pool_id=pool.pk).order_by()
    if unissued[: pool.low_threshold + 1].count() <= pool.low_threshold:
        queue_after_commit(NOTIFY_TASK, pool.pk)


def queue_notifications(pool_ids: list[int]) -> None:
    """After codes were deactivated: each armed pool among ``pool_ids`` now at its threshold, once committed."""
    for pool_id in pools_to_notify(pool_ids):
        queue_after_commit(NOTIFY_TASK, pool_id)


def claim_low_notification(pool_id: int) -> bool:
    """Disarm the pool if it is armed and at or below its threshold; True for the one caller that did.

    A single conditional UPDATE: concurrent issuances, retried tasks and two beat runs all race on the row,
    and only the first to change it sees a row change.
    """
    return _armed_and_low(_pools([pool_id])).update(low_notified_at=timezone.now()) == 1


def rearm_pools(pool_ids: list[int] | None = None) -> int:
    """Re-arm the notified pools whose remaining codes rose above their threshold again."""
    pools = _pools(pool_ids).filter(low_notified_at__isnull=False).alias(remaining=remaining_count())
    return pools.filter(remaining__gt=F("low_threshold")).update(low_notified_at=None)


def pools_to_notify(pool_ids: list[int] | None = None) -> list[int]:
    """Ids of the armed, watched pools at or below their threshold (every organization, or among ``pool_ids``)."""
    return list(_armed_and_low(_pools(pool_ids)).values_list("pk", flat=True))


def notify_if_low(pool_id: int) -> bool:
    """Send the pool's low-threshold email once per crossing; True when this call sent it.

    The claim and the send share a transaction: a failed send rolls the claim back, so a retry sends it.
    """
    with transaction.atomic():
        if not claim_low_notification(pool_id):
            return False
        with scopes_disabled():
            pool = IncentivePool.objects.select_related("organization").get(pk=pool_id)
        with organization_scope(pool.organization):
            send_low_threshold_email(pool)
    return True


def send_low_threshold_email(pool: IncentivePool) -> None:
    counts = pool_counts(pool)
    link = getattr(settings, "SITE_URL", "").rstrip("/") + reverse("incentives:pool-detail", args=[pool.pk])
    context = {"pool": pool, "counts": counts, "link": link}
    send_mail(
        subject=f"Incentive pool {pool.name!r} is running low: {counts['remaining']} codes left",
        message=render_to_string("incentives/email/pool_low.txt", context),
        html_message=render_to_string("incentives/email/pool_low.html", context),
        from_email=None,
        recipient_list=[pool.notification_email],
    )
