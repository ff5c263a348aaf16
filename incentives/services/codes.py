"""Codes themselves (design §5): what a code may be, and activating or deactivating many at once."""

import re

from django.db import models, transaction
from django.utils import timezone

from ..models import IncentiveCode
from .thresholds import queue_notifications, rearm_pools

# A code travels in URLs (``/api/v1/codes/{code}``): no spaces and no ``/``.
CODE_TEXT = re.compile(r"[^\s/]+")


def code_problems(code: str, max_characters: int) -> list[str]:
    """Why ``code`` cannot be a code of a pool with ``max_characters``: nothing when it can."""
    if not code:
        return ["the code is blank."]
    problems = []
    if len(code) > max_characters:
        problems.append(f"code '{code}' is {len(code)} characters long; the pool allows at most {max_characters}.")
    if not CODE_TEXT.fullmatch(code):
        problems.append(f"code '{code}' holds a space or a '/': codes are sent in URLs.")
    return problems


def set_codes_active(codes: models.QuerySet, active: bool) -> int:
    """Activate or deactivate the codes (a bulk action): one UPDATE, then the pools' threshold state.

    Deactivating lowers ``remaining``: pools that fall to their threshold get their email once committed.
    Activating may lift pools above it: they are re-armed. Returns how many codes changed.
    """
    changing = codes.exclude(active=active)
    with transaction.atomic():
        pool_ids = list(changing.values_list("pool_id", flat=True).distinct())
        changed = IncentiveCode._base_manager.filter(pk__in=changing.values("pk")).update(
            active=active, updated_at=timezone.now()
        )
        if active:
            rearm_pools(pool_ids)
        else:
            queue_notifications(pool_ids)
    return changed
