"""Importing codes into a pool (design §5): one code a line, all or nothing, every bad line named."""

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from core.scoping import organization_scope, scopes_disabled
from incentives.models import CodeImport, IncentiveCode, IncentivePool
from incentives.services import code_import as service
from incentives.services.code_import import check_code_csv, create_code_import, run_code_import, start_code_import
from incentives.services.imports import read_progress


def lines(*codes: str) -> bytes:
    return ("\n".join(codes) + "\n").encode()


def imported(pool: IncentivePool, data: bytes) -> CodeImport:
    with organization_scope(pool.organization):
        job = create_code_import(pool, data, "codes.csv")
        return run_code_import(job.pk)


def codes_of(pool: IncentivePool) -> list[str]:
    with scopes_disabled():
        return sorted(IncentiveCode.objects.filter(pool=pool).values_list("code", flat=True))


def test_a_good_file_imports_every_code_and_skips_the_header_and_blank_lines(organization, make_pool):
    pool = make_pool(organization, name="Spring")

    job = imported(pool, lines("code", "SPRING-1", "", "  SPRING-2  ", "SPRING-3"))

    assert job.status == CodeImport.Status.SUCCEEDED
    assert (job.total_rows, job.imported_count, job.errors) == (3, 3, [])
    assert codes_of(pool) == ["SPRING-1", "SPRING-2", "SPRING-3"]
    assert job.content is None


def test_every_bad_line_is_named_and_nothing_is_imported(organization, make_pool):
    pool = make_pool(organization, name="Spring", max_characters=8)

    job = imported(pool, lines("GOOD-1", "GOOD-1", "WAY-TOO-LONG", "IN SPACE", "A/B", "X,Y", "GOOD-2"))

    assert job.status == CodeImport.Status.FAILED
    assert job.errors == [
        {"line": 2, "message": "code 'GOOD-1' is a duplicate of line 1."},
        {"line": 3, "message": "code 'WAY-TOO-LONG' is 12 characters long; the pool allows at most 8."},
        {"line": 4, "message": "code 'IN SPACE' holds a space or a '/': codes are sent in URLs."},
        {"line": 5, "message": "code 'A/B' holds a space or a '/': codes are sent in URLs."},
        {"line": 6, "message": "Has 2 values: write one code a line, no commas."},
    ]
    assert job.total_rows == 7
    assert codes_of(pool) == []


def test_codes_the_organization_already_has_are_refused_naming_their_pool(
    organization, make_organization, make_pool
):
    older = make_pool(organization, name="Older")
    elsewhere = make_pool(make_organization("Other Co"), name="Theirs")
    with scopes_disabled():
        IncentiveCode.objects.create(pool=older, organization=organization, code="TAKEN")
        IncentiveCode.objects.create(pool=elsewhere, organization=elsewhere.organization, code="THEIRS")
    pool = make_pool(organization, name="Spring")

    job = imported(pool, lines("NEW-1", "TAKEN", "THEIRS"))

    assert job.errors == [{"line": 2, "message": "code 'TAKEN' is already in the pool 'Older'."}]
    assert codes_of(pool) == []
    # Another organization's code is no obstacle: codes are unique per organization.
    assert imported(pool, lines("NEW-1", "THEIRS")).status == CodeImport.Status.SUCCEEDED


def test_an_empty_file_and_a_file_that_is_not_utf8_are_refused(organization, make_pool):
    pool = make_pool(organization)
    assert imported(pool, b"").errors == [{"line": 1, "message": "The file is empty."}]
    assert imported(pool, b"code\n\n").errors == [{"line": 1, "message": "The file has no codes."}]
    assert imported(pool, b"OK-1\nBAD-\xff\n").errors[0]["line"] == 2


