"""The voucher CSV import (design §3, §4): checked whole, imported whole or not at all."""

import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from core.errors import DomainError
from core.scoping import organization_scope, scopes_disabled
from incentives.models import Voucher, VoucherImport
from incentives.services import voucher_import as service
from incentives.services.imports import read_progress
from incentives.services.voucher_import import (
    INSERT_BATCH_SIZE,
    VAULT_LOOKUP_CHUNK,
    check_voucher_csv,
    create_voucher_import,
    run_voucher_import,
    start_voucher_import,
)
from incentives.tasks import import_vouchers

HEADER = "vendor,amount,currency,code,pin,expires_at,is_test"
BIG_ROWS = 150_000


def csv_file(*lines: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *lines]) + "\n").encode()


def big_csv(rows: int, last_line: str | None = None) -> bytes:
    """About 10 MB of good vouchers; ``last_line`` replaces the last one."""
    lines = [
        f"Amazon Gift Card,{n % 200 + 5}.{n % 100:02d},USD,AMZN-{n:012d}-QWERTYUIOPASDF,{n % 10000:04d},"
        f"2027-12-31T23:59:59,{'true' if n % 2 else 'false'}"
        for n in range(rows)
    ]
    if last_line is not None:
        lines[-1] = last_line
    return csv_file(*lines)


@pytest.fixture
def paris(make_organization):
    return make_organization("Paris Vouchers", time_zone="Europe/Paris")


@pytest.fixture
def gift_vault(paris, make_vault):
    """A vault of an organization in Paris's time zone; the test body runs unscoped, as a worker or command does."""
    return make_vault(paris, name="Gift cards")


@pytest.fixture
def vault(gift_vault, paris):
    """The same vault, with the test body in its organization's scope, as a page's would be."""
    with organization_scope(paris):
        yield gift_vault


def run_import(vault, data: bytes, progress=None) -> VoucherImport:
    voucher_import = create_voucher_import(vault, data, "vouchers.csv")
    return run_voucher_import(voucher_import.pk, progress=progress)


def errors_of(vault, data: bytes) -> list[dict]:
    """Run the whole import and return its stored errors, asserting that nothing at all was imported."""
    before = Voucher.objects.count()
    finished = run_import(vault, data)
    assert finished.status == VoucherImport.Status.FAILED
    assert finished.imported_count == 0
    assert Voucher.objects.count() == before
    return finished.errors


# --- a good file ------------------------------------------------------------------------------------


def test_a_good_file_is_imported_whole(vault):
    data = csv_file(
        "Amazon,10.50,usd,AMZ-1,1234,2026-12-31T18:00,true",
        "Amazon,10.5,USD,AMZ-2,,2026-12-31T18:00:00+00:00,no",
        "Starbucks , 5 ,EUR, SB-1 ,,2026-06-30,1",
        "Starbucks,5.00,EUR,SB-2,,2026-07-01T09:30:00Z,",
        "Target,0,GBP,TGT-1,,,YES",
    )
    progress = []

    finished = run_import(vault, data, progress=lambda *report: progress.append(report))

    assert finished.status == VoucherImport.Status.SUCCEEDED
    assert (finished.total_rows, finished.imported_count, finished.errors) == (5, 5, [])
    assert finished.finished_at is not None
    finished.refresh_from_db()
    assert finished.content is None
    vouchers = {v.code: v for v in Voucher.objects.filter(vault=vault)}
    assert sorted(vouchers) == ["AMZ-1", "AMZ-2", "SB-1", "SB-2", "TGT-1"]
    amz = vouchers["AMZ-1"]
    assert (amz.vendor, amz.amount, amz.currency, amz.pin, amz.is_test) == (
        "Amazon",
        Decimal("10.50"),
        "USD",
        "1234",
        True,
    )
    assert amz.status == Voucher.Status.AVAILABLE
    # A naive time is Paris time (UTC+1 in December); an explicit offset or Z is kept.
    assert amz.expires_at == datetime(2026, 12, 31, 17, 0, tzinfo=UTC)
    assert vouchers["AMZ-2"].expires_at == datetime(2026, 12, 31, 18, 0, tzinfo=UTC)
    assert vouchers["AMZ-2"].is_test is False
    assert vouchers["SB-2"].expires_at == datetime(2026, 7, 1, 9, 30, tzinfo=UTC)
    # A date alone: good through that day in Paris (UTC+2 in summer).
    assert vouchers["SB-1"].expires_at == datetime(2026, 6, 30, 21, 59, 59, 999999, tzinfo=UTC)
    assert (vouchers["SB-1"].vendor, vouchers["SB-1"].amount) == ("Starbucks", Decimal("5.00"))
    assert vouchers["SB-2"].is_test is False
    assert (vouchers["TGT-1"].expires_at, vouchers["TGT-1"].is_test, vouchers["TGT-1"].amount) == (None, True, 0)
    assert progress[-1] == (5, 5, "succeeded")
    assert {phase for _, _, phase in progress} == {"checking", "importing", "succeeded"}


