"""New codes generated from a pattern like ``SPRING-####-????`` (design §5): drawn at random, all or none."""

import itertools
import secrets
import struct

from django.db import connection, transaction
from django.utils import timezone

from core.errors import DomainError

from ..models import IncentiveCode, IncentivePool
from .codes import CODE_TEXT
from .thresholds import rearm_pools

_PATTERN_ALPHABETS = {"#": "0123456789", "?": "ABCDEFGHJKLMNPQRSTUVWXYZ"}  # no I or O: read as 1 and 0
_SPAN_CODES = 1 << 16  # the most renderings of one span of the pattern kept in a table while generating
_INSERT_CHUNK = 50_000  # codes per INSERT statement


def pattern_capacity(pattern: str) -> int:
    """How many distinct codes the pattern can make."""
    capacity = 1
    for char in pattern:
        capacity *= len(_PATTERN_ALPHABETS.get(char, "x"))
    return capacity


def generate_codes(pool: IncentivePool, *, pattern: str, count: int) -> int:
    """Add ``count`` new codes made from ``pattern`` (``#`` a digit, ``?`` a letter) to the pool; all or none.

    Each code is a number drawn uniformly with ``secrets`` below the pattern's capacity, written out in the
    pattern's mixed radix; numbers are never drawn twice in one call. They go in by chunks with
    ``INSERT … ON CONFLICT DO NOTHING`` against the organization's unique codes, and only the shortfall is drawn
    again (oversized by the collisions seen, and then capped with ``LIMIT``). In one transaction: a pattern
    whose free codes run out adds nothing. Returns how many were added (``count``).
    """
    if not CODE_TEXT.fullmatch(pattern):
        raise DomainError("Codes travel in URLs: no spaces and no '/' in the pattern.",
                          fields={"pattern": ["Spaces or '/'."]})
    if len(pattern) > pool.max_characters:
        raise DomainError(f"Codes of this pattern are longer than the pool's {pool.max_characters} characters.",
                          fields={"pattern": ["Too long for this pool."]})
    if not any(char in _PATTERN_ALPHABETS for char in pattern):
        raise DomainError("Put # (a digit) or ? (a letter) in the pattern.", fields={"pattern": ["No placeholder."]})
    capacity = pattern_capacity(pattern)
    if count > capacity // 2:
        raise DomainError("The pattern cannot make that many distinct codes; add placeholders.",
                          fields={"count": ["Too many for this pattern."]})

    tried: set[int] = set()
    added = 0
    fresh_rate = 1.0  # the share of the last round's codes that were new to the organization
    with transaction.atomic():
        while added < count:
            wanted = count - added
            left = capacity - len(tried)
            if left <= 0:
                raise DomainError("Too few codes of this pattern are still free in the organization; add placeholders.",
                                  fields={"count": ["Too many for this pattern."]})
            size = wanted if fresh_rate >= 1 else int(wanted / max(fresh_rate, 0.01) * 1.25) + 16
            numbers = _draw_untried(capacity, min(size, left), tried)
            codes = _render(pattern, numbers)
            inserted = _insert_codes(pool, codes, limit=wanted)
            fresh_rate = inserted / len(codes)
            added += inserted
        rearm_pools([pool.pk])
    return added