def test_a_code_saved_between_the_check_and_the_insert_fails_the_import_with_its_line(
    organization, make_pool, monkeypatch
):
    pool = make_pool(organization)
    check = service.check_code_csv
    calls = []

    def check_then_a_rival_saves(*args, **kwargs):
        result = check(*args, **kwargs)
        if not calls:  # a generation commits this code while the import is between its check and its insert
            IncentiveCode.objects.create(pool=pool, organization=organization, code="RACE-2")
        calls.append(result)
        return result

    monkeypatch.setattr(service, "check_code_csv", check_then_a_rival_saves)

    job = imported(pool, lines("RACE-1", "RACE-2"))

    assert job.status == CodeImport.Status.FAILED
    assert job.errors == [{"line": 2, "message": f"code 'RACE-2' is already in the pool '{pool.name}'."}]
    assert codes_of(pool) == ["RACE-2"]


def test_an_import_that_lifts_a_notified_pool_above_its_threshold_rearms_it(organization, make_pool):
    pool = make_pool(organization, codes=1, low_threshold=2, notification_email="ops@example.com")
    with scopes_disabled():
        IncentivePool.objects.filter(pk=pool.pk).update(low_notified_at="2026-01-01T00:00Z")

    imported(pool, lines("MORE-1", "MORE-2", "MORE-3"))

    pool.refresh_from_db()
    assert pool.low_notified_at is None


def test_the_check_reads_a_large_file_with_a_constant_number_of_queries(
    organization, make_pool, django_assert_max_num_queries
):
    pool = make_pool(organization)
    data = lines(*(f"BIG-{n}" for n in range(25_000)))
    with organization_scope(organization), django_assert_max_num_queries(3):  # 3 chunks of 10,000 codes
        result = check_code_csv(data, pool)
    assert result.ok and len(result.rows) == 25_000


def test_the_page_uploads_and_the_task_imports_with_progress(
    client, admin_user, organization, make_pool, eager_celery, django_capture_on_commit_callbacks
):
    pool = make_pool(organization, name="Spring")
    client.force_login(admin_user)
    upload = SimpleUploadedFile("codes.csv", lines("P-1", "P-2"))

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("incentives:pool-import", args=[pool.pk]), {"file": upload})

    with scopes_disabled():
        job = CodeImport.objects.get(pool=pool)
    assert response.status_code == 302 and response.url == reverse("incentives:code-import-detail", args=[job.pk])
    assert job.status == CodeImport.Status.SUCCEEDED and job.created_by == admin_user
    assert read_progress(CodeImport, job.pk) == {"phase": "succeeded", "done": 2, "total": 2, "percent": 100}
    progress = client.get(reverse("incentives:code-import-progress", args=[job.pk])).json()
    assert (progress["finished"], progress["percent"]) == (True, 100)
    page = client.get(job.get_absolute_url())
    assert b"2 codes imported into Spring" in page.content


def test_the_page_lists_the_errors_of_a_bad_file(client, admin_user, organization, make_pool):
    pool = make_pool(organization, name="Spring", max_characters=4)
    with organization_scope(organization):
        job = start_code_import(pool, lines("OK", "TOO-LONG"), "bad.csv", admin_user)
        run_code_import(job.pk)
    client.force_login(admin_user)

    page = client.get(job.get_absolute_url()).content.decode()

    assert "Nothing was imported" in page and "TOO-LONG" in page and "at most 4" in page


def test_standard_users_cannot_import(client, standard_user, organization, make_pool):
    url = reverse("incentives:pool-import", args=[make_pool(organization).pk])
    client.force_login(standard_user)
    assert client.get(url).status_code == 403
    assert client.post(url, {"file": SimpleUploadedFile("c.csv", b"A\n")}).status_code == 403


def test_a_nul_character_is_named_with_its_line_and_nothing_is_imported(organization, make_pool):
    pool = make_pool(organization, name="Spring")

    job = imported(pool, lines("GOOD-1", "NUL-\x001", "GOOD-2", "\x00", "A/B"))

    assert job.status == CodeImport.Status.FAILED
    assert [error["line"] for error in job.errors] == [2, 4, 5]
    assert all("holds a NUL character" in error["message"] for error in job.errors[:2])
    assert codes_of(pool) == []