def test_bom_crlf_any_column_order_and_optional_columns_left_out(vault):
    data = "\ufeffCode,Vendor,Amount,Currency\r\nX-1,Amazon,1.00,USD\r\n\r\nX-2,Amazon,2.00,USD\r\n".encode()

    finished = run_import(vault, data)

    assert finished.status == VoucherImport.Status.SUCCEEDED, finished.errors
    assert finished.imported_count == 2
    x2 = Voucher.objects.get(vault=vault, code="X-2")
    assert (x2.vendor, x2.amount, x2.pin, x2.expires_at, x2.is_test) == ("Amazon", Decimal("2.00"), "", None, False)


def test_codes_of_another_vault_are_no_duplicates(vault, paris, make_vault):
    other = make_vault(paris, vouchers=1)

    finished = run_import(vault, csv_file(f"Amazon,1,USD,V{other.pk}-0,,,"))

    assert finished.status == VoucherImport.Status.SUCCEEDED
    assert Voucher.objects.filter(code=f"V{other.pk}-0").count() == 2


def test_a_finished_import_is_not_run_again(vault):
    """A redelivered task finds the import finished and leaves it (and the vault) as it is."""
    finished = run_import(vault, csv_file("Amazon,1,USD,ONCE-1,,,"))
    reports = []

    again = run_voucher_import(finished.pk, progress=lambda *report: reports.append(report))

    assert (again.status, again.imported_count, again.errors) == (VoucherImport.Status.SUCCEEDED, 1, [])
    assert again.finished_at == finished.finished_at
    assert reports == []
    assert Voucher.objects.filter(vault=vault, code="ONCE-1").count() == 1


# --- bad files: nothing imported, every bad line named ------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "reason"),
    [
        ("ten", "amount 'ten' is not a number"),
        ('"1,000"', "amount '1,000' is not a number"),
        ("1e3", "amount '1e3' is not a number"),
        ("NaN", "amount 'NaN' is not a number"),
        ("$5", "amount '$5' is not a number"),
        ("-1.00", "amount '-1.00' is negative."),
        ("10.555", "amount '10.555' has more than 2 decimals."),
        ("10000000000", "amount '10000000000' is too large"),
        ("", "amount is blank."),
    ],
)
def test_a_malformed_amount_fails_the_import(vault, amount, reason):
    errors = errors_of(vault, csv_file("Amazon,1.00,USD,OK-1,,,", f"Amazon,{amount},USD,BAD-1,,,"))

    assert len(errors) == 1
    assert errors[0]["line"] == 3
    assert errors[0]["message"].startswith(reason)


def test_trailing_zeros_beyond_two_decimals_are_no_error(vault):
    finished = run_import(vault, csv_file("Amazon,10.500,USD,Z-1,,,"))

    assert finished.status == VoucherImport.Status.SUCCEEDED
    assert Voucher.objects.get(code="Z-1").amount == Decimal("10.50")


def test_an_unknown_currency_fails_the_import(vault):
    errors = errors_of(vault, csv_file("Amazon,1.00,USD,OK-1,,,", "Amazon,1.00,XYZ,BAD-1,,,"))

    assert errors == [{"line": 3, "message": "currency 'XYZ' is not an ISO 4217 currency code."}]


