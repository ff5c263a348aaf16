from django.db.models import Count, Q
from django.views.generic import DetailView, ListView

from accounts.permissions import MemberRequiredMixin

from .models import Vault, Voucher


class VaultListView(MemberRequiredMixin, ListView):
    template_name = "incentives/vault_list.html"
    paginate_by = 50

    def get_queryset(self):
        return Vault.objects.annotate(available=Count("vouchers", filter=Q(vouchers__status="available")))


class VaultDetailView(MemberRequiredMixin, DetailView):
    template_name = "incentives/vault_detail.html"

    def get_queryset(self):
        return Vault.objects.all()


class VoucherListView(MemberRequiredMixin, ListView):
    template_name = "incentives/voucher_list.html"
    paginate_by = 50

    def get_queryset(self):
        return Voucher.objects.select_related("vault")
