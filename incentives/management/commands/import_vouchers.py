"""`manage.py import_vouchers <vault id> <file.csv>`: the voucher import of design §4, in the foreground."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.errors import DomainError
from core.scoping import organization_scope, scopes_disabled
from incentives.models import Vault, VoucherImport
from incentives.services.imports import import_percent
from incentives.services.voucher_import import create_voucher_import, run_voucher_import


class Command(BaseCommand):
    help = (
        "Import vouchers from a CSV file (columns vendor,amount,currency,code,pin,expires_at,is_test) into a vault. "
        "The whole file is checked first: one bad line and nothing is imported (exit status 1)."
    )

    def add_arguments(self, parser):
        parser.add_argument("vault_id", type=int, help="The vault's id (any organization).")
        parser.add_argument("file", type=Path, help="The CSV file, UTF-8, header on line 1.")

    def handle(self, *args, vault_id: int, file: Path, **options):
        with scopes_disabled():
            vault = Vault.objects.select_related("organization").filter(pk=vault_id).first()
        if vault is None:
            raise CommandError(f"No vault with id {vault_id}.")
        try:
            data = file.read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror or exc}.") from exc

        self.stdout.write(f"Importing {file.name} into vault {vault.pk} '{vault}' of {vault.organization}.")
        with organization_scope(vault.organization):
            try:
                voucher_import = create_voucher_import(vault, data, file.name)
            except DomainError as exc:
                raise CommandError(exc.message) from exc
            finished = run_voucher_import(voucher_import.pk, progress=self._progress_printer())

        if finished.status == VoucherImport.Status.SUCCEEDED:
            self.stdout.write(
                self.style.SUCCESS(f"Imported {finished.imported_count} vouchers (import {finished.pk}).")
            )
            return
        for error in finished.errors:
            where = f"line {error['line']}: " if error["line"] is not None else ""
            self.stderr.write(f"{where}{error['message']}")
        lines = len({error["line"] for error in finished.errors})
        raise CommandError(
            f"Nothing was imported: {lines} bad line{'s' if lines != 1 else ''} "
            f"in {finished.total_rows} rows (import {finished.pk})."
        )

    def _progress_printer(self):
        """A progress callback that prints a line per phase and per 10% step, not one per report."""
        last: list = [None, -1]  # phase, tenth of the bar

        def show(done: int, total: int, phase: str) -> None:
            percent = import_percent(done, total, phase)
            if [phase, percent // 10] != last:
                last[:] = [phase, percent // 10]
                self.stdout.write(f"{percent:3d}% {phase} ({done}/{total} rows)")

        return show
