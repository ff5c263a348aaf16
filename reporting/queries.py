"""Where the reporting counts come from: the interactions themselves, or their hourly rollups.

Every count is asked of a list of ``Span`` s: rollups (or hourly totals) for the closed hours already rolled up
(before the organization's watermark), the interactions for the rest. Each query below runs once per span (two at most)
whatever the period, and the spans' answers are added up in Python, so figures are exact and the number of
queries is constant. Buckets are absolute instants (the start of a local hour), so both sources agree.
"""

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from django.db.models import Count, DateTimeField, F, Func, Q, QuerySet, Sum, Value
from django.db.models.functions import TruncDate, TruncHour

from interactions.models import Interaction, awarded

from .models import CampaignHourTotals, InteractionRollup


class VoucherType(NamedTuple):
    vendor: str
    amount: Decimal
    currency: str
    is_test: bool

    @property
    def label(self) -> str:
        return f"{self.vendor} {self.amount} {self.currency}{' (test)' if self.is_test else ''}"


class LocalHourStart(Func):
    """The instant the local hour of ``expression`` began in ``zone``.

    ``date_trunc`` on the local time alone would fold the repeated hour at the end of summer time into one
    bucket; subtracting the minutes and seconds into the local hour from the instant keeps both hours apart.
    """

    output_field = DateTimeField()

    def __init__(self, expression, zone: ZoneInfo):
        super().__init__(expression, Value(zone.key))

    def as_postgresql(self, compiler, connection):
        instant, instant_params = compiler.compile(self.source_expressions[0])
        zone, zone_params = compiler.compile(self.source_expressions[1])
        local = f"({instant} AT TIME ZONE {zone})"
        sql = f"({instant} - ({local} - DATE_TRUNC('hour', {local})))"
        return sql, (*instant_params, *instant_params, *zone_params, *instant_params, *zone_params)

    def as_sql(self, compiler, connection, **extra):
        # SQLite (development only) has no time zones in SQL: UTC hours, which are local hours in every zone
        # whose offset is a whole number of hours.
        return compiler.compile(TruncHour(self.source_expressions[0], tzinfo=ZoneInfo("UTC")))


@dataclass(frozen=True)
class Source:
    model: type
    time: str  # the column a span bounds
    voucher: tuple[str, str, str, str] | None  # vendor, amount, currency, is_test columns
    awarded: Q | None  # "awarded": an award that succeeded and gave a voucher
    counted: str | None  # the column holding a count; None: each row counts one
    totals: bool = False  # a column per summary count, already added up (no kinds, outcomes or vouchers)

    def rows(self, lo: datetime | None, hi: datetime | None, **filters) -> QuerySet:
        bounds = {f"{self.time}__gte": lo} if lo is not None else {}
        if hi is not None:
            bounds[f"{self.time}__lt"] = hi
        return self.model.objects.filter(**bounds, **filters).order_by()

    def count(self, condition: Q | None = None):
        if self.counted is None:
            return Count("pk", filter=condition)
        return Sum(self.counted, filter=condition, default=0)

    def since(self, instant: datetime) -> Q:
        return Q(**{f"{self.time}__gte": instant})

    def before(self, instant: datetime) -> Q:
        return Q(**{f"{self.time}__lt": instant})

    def hour(self, zone: ZoneInfo):
        # Rollup hours are UTC hours: spans over rollups are only made for zones with whole-hour offsets.
        return LocalHourStart(self.time, zone) if self.counted is None else F(self.time)

    def day(self, zone: ZoneInfo):
        return TruncDate(self.time, tzinfo=zone)

    def conditions(self) -> dict[str, Q | None]:
        """The summary counts, by name: which rows each counts (None: all)."""
        return {
            "interactions": None,
            "awarded": self.awarded,
            "out_of_stock": Q(outcome=Interaction.Outcome.OUT_OF_STOCK),
            "errors": Q(outcome=Interaction.Outcome.ERROR),
            "exceptions": Q(outcome=Interaction.Outcome.EXCEPTION),
        }

    def metrics(self, within: Q | None = None, prefix: str = "") -> dict[str, Any]:
        """The summary counts as conditional aggregates, so one query folds them all."""
        if self.totals:
            return {f"{prefix}{name}": Sum(name, filter=within, default=0) for name in METRICS}
        return {f"{prefix}{name}": self.count(_and(condition, within)) for name, condition in self.conditions().items()}


RAW = Source(
    Interaction, "created_at", ("voucher__vendor", "voucher__amount", "voucher__currency", "voucher__is_test"),
    awarded(), None,
)
ROLLUPS = Source(
    InteractionRollup, "hour", ("voucher_vendor", "voucher_amount", "voucher_currency", "voucher_is_test"),
    awarded("voucher_vendor"), "count",
)
TOTALS = Source(CampaignHourTotals, "hour", None, None, "interactions", totals=True)
METRICS = ("interactions", "awarded", "out_of_stock", "errors", "exceptions")