def _render(pattern: str, numbers: list[int]) -> list[str]:
    """The codes of ``numbers`` (each below the pattern's capacity), in order: each number written out in the
    pattern's mixed radix.

    The pattern is cut into spans, each starting at a placeholder (the first also holds the text before it)
    and holding at most ``_SPAN_CODES`` renderings, all made up front; a number is then one digit per span,
    taken span by span over the whole list (list comprehensions, not a call per code).
    """
    cuts, size = [0], 1
    for i, char in enumerate(pattern):
        if char in _PATTERN_ALPHABETS:
            radix = len(_PATTERN_ALPHABETS[char])
            if size * radix > _SPAN_CODES and size > 1:
                cuts.append(i)
                size = 1
            size *= radix
    cuts.append(len(pattern))
    tables = [
        ["".join(chars) for chars in itertools.product(*(_PATTERN_ALPHABETS.get(char, char) for char in piece))]
        for piece in (pattern[start:end] for start, end in itertools.pairwise(cuts))
    ]
    parts, rest = [], numbers
    for table in reversed(tables[1:]):  # least significant first
        radix = len(table)
        parts.append([table[number % radix] for number in rest])
        rest = [number // radix for number in rest]
    parts.append([tables[0][number] for number in rest])
    if len(parts) == 1:
        return parts[0]
    return list(map("".join, zip(*reversed(parts), strict=True)))


def _draw_untried(capacity: int, size: int, tried: set[int]) -> list[int]:
    """``size`` distinct numbers below ``capacity``, uniformly at random (``secrets``), none of ``tried``; they
    join ``tried``."""
    left = capacity - len(tried)
    if left <= 4 * size:  # little of the space left: pick among what is left
        rest = [number for number in range(capacity) if number not in tried]
        secrets.SystemRandom().shuffle(rest)
        picked = rest[:size]
        tried.update(picked)
        return picked
    bits = (capacity - 1).bit_length()
    picked = []
    while len(picked) < size:
        need = size - len(picked)
        draws = need * 2 + 16  # at least half of the draws are below capacity
        if bits <= 64:
            mask = (1 << bits) - 1
            raw = (n & mask for (n,) in struct.iter_unpack("<Q", secrets.token_bytes(8 * draws)))
        else:
            width = (bits + 7) // 8
            shift = 8 * width - bits
            block = secrets.token_bytes(width * draws)
            raw = (int.from_bytes(block[i:i + width], "big") >> shift for i in range(0, len(block), width))
        for number in raw:
            if number < capacity and number not in tried:
                tried.add(number)
                picked.append(number)
                if len(picked) == size:
                    break
    return picked


def _insert_codes(pool: IncentivePool, codes: list[str], *, limit: int) -> int:
    """Insert at most ``limit`` of ``codes`` (distinct) into the pool, in their order, skipping the organization's
    codes; returns how many went in."""
    if connection.vendor != "postgresql":
        return _insert_codes_portably(pool, codes, limit=limit)
    meta, qn = IncentiveCode._meta, connection.ops.quote_name
    columns = ", ".join(qn(meta.get_field(name).column) for name in (
        "pool", "organization", "code", "active", "issued_count", "issued_unique", "redeemed_count",
        "redeemed_unique", "created_at", "updated_at"))
    table = qn(meta.db_table)
    now = timezone.now()
    inserted = 0
    with connection.cursor() as cursor:
        for start in range(0, len(codes), _INSERT_CHUNK):
            chunk, room = codes[start:start + _INSERT_CHUNK], limit - inserted
            if room <= 0:
                break
            if len(chunk) <= room:  # cannot overshoot: the unique constraint alone decides
                source, cap, params = "unnest(%s::text[]) AS c(code)", "", [chunk]
            else:  # more than room: skip the organization's codes first, then keep the first ``room``
                source = (
                    f"unnest(%s::text[]) WITH ORDINALITY AS c(code, n) WHERE NOT EXISTS (SELECT 1 FROM {table} x "
                    f"WHERE x.organization_id = %s AND x.code = c.code) ORDER BY c.n"
                )
                cap, params = "LIMIT %s", [chunk, pool.organization_id, room]
            cursor.execute(
                f"INSERT INTO {table} ({columns}) SELECT %s, %s, c.code, TRUE, 0, 0, 0, 0, %s, %s FROM {source} {cap} "
                f"ON CONFLICT (organization_id, code) DO NOTHING",
                [pool.pk, pool.organization_id, now, now, *params],
            )
            inserted += cursor.rowcount
    return inserted


def _insert_codes_portably(pool: IncentivePool, codes: list[str], *, limit: int) -> int:
    """``_insert_codes`` for databases other than PostgreSQL (SQLite under ``make run``): small chunks."""
    manager = IncentiveCode._base_manager
    inserted = 0
    for start in range(0, len(codes), 500):
        room = limit - inserted
        if room <= 0:
            break
        chunk = codes[start:start + 500]
        taken = set(manager.filter(organization_id=pool.organization_id, code__in=chunk).values_list("code", flat=True))
        fresh = [code for code in chunk if code not in taken][:room]
        before = manager.filter(pool_id=pool.pk).count()
        manager.bulk_create(
            [IncentiveCode(pool=pool, organization_id=pool.organization_id, code=code) for code in fresh],
            ignore_conflicts=True,
        )
        inserted += manager.filter(pool_id=pool.pk).count() - before
    return inserted