def test_a_code_twice_in_the_file_fails_the_import(vault):
    errors = errors_of(vault, csv_file("Amazon,1,USD,DUP-1,,,", "Amazon,1,USD,OTHER,,,", "Amazon,2,USD,DUP-1,,,"))

    assert errors == [{"line": 4, "message": "code 'DUP-1' is a duplicate of line 2."}]


def test_a_code_already_in_the_vault_fails_the_import(vault):
    Voucher.objects.create(vault=vault, vendor="Amazon", amount=1, currency="USD", code="HAVE-1")

    errors = errors_of(vault, csv_file("Amazon,1,USD,NEW-1,,,", "Amazon,1,USD,HAVE-1,,,"))

    assert errors == [{"line": 3, "message": "code 'HAVE-1' is already in the vault."}]
    assert not Voucher.objects.filter(code="NEW-1").exists()


def test_a_code_saved_between_the_check_and_the_insert_fails_the_import_with_its_line(vault, monkeypatch):
    check = service.check_voucher_csv
    calls = []

    def check_then_a_rival_saves(*args, **kwargs):
        result = check(*args, **kwargs)
        if not calls:  # another request commits this code while the import is between its check and its insert
            Voucher.objects.create(vault=vault, vendor="Amazon", amount=1, currency="USD", code="RACE-2")
        calls.append(result)
        return result

    monkeypatch.setattr(service, "check_voucher_csv", check_then_a_rival_saves)

    finished = run_import(vault, csv_file("Amazon,1,USD,RACE-1,,,", "Amazon,1,USD,RACE-2,,,"))

    assert finished.status == VoucherImport.Status.FAILED
    assert finished.errors == [{"line": 3, "message": "code 'RACE-2' is already in the vault."}]
    assert list(Voucher.objects.filter(code__startswith="RACE-").values_list("code", flat=True)) == ["RACE-2"]


@pytest.mark.parametrize("left_out", ["vendor", "amount", "currency", "code"])
def test_a_missing_required_column_is_one_error_on_line_1(vault, left_out):
    header = ",".join(column for column in HEADER.split(",") if column != left_out)
    row = ",".join(
        {"vendor": "Amazon", "amount": "1", "currency": "USD", "code": "C-1"}.get(c, "") for c in header.split(",")
    )

    errors = errors_of(vault, csv_file(row, header=header))

    assert len(errors) == 1
    assert errors[0]["line"] == 1
    assert errors[0]["message"].startswith(f"Missing required column: {left_out}.")


def test_an_unknown_column_is_an_error(vault):
    errors = errors_of(vault, csv_file("Amazon,1,USD,C-1,gold", header="vendor,amount,currency,code,tier"))

    assert len(errors) == 1
    assert errors[0]["line"] == 1
    assert errors[0]["message"].startswith("Unknown column: 'tier'.")


def test_a_file_without_header_names_what_is_wrong(vault):
    errors = errors_of(vault, b"Amazon,1,USD,C-1\n")

    assert [error["line"] for error in errors] == [1, 1]
    assert errors[0]["message"].startswith("Missing required columns: vendor, amount, currency, code.")
    assert errors[1]["message"].startswith("Unknown columns: 'amazon', '1', 'usd', 'c-1'.")


@pytest.mark.parametrize("data", [b"", b"\xef\xbb\xbf", b"\n\n  \r\n"])
def test_an_empty_file_fails_the_import(vault, data):
    assert errors_of(vault, data) == [{"line": 1, "message": "The file is empty."}]


@pytest.mark.parametrize("data", [HEADER.encode(), csv_file(), csv_file("", ",,,,,,", "")])
def test_a_header_only_file_fails_the_import(vault, data):
    assert errors_of(vault, data) == [{"line": 1, "message": "The file has no vouchers."}]


def test_a_non_utf8_file_fails_the_import_naming_the_line(vault):
    data = csv_file("Amazon,1,USD,C-1,,,", "Amazon,1,USD,C-2,,,").replace(b"C-2", "Café".encode("latin-1"))

    errors = errors_of(vault, data)

    assert len(errors) == 1
    assert errors[0]["line"] == 3
    assert "not UTF-8" in errors[0]["message"]
    assert "0xE9" in errors[0]["message"]