@dataclass(frozen=True)
class Span:
    source: Source
    lo: datetime | None  # None: since the beginning
    hi: datetime | None  # None: up to now

    def rows(self, **filters) -> QuerySet:
        return self.source.rows(self.lo, self.hi, **filters)


def spans(lo: datetime | None, hi: datetime | None, rolled_until: datetime | None,
          rolled: Source = ROLLUPS) -> list[Span]:
    """[lo, hi) cut at the watermark: ``rolled`` before it, the interactions from it on (None: no rollups).

    ``TOTALS`` serve the summary counts; ``ROLLUPS`` whatever needs kinds, statuses or voucher types.
    """
    if rolled_until is None:
        return [Span(RAW, lo, hi)]
    result = []
    if lo is None or lo < rolled_until:
        result.append(Span(rolled, lo, rolled_until if hi is None else min(hi, rolled_until)))
    raw_from = rolled_until if lo is None else max(lo, rolled_until)
    if hi is None or raw_from < hi:
        result.append(Span(RAW, raw_from, hi))
    return result


def _added(rows: Iterable[dict], key_fields: tuple[str, ...], value_fields: tuple[str, ...]) -> dict:
    totals: dict[Any, Counter] = defaultdict(Counter)
    for row in rows:
        key = row[key_fields[0]] if len(key_fields) == 1 else tuple(row[f] for f in key_fields)
        totals[key].update({f: row[f] for f in value_fields})
    return dict(totals)


# --- the queries ------------------------------------------------------------------------------------------


def counts_by_hour(spans_: list[Span], zone: ZoneInfo, **filters) -> dict[datetime, Counter]:
    """Local hour start -> the summary counts in it."""
    rows = []
    for span in spans_:
        source = span.source
        rows += (span.rows(**filters).annotate(bucket=source.hour(zone)).values("bucket")
                 .annotate(**source.metrics(prefix="n_")))
    return {key: _unprefixed(counts, "n_") for key, counts in
            _added(rows, ("bucket",), tuple(f"n_{name}" for name in METRICS)).items()}


def counts_by_campaign(spans_: list[Span], split_at: datetime, **filters) -> dict[int, Counter]:
    """Campaign id -> the summary counts from ``split_at`` on (``name``) and before it (``previous_name``)."""
    rows = []
    for span in spans_:
        source = span.source
        aggregates = source.metrics(source.since(split_at), "n_") | source.metrics(source.before(split_at), "previous_")
        rows += span.rows(campaign__isnull=False, **filters).values("campaign_id").annotate(**aggregates)
    fields = (*(f"n_{name}" for name in METRICS), *(f"previous_{name}" for name in METRICS))
    return {key: _unprefixed(counts, "n_") for key, counts in _added(rows, ("campaign_id",), fields).items()}


def counts_by_response(spans_: list[Span], **filters) -> dict[tuple[int | None, str], int]:
    """(HTTP status, error code) -> requests."""
    rows = []
    for span in spans_:
        rows += span.rows(**filters).values("http_status", "error_code").annotate(requests=span.source.count())
    return {key: counter["requests"] for key, counter in _added(rows, ("http_status", "error_code"),
                                                                  ("requests",)).items()}


def awarded_by_type(spans_: list[Span], windows: dict[str, datetime], **filters) -> dict[VoucherType, Counter]:
    """Voucher type -> awards in total (``total``) and since each window's start (by the window's name)."""
    rows = []
    for span in spans_:
        source = span.source
        aggregates = {"total": source.count()} | {
            name: source.count(source.since(instant)) for name, instant in windows.items()
        }
        vendor, amount, currency, is_test = source.voucher
        rows += (
            span.rows(**filters).filter(source.awarded)
            .values(vendor=F(vendor), amount=F(amount), currency=F(currency), is_test=F(is_test))
            .annotate(**aggregates)
        )
    return {VoucherType(*key): counts for key, counts in
            _added(rows, ("vendor", "amount", "currency", "is_test"), ("total", *windows)).items()}


def awarded_by_day_and_type(spans_: list[Span], zone: ZoneInfo, **filters) -> dict[tuple, int]:
    """(local date, voucher type) -> awards."""
    rows = []
    for span in spans_:
        source = span.source
        vendor, amount, currency, is_test = source.voucher
        rows += (
            span.rows(**filters).filter(source.awarded)
            .values(day=source.day(zone), vendor=F(vendor), amount=F(amount), currency=F(currency),
                    is_test=F(is_test))
            .annotate(awarded=source.count())
        )
    added = _added(rows, ("day", "vendor", "amount", "currency", "is_test"), ("awarded",))
    return {(key[0], VoucherType(*key[1:])): counts["awarded"] for key, counts in added.items()}


def _unprefixed(counts: Counter, prefix: str) -> Counter:
    # Aggregates are named apart from columns (CampaignHourTotals has a column per count).
    return Counter({name.removeprefix(prefix): value for name, value in counts.items()})


def _and(condition: Q | None, other: Q | None) -> Q | None:
    if condition is None or other is None:
        return other if condition is None else condition
    return condition & other
