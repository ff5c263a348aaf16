"""The floor for a page on this stack: one bare Django view that runs a page's SQL, and nothing else, behind the
project's whole middleware stack and its login (session, user and membership lookups). No ORM, forms, tables
or templates. A page is measured against it beside its raw SQL: what the stack costs before the page does any
work of its own. Used as ``ROOT_URLCONF`` (``override_settings``) by the page benchmarks, after Django's setup.
"""

from django.db import connection
from django.http import HttpResponse
from django.urls import include, path

FLOOR_PATH = "/bench/page-floor/"
STATEMENTS: list[str] = []  # the page's SQL, set by the benchmark before it requests the floor


def run_statements(statements: list[str]) -> None:
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)
            if cursor.description:
                cursor.fetchall()


def page_floor(request):
    if not request.user.is_authenticated:
        return HttpResponse(status=403)
    run_statements(STATEMENTS)
    return HttpResponse(f"<!doctype html><title>floor</title><p>{request.organization}</p>")


urlpatterns = [path(FLOOR_PATH.strip("/") + "/", page_floor), path("", include("config.urls"))]
