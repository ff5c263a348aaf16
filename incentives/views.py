from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.views.generic import DetailView

from accounts.permissions import MemberRequiredMixin
from grids.views import GridView

from .filters import VaultFilterSet, VoucherFilterSet
from .models import Vault, Voucher
from .tables import VaultTable, VoucherTable


def _voucher_count(**filters):
    """A per-vault count as a subquery, so the grid stays one query however many vouchers there are."""
    counts = (Voucher._base_manager.filter(vault=OuterRef("pk"), **filters).order_by()
              .values("vault").annotate(n=Count("pk")).values("n"))
    return Coalesce(Subquery(counts), 0)


class VaultListView(GridView):
    model = Vault
    table_class = VaultTable
    filterset_class = VaultFilterSet
    empty_text = "No vaults yet."

    def get_queryset(self):
        return Vault.objects.annotate(available=_voucher_count(status=Voucher.Status.AVAILABLE), total=_voucher_count())


class VaultDetailView(MemberRequiredMixin, DetailView):
    template_name = "incentives/vault_detail.html"

    def get_queryset(self):
        return Vault.objects.all()

    def get_context_data(self, **kwargs):
        by_type = (
            self.object.vouchers.order_by().values("vendor", "amount", "currency", "is_test")
            .annotate(available=Count("pk", filter=Q(status=Voucher.Status.AVAILABLE)), total=Count("pk"))
            .order_by("vendor", "amount", "currency", "is_test")
        )
        return super().get_context_data(voucher_types=by_type, **kwargs)


class VoucherListView(GridView):
    model = Voucher
    table_class = VoucherTable
    filterset_class = VoucherFilterSet
    empty_text = "No vouchers yet: import a CSV file into a vault."

    def get_queryset(self):
        return Voucher.objects.select_related("vault")
