"""Charts as plain data: what the page draws, and the CSV of exactly the same series."""

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Series:
    label: str
    values: list[int]


@dataclass(frozen=True)
class Chart:
    slug: str  # its name in the download URL
    title: str
    description: str
    kind: str  # Chart.js type: "bar" or "line"
    x_title: str
    y_title: str
    labels: list[str]  # the x axis, as shown
    keys: list[tuple]  # the same points as the CSV's first columns (ISO dates and instants, raw codes)
    key_headers: list[str]
    series: list[Series]
    stacked: bool = False
    horizontal: bool = False
    empty_text: str = "No data in this period."
    notes: list[str] = field(default_factory=list)
    wide: bool = False  # drawn across the page (long series)

    @property
    def is_empty(self) -> bool:
        return not any(any(series.values) for series in self.series)

    @property
    def height(self) -> int:
        """Pixels: horizontal bars grow with their categories, other charts keep one height."""
        if self.horizontal:
            return 90 + len(self.labels) * max(22, 12 * len(self.series))
        return 300

    def csv_header(self) -> list[str]:
        return [*self.key_headers, *(series.label for series in self.series)]

    def csv_rows(self) -> list[list[Any]]:
        return [[*key, *(series.values[n] for series in self.series)] for n, key in enumerate(self.keys)]

    def as_data(self) -> dict[str, Any]:
        """What static/js/charts.js reads (through json_script)."""
        return {
            "kind": self.kind,
            "title": self.title,
            "xTitle": self.x_title,
            "yTitle": self.y_title,
            "labels": self.labels,
            "series": [{"label": series.label, "values": series.values} for series in self.series],
            "stacked": self.stacked,
            "horizontal": self.horizontal,
        }


@dataclass(frozen=True)
class Table:
    """Downloadable figures that the page shows as a table rather than a chart (the summary)."""

    slug: str
    title: str
    header: list[str]
    rows: list[list[Any]]

    def csv_header(self) -> list[str]:
        return self.header

    def csv_rows(self) -> list[list[Any]]:
        return self.rows


def day_label(day: date) -> str:
    return f"{day:%a %-d %b}"


def hour_label(instant: datetime, zone: ZoneInfo) -> str:
    """e.g. "Sun 25 Oct 01:00 BST": the zone's abbreviation tells the two 01:00s of the night DST ends apart."""
    local = instant.astimezone(zone)
    return f"{local:%a %-d %b %H:%M} {local.tzname()}"


def moment_label(instant: datetime, zone: ZoneInfo) -> str:
    """An instant as the organization reads it, e.g. "Mon 23 Nov 2026 12:21 GMT"."""
    local = instant.astimezone(zone)
    return f"{local:%a %-d %b %Y %H:%M} {local.tzname()}"


def hour_key(instant: datetime, zone: ZoneInfo) -> str:
    """The hour's start in the organization's zone, with its offset: unambiguous in a spreadsheet."""
    return instant.astimezone(zone).isoformat()
