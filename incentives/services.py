"""Vault and voucher rules other than the import (which lives in voucher_import.py)."""

from django.db.models import QuerySet

from .models import Voucher


def void_vouchers(vouchers: QuerySet[Voucher]) -> int:
    """Void the given vouchers that are still available, in one conditional UPDATE; returns how many."""
    return vouchers.filter(status=Voucher.Status.AVAILABLE).update(status=Voucher.Status.VOID)