def test_every_bad_line_is_reported_with_its_file_line_number(vault):
    Voucher.objects.create(vault=vault, vendor="Amazon", amount=1, currency="USD", code="OLD-1")
    data = csv_file(
        "Amazon,1,USD,OK-1,,,",  # 2
        ",abc,USD,B-1,,,",  # 3: blank vendor and a bad amount: both reported
        'Amazon,1,USD,OK-2,"two\nline pin",,',  # 4-5: one record over two lines
        "Amazon,1,USD,OK-1,,,",  # 6: duplicate of line 2
        "Amazon,1,USD,OLD-1,,,",  # 7: in the vault
        "Amazon,1,USD,B-2,,31/12/2026,",  # 8
        "Amazon,1,USD,B-3,,,maybe",  # 9
        "Amazon,1,USD,,,,",  # 10
        f"Amazon,1,USD,{'X' * 256},,,",  # 11
        "Amazon,1,USD,B-4",  # 12
        "",  # 13: a blank line is skipped, not an error
        "Amazon,1,USD,OK-3,,,",  # 14
    )

    errors = errors_of(vault, data)

    assert [(error["line"], error["message"].split(" ")[0]) for error in errors] == [
        (3, "vendor"),
        (3, "amount"),
        (6, "code"),
        (7, "code"),
        (8, "expires_at"),
        (9, "is_test"),
        (10, "code"),
        (11, "code"),
        (12, "Has"),
    ]
    assert errors[2]["message"] == "code 'OK-1' is a duplicate of line 2."
    assert errors[3]["message"] == "code 'OLD-1' is already in the vault."
    assert errors[6]["message"] == "code is blank."
    assert errors[7]["message"] == "code is longer than 255 characters."
    assert errors[8]["message"] == "Has 4 values where the header has 7 columns."


def test_a_line_csv_cannot_read_is_named_and_nothing_is_imported(vault):
    huge = "X" * 200_000  # over the csv module's field limit
    data = csv_file("Amazon,1,USD,OK-1,,,", f'Amazon,1,USD,"{huge}",,,', "Amazon,1,USD,OK-2,,,")

    errors = errors_of(vault, data)

    assert len(errors) == 1
    assert errors[0]["line"] == 3
    assert errors[0]["message"].startswith("The file is not valid CSV here (field larger than field limit")


def test_a_file_over_the_size_limit_is_refused_before_it_is_stored(vault):
    with pytest.raises(DomainError, match="larger than 50 MB"):
        create_voucher_import(vault, b"x" * (service.MAX_FILE_BYTES + 1), "huge.csv")

    assert not VoucherImport.objects.exists()


def test_checking_writes_nothing(vault):
    result = check_voucher_csv(csv_file("Amazon,1,USD,C-1,,,", "Amazon,2,USD,C-2,,,"), vault)

    assert result.ok
    assert [row.code for row in result.rows] == ["C-1", "C-2"]
    assert result.total_rows == 2
    assert not Voucher.objects.filter(vault=vault).exists()


# --- size ----------------------------------------------------------------------------------------------


def test_a_10_mb_file_is_imported_whole_in_a_bounded_number_of_queries(vault, django_assert_max_num_queries):
    data = big_csv(BIG_ROWS)
    assert len(data) >= 10_000_000
    voucher_import = create_voucher_import(vault, data, "big.csv")
    reports = []
    # Set-based: a statement per INSERT_BATCH_SIZE rows and per VAULT_LOOKUP_CHUNK codes, plus a fixed few.
    bound = BIG_ROWS // INSERT_BATCH_SIZE + BIG_ROWS // VAULT_LOOKUP_CHUNK + 15

    started = time.monotonic()
    with django_assert_max_num_queries(bound):
        finished = run_voucher_import(voucher_import.pk, progress=lambda *report: reports.append(report))
    elapsed = time.monotonic() - started

    print(f"\n{len(data) / 1e6:.1f} MB, {BIG_ROWS} rows imported in {elapsed:.1f} s")
    assert finished.status == VoucherImport.Status.SUCCEEDED, finished.errors[:5]
    assert (finished.total_rows, finished.imported_count) == (BIG_ROWS, BIG_ROWS)
    assert Voucher.objects.filter(vault=vault).count() == BIG_ROWS
    last = Voucher.objects.get(vault=vault, code=f"AMZN-{BIG_ROWS - 1:012d}-QWERTYUIOPASDF")
    assert (last.amount, last.is_test, last.pin) == (Decimal("204.99"), True, "9999")
    assert len(reports) < 100  # reported every few thousand rows, not per row
    assert reports[-1] == (BIG_ROWS, BIG_ROWS, "succeeded")


