"""Downloads of a grid: one row generator over the grid's queryset, with a CSV and an XLSX writer on top.

Rows come from ``values_list(...).iterator()`` (a server-side cursor on PostgreSQL), never from model
instances or the table's rendering, so memory stays flat and speed stays close to the database's.
"""

import csv
import io
import tempfile
import zoneinfo
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import IO, Any

from django.core.exceptions import FieldDoesNotExist
from django.db.models import QuerySet
from django.db.models.constants import LOOKUP_SEP
from django.http import FileResponse, StreamingHttpResponse
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from .tables import SecretColumn, secret_flag

CHUNK_ROWS = 2000
XLSX_MAX_ROWS = 1_048_575  # Excel's sheet limit, less the header row
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@dataclass(frozen=True)
class ExportColumn:
    header: str
    path: str  # an ORM path for values_list(), e.g. "vault__name"
    labels: dict | None = None  # choice value -> label, for choice fields
    secret: str | None = None  # the annotation that marks the rows whose value is withheld (GridView.hide_secrets)


def export_columns(table) -> list[ExportColumn]:
    """The table's exported columns, each read straight from the database by its accessor."""
    model = table.data.data.model
    overrides = getattr(table, "export_paths", {})
    labels = getattr(table, "export_labels", {})
    annotations = table.data.data.query.annotations
    columns = []
    for bound in table.columns.iterall():
        if bound.column.exclude_from_export:
            continue
        path = overrides.get(bound.name) or str(bound.accessor).replace(".", LOOKUP_SEP)
        flag = secret_flag(bound.name)
        secret = flag if isinstance(bound.column, SecretColumn) and flag in annotations else None
        columns.append(ExportColumn(str(bound.header), path, labels.get(bound.name) or _choice_labels(model, path),
                                    secret))
    return columns


def _choice_labels(model, path: str) -> dict | None:
    field = None
    for part in path.split(LOOKUP_SEP):
        try:
            field = model._meta.get_field(part)
        except (FieldDoesNotExist, AttributeError):
            return None  # an annotation
        model = field.related_model
    return dict(field.flatchoices) if field is not None and field.choices else None


def export_rows(queryset: QuerySet, columns: list[ExportColumn], zone: zoneinfo.ZoneInfo) -> Iterator[list[Any]]:
    """Native values, datetimes made naive in the organization's zone, choices as their labels, secrets withheld."""
    paths = [c.path for c in columns]
    labels = [c.labels for c in columns]
    secret_at = [i for i, c in enumerate(columns) if c.secret]
    flags = [columns[i].secret for i in secret_at]
    for values in queryset.values_list(*paths, *flags).iterator(chunk_size=CHUNK_ROWS):
        row = list(values[:len(paths)])
        for i, withheld in zip(secret_at, values[len(paths):], strict=True):
            if withheld:
                row[i] = None
        for i, value in enumerate(row):
            if isinstance(value, datetime):
                row[i] = value.astimezone(zone).replace(tzinfo=None)
            elif labels[i] is not None and value in labels[i]:
                row[i] = labels[i][value]
        yield row


# What a spreadsheet reads as the start of a formula (design §9): such text is written as text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
NATIVE = (int, float, Decimal, datetime, date, time, timedelta)  # bool is an int


def _text(value: str) -> str:
    """Text without the control characters a spreadsheet cannot hold."""
    return ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if value is True or value is False:
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, NATIVE):
        return value  # numbers stay numbers, a negative amount included
    value = _text(str(value))
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


def _xlsx_cell(sheet, value: Any) -> Any:
    if value is None or isinstance(value, NATIVE):
        return value
    value = _text(str(value))  # str(): openpyxl refuses types it does not know (a UUID)
    if not value.startswith(FORMULA_STARTS):
        return value
    # openpyxl makes a str starting with "=" a formula: a string cell, quote-prefixed so an edit keeps it text
    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"
    cell.quotePrefix = True
    return cell


def csv_chunks(headers: list[str], rows: Iterable[list[Any]]) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")  # so Excel reads UTF-8
    writer.writerow(headers)
    for n, row in enumerate(rows, 1):
        writer.writerow([_csv_cell(v) for v in row])
        if n % CHUNK_ROWS == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def csv_response(file_name: str, headers: list[str], rows: Iterable[list[Any]]) -> StreamingHttpResponse:
    response = StreamingHttpResponse(csv_chunks(headers, rows), content_type=CONTENT_TYPES["csv"])
    response["Content-Disposition"] = f'attachment; filename="{file_name}.csv"'
    return response


def write_xlsx(target: IO[bytes], sheet_name: str, headers: list[str], rows: Iterable[list[Any]],
               progress: Callable[[int], None] | None = None) -> int:
    """Write a workbook of ``rows`` into ``target``; how many rows it holds (at most XLSX_MAX_ROWS).

    openpyxl's write-only mode spools the sheet to a temporary file row by row, so memory stays flat.
    ``progress(rows written)`` is called every CHUNK_ROWS rows.
    """
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(sheet_name[:31])
    sheet.append(headers)
    written = 0
    for row in rows:
        if written >= XLSX_MAX_ROWS:
            break
        sheet.append([_xlsx_cell(sheet, v) for v in row])
        written += 1
        if progress is not None and written % CHUNK_ROWS == 0:
            progress(written)
    workbook.save(target)
    return written


def xlsx_response(file_name: str, headers: list[str], rows: Iterable[list[Any]]) -> FileResponse:
    """Built in the request, so only for a bounded number of rows (GridView.download); streamed from a temporary
    file once finished."""
    spool = tempfile.TemporaryFile()  # noqa: SIM115 (FileResponse closes it)
    write_xlsx(spool, file_name, headers, rows)
    spool.seek(0)
    return FileResponse(spool, as_attachment=True, filename=f"{file_name}.xlsx", content_type=CONTENT_TYPES["xlsx"])


WRITERS: dict[str, Callable] = {"csv": csv_response, "xlsx": xlsx_response}
