"""Reporting periods: whole local days of the organization's time zone, as exact UTC bounds.

A period is a first and a last local date (inclusive). Its bounds are the instants of the local midnights
that open its first day and close its last, so a day is 23, 24 or 25 hours long across daylight-saving
changes, and every hour of it is a point of the by-hour series (a repeated hour is two points).
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

HOUR = timedelta(hours=1)
MAX_DAYS = 366
# Custom periods stay well inside datetime's range, so the day after, the period before and every zone's
# midnight are computable.
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2100, 12, 31)
DEFAULT_PRESET = "30d"
PRESETS = {
    "7d": "Last 7 days",
    "30d": "Last 30 days",
    "90d": "Last 90 days",
    "this-month": "This month",
    "last-month": "Last month",
}


@dataclass(frozen=True)
class Period:
    start: date  # first local day
    end: date  # last local day, included
    zone: ZoneInfo
    preset: str = "custom"

    def __post_init__(self):
        if self.end < self.start:
            raise ValueError("A period ends on or after its first day.")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def start_at(self) -> datetime:
        return local_midnight(self.start, self.zone)

    @property
    def end_at(self) -> datetime:
        """Exclusive: the midnight after the last day."""
        return local_midnight(self.end + timedelta(days=1), self.zone)

    @property
    def label(self) -> str:
        dates = f"{self.start:%-d %b %Y} – {self.end:%-d %b %Y}" if self.days > 1 else f"{self.start:%-d %b %Y}"
        return f"{PRESETS[self.preset]} ({dates})" if self.preset in PRESETS else dates

    def previous(self) -> "Period":
        """The period of the same length just before this one."""
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1), self.zone)

    def ending_on(self, days: int) -> "Period":
        """The ``days`` local days ending on this period's last day."""
        return Period(self.end - timedelta(days=days - 1), self.end, self.zone)

    def dates(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range(self.days)]

    def hours(self) -> list[datetime]:
        """The start (in UTC) of every local hour of the period, in order."""
        return local_hour_starts(self.start_at, self.end_at, self.zone)

    @property
    def query_value(self) -> str:
        """Its ``period`` query parameter (``parse_period`` reads it back)."""
        return self.preset if self.preset in PRESETS else f"{self.start.isoformat()}..{self.end.isoformat()}"


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The instant ``day`` begins in ``zone``, in UTC (a midnight skipped by a DST jump begins after the jump)."""
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


def local_hour_start(instant: datetime, zone: ZoneInfo) -> datetime:
    """The instant the local hour holding ``instant`` began (the Python twin of ``LocalHourStart``)."""
    local = instant.astimezone(zone)
    # Same-zone subtraction is wall-clock arithmetic: minutes and seconds into the local hour.
    return instant - (local - local.replace(minute=0, second=0, microsecond=0))


def local_hour_starts(start_at: datetime, end_at: datetime, zone: ZoneInfo) -> list[datetime]:
    # Whole-hour offsets keep local hours on UTC hours; other zones can move by half hours, so sample finer.
    step = HOUR if has_whole_hour_offsets(start_at, end_at, zone) else timedelta(minutes=15)
    starts = {local_hour_start(instant, zone) for instant in _instants(start_at, end_at, step)}
    return sorted(start for start in starts if start_at <= start < end_at)


def has_whole_hour_offsets(start_at: datetime, end_at: datetime, zone: ZoneInfo) -> bool:
    """True when every UTC offset of ``zone`` between the instants is a whole number of hours.

    Then local hours are UTC hours and hourly UTC rollups add up to local days and hours exactly.
    (Offsets are sampled every six hours: no zone keeps an offset for less than that.)
    """
    return all(
        instant.astimezone(zone).utcoffset() % HOUR == timedelta(0)
        for instant in (*_instants(start_at, end_at, timedelta(hours=6)), end_at)
    )


def _instants(start_at: datetime, end_at: datetime, step: timedelta) -> Iterator[datetime]:
    instant = start_at
    while instant < end_at:
        yield instant
        instant += step


def today(zone: ZoneInfo, now: datetime | None = None) -> date:
    return (now or timezone.now()).astimezone(zone).date()


def preset_period(preset: str, zone: ZoneInfo, now: datetime | None = None) -> Period:
    day = today(zone, now)
    if preset in ("7d", "30d", "90d"):
        return Period(day - timedelta(days=int(preset[:-1]) - 1), day, zone, preset)
    if preset == "this-month":
        return Period(day.replace(day=1), day, zone, preset)
    if preset == "last-month":
        last = day.replace(day=1) - timedelta(days=1)
        return Period(last.replace(day=1), last, zone, preset)
    raise ValueError(f"Unknown period preset {preset!r}.")


def parse_period(value: str | None, zone: ZoneInfo, now: datetime | None = None) -> Period:
    """A period from its query-string form: a preset (``30d``) or first and last days (``2026-10-01..2026-10-31``).

    Empty means the default, the last 30 days; anything else that does not parse, or lies outside
    ``FIRST_DAY``..``LAST_DAY``, raises ValueError.
    """
    if not value:
        return preset_period(DEFAULT_PRESET, zone, now)
    if value in PRESETS:
        return preset_period(value, zone, now)
    first, separator, last = value.partition("..")
    if not separator:
        raise ValueError(f"{value!r} is not a period: a preset or two dates joined by '..'.")
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    if end < start:
        raise ValueError("The period ends before it starts.")
    if start < FIRST_DAY or end > LAST_DAY:
        raise ValueError(f"A period lies between {FIRST_DAY.isoformat()} and {LAST_DAY.isoformat()}.")
    if (end - start).days + 1 > MAX_DAYS:
        raise ValueError(f"A period is at most {MAX_DAYS} days long.")
    return Period(start, end, zone)
