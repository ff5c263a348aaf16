"""The low-threshold email (design §5): one email per crossing of a pool's ``low_threshold``, even under
concurrent issuance, task retries, two job runs at once, and an SMTP server that stalls, refuses or is gone.

A pool is *armed* while ``low_notice_due_at`` and ``low_notified_at`` are both empty. Its email goes out in steps,
each a conditional UPDATE committed on its own, so the send holds no transaction and no lock (a stalled server
blocks nobody) and the caller whose UPDATE changed the row is the only one to go on:

1. *claim*: an armed, watched pool at or below its threshold is disarmed and its email made due now. Committed
   before anything is sent, so neither a lost task nor a failed send loses it.
2. *lease*: a due email's ``low_notice_due_at`` is pushed to now + ``SEND_LEASE``; the one caller that pushed it
   sends (two beat runs, a retried task, an issuance's task all race here).
3. *send*, with ``EMAIL_TIMEOUT`` on every SMTP operation; then *mark sent* on the lease just taken.

A send that fails (refused, timed out) gives its lease back: the beat job ``check_pool_thresholds`` sends it on its
next run. A sender killed mid-send leaves its lease, which the beat takes once it has run out: ``SEND_LEASE`` is
longer than the hard time limit of every task that sends (``SEND_TIME_LIMIT``), so a lease never runs out under a
live sender. The one at-least-once window is between a send the server accepted and its mark: a crash there, or a
database out of reach for both tries of the mark, sends that email again once its lease has run out.

The pool re-arms once its remaining codes rise above the threshold again, also while its email is still due (it is
no longer news). Every condition is the ORM on ``pools.remaining_count``, the rule the pages and the API count with.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import F, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from core.scoping import organization_scope, scopes_disabled
from core.tasks import queue_after_commit

from ..models import IncentiveCode, IncentivePool
from .pools import UNIQUE, pool_counts, remaining_codes, remaining_count

logger = logging.getLogger(__name__)

NOTIFY_TASK = "incentives.notify_pool_low"
# Hard time limit (seconds) of a task that sends (incentives/tasks.py): a few EMAIL_TIMEOUTs of SMTP exchanges.
SEND_TIME_LIMIT = 120
SEND_LEASE = timedelta(seconds=SEND_TIME_LIMIT + 60)
# What a failed send raises: the server refused (smtplib's errors are OSErrors), timed out or was out of reach.
SEND_ERRORS = OSError


def _pools(pool_ids: list[int] | None) -> QuerySet[IncentivePool]:
    """Every organization's pools (a maintenance job), or those among ``pool_ids``."""
    pools = IncentivePool._base_manager.order_by()
    return pools if pool_ids is None else pools.filter(pk__in=pool_ids)


def _armed_and_low(pools: QuerySet[IncentivePool]) -> QuerySet[IncentivePool]:
    return pools.filter(low_notice_due_at__isnull=True, low_notified_at__isnull=True).exclude(
        notification_email=""
    ).alias(remaining=remaining_count()).filter(remaining__lte=F("low_threshold"))


def _due(pools: QuerySet[IncentivePool], now: datetime) -> QuerySet[IncentivePool]:
    return pools.filter(low_notified_at__isnull=True, low_notice_due_at__lte=now).exclude(notification_email="")


def _commit(pools: QuerySet[IncentivePool], **values) -> int:
    """An UPDATE committed on its own. Durable: never inside a caller's transaction, whose locks the send that
    follows would hold."""
    with transaction.atomic(durable=True):
        return pools.update(**values)


def queue_check_if_low(pool: IncentivePool) -> None:
    """After an issuance: when the armed pool is now at or below its threshold, check it once committed.

    Only a unique pool's issuance lowers ``remaining`` (a multi code stays remaining). The count stops at
    threshold + 1 codes of the partial index of unissued codes: its cost follows the threshold, not the pool.
    """
    armed = pool.low_notice_due_at is None and pool.low_notified_at is None
    if not pool.notification_email or not armed or pool.distribution != UNIQUE:
        return
    unissued = IncentiveCode._base_manager.filter(remaining_codes(UNIQUE), pool_id=pool.pk).order_by()
    if unissued[: pool.low_threshold + 1].count() <= pool.low_threshold:
        queue_after_commit(NOTIFY_TASK, pool.pk)