def test_a_10_mb_file_with_one_bad_line_at_the_end_imports_nothing(vault):
    data = big_csv(BIG_ROWS, last_line="Amazon Gift Card,12.345,USD,LAST,,,")
    assert len(data) >= 10_000_000

    errors = errors_of(vault, data)

    assert errors == [{"line": BIG_ROWS + 1, "message": "amount '12.345' has more than 2 decimals."}]
    assert not Voucher.objects.filter(vault=vault).exists()


# --- the background task -----------------------------------------------------------------------------------


def test_the_task_imports_after_the_commit_and_progress_reaches_100(
    gift_vault, paris, make_member, eager_celery, django_capture_on_commit_callbacks, unscoped
):
    user = make_member(paris)
    upload = SimpleUploadedFile("vouchers.csv", csv_file("Amazon,1,USD,T-1,,,", "Amazon,2,USD,T-2,,,true"))

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with organization_scope(paris):  # the page's request; the task then runs after it, with no scope of its own
            voucher_import = start_voucher_import(gift_vault, upload, "vouchers.csv", user)
        # Nothing runs before the commit: the worker could not see the row yet.
        assert VoucherImport.objects.get(pk=voucher_import.pk).status == VoucherImport.Status.PENDING
        assert read_progress(VoucherImport, voucher_import.pk)["percent"] == 0

    assert len(callbacks) == 1
    voucher_import.refresh_from_db()
    assert voucher_import.status == VoucherImport.Status.SUCCEEDED
    assert (voucher_import.imported_count, voucher_import.total_rows) == (2, 2)
    assert voucher_import.created_by == user
    assert voucher_import.content is None
    assert Voucher.objects.get(vault=gift_vault, code="T-2").is_test is True
    progress = read_progress(VoucherImport, voucher_import.pk)
    assert progress == {"phase": "succeeded", "done": 2, "total": 2, "percent": 100}


def test_the_task_stores_the_errors_of_a_bad_file(
    gift_vault, paris, eager_celery, django_capture_on_commit_callbacks, unscoped
):
    with django_capture_on_commit_callbacks(execute=True), organization_scope(paris):
        voucher_import = start_voucher_import(
            gift_vault, csv_file("Amazon,1,USD,T-1,,,", "Amazon,x,USD,T-2,,,"), "bad.csv", None
        )

    voucher_import.refresh_from_db()
    assert voucher_import.status == VoucherImport.Status.FAILED
    assert voucher_import.errors == [{"line": 3, "message": "amount 'x' is not a number (write it like 12.50)."}]
    assert (voucher_import.total_rows, voucher_import.imported_count) == (2, 0)
    assert not Voucher.objects.filter(vault=gift_vault).exists()
    progress = read_progress(VoucherImport, voucher_import.pk)
    assert (progress["phase"], progress["percent"]) == ("failed", 100)


def test_the_task_opens_the_scope_of_the_import_s_organization(gift_vault, paris):
    with organization_scope(paris):
        voucher_import = create_voucher_import(gift_vault, csv_file("Amazon,1,USD,S-1,,,"), "v.csv")

    status = import_vouchers(voucher_import.pk)  # a worker has no scope of its own

    assert status == VoucherImport.Status.SUCCEEDED
    with scopes_disabled():
        assert Voucher.objects.filter(vault=gift_vault, code="S-1").exists()


def test_the_task_of_a_deleted_import_does_nothing(db):
    assert import_vouchers(987_654_321) is None


# --- the management command -----------------------------------------------------------------------------


def test_the_command_imports_a_good_file(gift_vault, tmp_path):
    path = tmp_path / "good.csv"
    path.write_bytes(csv_file("Amazon,1,USD,CMD-1,,,", "Amazon,1,USD,CMD-2,,,"))
    out = StringIO()

    call_command("import_vouchers", str(gift_vault.pk), str(path), stdout=out)  # unscoped, as from a shell

    assert "Imported 2 vouchers" in out.getvalue()
    assert "100% succeeded" in out.getvalue()
    with scopes_disabled():
        assert set(Voucher.objects.filter(vault=gift_vault).values_list("code", flat=True)) == {"CMD-1", "CMD-2"}