def queue_notifications(pool_ids: list[int]) -> None:
    """After codes were deactivated: each armed pool among ``pool_ids`` now at its threshold, once committed."""
    for pool_id in _armed_and_low(_pools(pool_ids)).values_list("pk", flat=True):
        queue_after_commit(NOTIFY_TASK, pool_id)


def claim_crossings(pool_ids: list[int] | None = None) -> int:
    """Disarm the armed, watched pools at or below their threshold and make their email due; how many."""
    return _armed_and_low(_pools(pool_ids)).update(low_notice_due_at=timezone.now())


def rearm_pools(pool_ids: list[int] | None = None) -> int:
    """Re-arm the disarmed pools (email due or sent) whose remaining codes rose above their threshold again."""
    pools = _pools(pool_ids).exclude(low_notice_due_at__isnull=True, low_notified_at__isnull=True)
    pools = pools.alias(remaining=remaining_count()).filter(remaining__gt=F("low_threshold"))
    return pools.update(low_notice_due_at=None, low_notified_at=None)


def pools_due(pool_ids: list[int] | None = None) -> list[int]:
    """Ids of the pools whose email is due now, no sender holding it (every organization, or among ``pool_ids``)."""
    return list(_due(_pools(pool_ids), timezone.now()).values_list("pk", flat=True))


def notify_if_low(pool_id: int) -> bool:
    """Claim the pool's crossing if it has one, then send its due email; True when this call sent it.

    A failed send raises, its email due again for the beat job.
    """
    claim_crossings([pool_id])
    return send_due_email(pool_id)


def check_thresholds() -> int:
    """The beat job: re-arm, claim every crossing, send every due email; how many this run sent.

    One pool's failed send (a refused address, a server out of reach) is logged and never stops the others.
    """
    rearm_pools()
    claim_crossings()
    sent = 0
    for pool_id in pools_due():
        try:
            sent += send_due_email(pool_id)
        except SEND_ERRORS:
            logger.exception("The low-threshold email of pool %s failed; the next run sends it again.", pool_id)
    return sent


def send_due_email(pool_id: int) -> bool:
    """Send the pool's due email if this caller takes its lease; True when this call sent it."""
    now = timezone.now()
    lease = now + SEND_LEASE
    if not _commit(_due(_pools([pool_id]), now), low_notice_due_at=lease):
        return False
    try:
        with scopes_disabled():
            pool = IncentivePool.objects.select_related("organization").get(pk=pool_id)
        with organization_scope(pool.organization):
            send_low_threshold_email(pool)
    except BaseException:
        _commit(_pools([pool_id]).filter(low_notice_due_at=lease), low_notice_due_at=timezone.now())  # due again
        raise
    # The one at-least-once window: from the server's acceptance to this mark, nothing else runs in between.
    _mark_sent(pool_id, lease)
    return True


def _mark_sent(pool_id: int, lease: datetime) -> None:
    """Sent, on the lease this caller holds; tried again on a new connection when the first one dropped, since a
    mark never made is the at-least-once window (the email goes again once its lease runs out)."""
    sent = _pools([pool_id]).filter(low_notice_due_at=lease)
    for attempt in range(2):
        try:
            _commit(sent, low_notice_due_at=None, low_notified_at=timezone.now())
            return
        except (OperationalError, InterfaceError):
            if attempt:
                logger.error("Pool %s's low-threshold email went out but is not marked sent: it goes again after "
                             "its lease (%s).", pool_id, lease)
                raise
            connection.close_if_unusable_or_obsolete()


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