def test_the_command_prints_every_error_and_fails(gift_vault, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(csv_file("Amazon,1,USD,CMD-1,,,", "Amazon,1,EURO,CMD-2,,,", "Amazon,-2,USD,CMD-1,,,"))
    err = StringIO()

    with pytest.raises(CommandError) as failure:
        call_command("import_vouchers", str(gift_vault.pk), str(path), stdout=StringIO(), stderr=err)

    assert failure.value.returncode == 1
    assert str(failure.value).startswith("Nothing was imported: 2 bad lines in 3 rows")
    assert err.getvalue().splitlines() == [
        "line 3: currency 'EURO' is not an ISO 4217 currency code.",
        "line 4: amount '-2' is negative.",
        "line 4: code 'CMD-1' is a duplicate of line 2.",
    ]
    with scopes_disabled():
        assert not Voucher.objects.filter(vault=gift_vault).exists()


def test_the_command_refuses_an_unknown_vault(db, tmp_path):
    path = tmp_path / "good.csv"
    path.write_bytes(csv_file("Amazon,1,USD,CMD-1,,,"))

    with pytest.raises(CommandError, match="No vault with id 987654321"):
        call_command("import_vouchers", "987654321", str(path), stdout=StringIO())


@pytest.mark.django_db(transaction=True)
def test_the_command_exit_status(make_organization, make_vault, tmp_path):
    """The real process: 0 when imported, 1 (and the errors on stderr) when nothing was."""
    vault = make_vault(make_organization("Exit Status"))
    db = connection.settings_dict
    env = {**os.environ, "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"}
    # --skip-checks: this is about the command's exit status, not the project's system checks.
    manage = [sys.executable, str(Path(django_settings.BASE_DIR) / "manage.py"), "import_vouchers", "--skip-checks"]
    manage.append(str(vault.pk))
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    good.write_bytes(csv_file("Amazon,1,USD,P-1,,,"))
    bad.write_bytes(csv_file("Amazon,1,USD,P-2,,,", "Amazon,1,USD,P-1,,,"))

    imported = subprocess.run([*manage, str(good)], env=env, capture_output=True, text=True, timeout=120)
    refused = subprocess.run([*manage, str(bad)], env=env, capture_output=True, text=True, timeout=120)
    unknown = subprocess.run([*manage[:-1], "0", str(good)], env=env, capture_output=True, text=True, timeout=120)

    assert imported.returncode == 0, imported.stderr
    assert "Imported 1 vouchers" in imported.stdout
    assert refused.returncode == 1
    assert "line 3: code 'P-1' is already in the vault." in refused.stderr
    assert "Nothing was imported" in refused.stderr
    assert unknown.returncode == 1
    assert "No vault with id 0." in unknown.stderr
    with scopes_disabled():
        assert list(Voucher.objects.filter(vault=vault).values_list("code", flat=True)) == ["P-1"]


def test_a_nul_character_is_named_with_its_line_and_nothing_is_imported(vault):
    data = csv_file(
        "Amazon,1,USD,OK-1,,,",  # 2
        "Amazon,1,USD,NUL\x00-1,,,",  # 3
        'Amazon,1,USD,OK-2,"two\nline\x00 pin",,',  # 4-5: the NUL is on line 5
        "Amazon,abc,USD,B-1,,,",  # 6: other bad lines are still reported
        "Amazon,1,USD,OK-3,,,",  # 7
    )

    errors = errors_of(vault, data)

    assert [error["line"] for error in errors] == [3, 5, 6]
    assert "holds a NUL character" in errors[0]["message"]
    assert errors[0]["message"] == errors[1]["message"]
    assert errors[2]["message"].startswith("amount")


def test_a_nul_character_in_the_header_is_named_on_line_1(vault):
    data = csv_file("Amazon,1,USD,OK-1,,,", header=HEADER.replace("code", "co\x00de"))
    errors = errors_of(vault, data)
    assert [error["line"] for error in errors] == [1]
    assert "holds a NUL character" in errors[0]["message"]
