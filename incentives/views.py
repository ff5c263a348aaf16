from collections.abc import Callable
from functools import partial

from django.contrib import messages
from django.db.models import BooleanField, Count, ExpressionWrapper, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django.views.generic import CreateView, DetailView, FormView, UpdateView

from accounts.permissions import AdminRequiredMixin, MemberRequiredMixin, is_org_admin
from core.errors import DomainError
from core.forms import show_on_form
from grids.tables import SECRET_MASK
from grids.views import BulkAction, GridView

from .filters import (
    CodeFilterSet,
    IssuanceFilterSet,
    PoolFilterSet,
    RedemptionFilterSet,
    VaultFilterSet,
    VoucherFilterSet,
)
from .forms import CodeImportForm, GenerateCodesForm, PoolForm, VaultForm, VoucherImportForm
from .models import (
    CodeImport,
    CsvImport,
    IncentiveCode,
    IncentivePool,
    Issuance,
    Redemption,
    Vault,
    Voucher,
    VoucherImport,
)
from .services.code_import import start_code_import
from .services.codegen import generate_codes
from .services.codes import set_codes_active
from .services.import_recovery import retry_import
from .services.imports import read_progress
from .services.pools import pool_counts, with_counts
from .services.voucher_import import start_voucher_import
from .services.vouchers import available, void_vouchers
from .tables import CodeTable, IssuanceTable, PoolTable, RedemptionTable, VaultTable, VoucherTable


def _voucher_count(*filters):
    """A per-vault count as a subquery, so the grid stays one query however many vouchers there are."""
    counts = (Voucher._base_manager.filter(*filters, vault=OuterRef("pk")).order_by()
              .values("vault").annotate(n=Count("pk")).values("n"))
    return Coalesce(Subquery(counts), 0)


class VaultListView(GridView):
    model = Vault
    table_class = VaultTable
    filterset_class = VaultFilterSet
    create_url = "incentives:vault-create"
    empty_text = "No vaults yet."

    def can_create(self):
        return is_org_admin(self.request.membership)

    def get_queryset(self):
        return Vault.objects.annotate(available=_voucher_count(available()), total=_voucher_count())


class VaultDetailView(MemberRequiredMixin, DetailView):
    template_name = "incentives/vault_detail.html"

    def get_queryset(self):
        return Vault.objects.all()

    def get_context_data(self, **kwargs):
        by_type = (
            self.object.vouchers.order_by().values("vendor", "amount", "currency", "is_test")
            .annotate(available=Count("pk", filter=available()), total=Count("pk"))
            .order_by("vendor", "amount", "currency", "is_test")
        )
        return super().get_context_data(
            voucher_types=by_type, imports=self.object.imports.defer("content")[:10],
            is_admin=is_org_admin(self.request.membership), **kwargs,
        )


class VaultCreateView(AdminRequiredMixin, CreateView):
    form_class = VaultForm
    template_name = "incentives/vault_form.html"

    def form_valid(self, form):
        form.instance.organization = self.request.organization
        messages.success(self.request, "Vault created. Import vouchers into it next.")
        return super().form_valid(form)


class VaultUpdateView(AdminRequiredMixin, UpdateView):
    form_class = VaultForm
    template_name = "incentives/vault_form.html"

    def get_queryset(self):
        return Vault.objects.all()


class CsvImportCreateView(AdminRequiredMixin, FormView):
    """Upload a CSV into a vault or a pool; the import runs in the background and its page follows it."""

    template_name = "incentives/import_form.html"
    job_model: type[CsvImport]
    start: Callable  # (target, file, name, user) -> the import, queued
    example = ""  # the start of a good file, shown under the form

    def dispatch(self, request, *args, **kwargs):
        target_model = self.job_model._meta.get_field(self.job_model.target_field).related_model
        self.target = get_object_or_404(target_model.objects.all(), pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        return super().get_context_data(target=self.target, job_model=self.job_model, example=self.example, **kwargs)

    def form_valid(self, form):
        upload = form.cleaned_data["file"]
        job = self.start(self.target, upload, upload.name, self.request.user)
        return redirect(job)


class VoucherImportCreateView(CsvImportCreateView):
    form_class = VoucherImportForm
    job_model = VoucherImport
    start = staticmethod(start_voucher_import)
    example = "vendor,amount,currency,code,pin,expires_at,is_test\nACME,10.00,USD,ACME-0001,1234,2027-12-31,false"


class CodeImportCreateView(CsvImportCreateView):
    form_class = CodeImportForm
    job_model = CodeImport
    start = staticmethod(start_code_import)
    example = "code\nSPRING-0001\nSPRING-0002"


class CsvImportDetailView(AdminRequiredMixin, DetailView):
    template_name = "incentives/import_detail.html"
    context_object_name = "job"

    def get_queryset(self):
        # Whether the file is still held (a failed import can then be retried), without reading megabytes of it.
        held = ExpressionWrapper(Q(content__isnull=False), output_field=BooleanField())
        return self.model.objects.select_related(self.model.target_field).defer("content").annotate(file_held=held)


class CsvImportRetryView(AdminRequiredMixin, View):
    """Queue again an import that could not finish (its worker was lost, no worker took it): the same import, its
    page follows it again."""

    model: type[CsvImport] | None = None

    def post(self, request, pk):
        job = get_object_or_404(self.model.objects.defer("content"), pk=pk)
        try:
            retry_import(job)
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, "The import was queued again.")
        return redirect(job)


class CsvImportProgressView(AdminRequiredMixin, View):
    """What an import page polls: the row's status, and the worker's progress from the cache (or the row's status)."""

    model: type[CsvImport] | None = None

    def get(self, request, pk):
        job = get_object_or_404(self.model.objects.defer("content"), pk=pk)
        progress = read_progress(self.model, job.pk, job.status)
        finished = job.is_finished
        return JsonResponse({
            "status": job.status,
            "finished": finished,
            "percent": 100 if finished else progress["percent"],
            "phase": progress["phase"],
            "done": progress["done"],
            "total": progress["total"],
        })


class VoucherListView(GridView):
    model = Voucher
    table_class = VoucherTable
    filterset_class = VoucherFilterSet
    empty_text = "No vouchers yet: import a CSV file into a vault."

    def get_queryset(self):
        return Voucher.objects.select_related("vault")


class VoucherVoidView(AdminRequiredMixin, View):
    def post(self, request, pk):
        voucher = get_object_or_404(Voucher.objects.all(), pk=pk)
        if void_vouchers(Voucher.objects.filter(pk=voucher.pk)):
            messages.success(request, f"Voucher {voucher.code} is void: it will not be awarded.")
        else:
            messages.error(request, f"Voucher {voucher.code} is {voucher.get_status_display().lower()}: only "
                                    "available vouchers can be voided.")
        target = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
            target = voucher.vault.get_absolute_url()
        return redirect(target)


class PoolListView(GridView):
    model = IncentivePool
    table_class = PoolTable
    filterset_class = PoolFilterSet
    create_url = "incentives:pool-create"
    empty_text = "No incentive pools yet."

    def can_create(self):
        return is_org_admin(self.request.membership)

    def get_queryset(self):
        return with_counts(IncentivePool.objects.all())


class CodeListView(GridView):
    model = IncentiveCode
    table_class = CodeTable
    filterset_class = CodeFilterSet
    title = "Incentive codes"
    empty_text = "No codes yet: generate or import codes into a pool."
    bulk_actions = (
        BulkAction("activate", "Activate", partial(set_codes_active, active=True), "{count} code{s} activated.",
                   allowed=is_org_admin),
        BulkAction("deactivate", "Deactivate", partial(set_codes_active, active=False),
                   "{count} code{s} deactivated: they are neither issued nor redeemed any more.", danger=True,
                   allowed=is_org_admin),
    )

    def get_queryset(self):
        return IncentiveCode.objects.select_related("pool")


class CodeEventListView(GridView):
    """Issuances or redemptions, with their code and pool in the same query."""

    def get_queryset(self):
        return self.model.objects.select_related("code", "pool")


class IssuanceListView(CodeEventListView):
    model, table_class, filterset_class = Issuance, IssuanceTable, IssuanceFilterSet
    empty_text = "No code has been issued yet."


class RedemptionListView(CodeEventListView):
    model, table_class, filterset_class = Redemption, RedemptionTable, RedemptionFilterSet
    empty_text = "No code has been redeemed yet."


class PoolDetailView(MemberRequiredMixin, DetailView):
    template_name = "incentives/pool_detail.html"
    context_object_name = "pool"

    def get_queryset(self):
        return IncentivePool.objects.all()

    def get_context_data(self, **kwargs):
        is_admin = is_org_admin(self.request.membership)
        codes = self.object.codes.all()
        if is_admin:
            codes = codes.order_by("code")
        else:  # unissued codes masked (design §9), in id order: an order by code would tell where they sort
            codes = codes.annotate(secret=ExpressionWrapper(IncentiveCode.SECRET, output_field=BooleanField()))
            codes = codes.order_by("pk")
        return super().get_context_data(
            counts=pool_counts(self.object), codes=codes[:20], secret_mask=SECRET_MASK,
            imports=self.object.imports.defer("content")[:5], campaigns=self.object.campaigns.all(),
            is_admin=is_admin, **kwargs,
        )


class PoolCreateView(AdminRequiredMixin, CreateView):
    form_class = PoolForm
    template_name = "incentives/pool_form.html"

    def form_valid(self, form):
        form.instance.organization = self.request.organization
        messages.success(self.request, "Pool created. Generate codes into it next.")
        return super().form_valid(form)


class PoolUpdateView(AdminRequiredMixin, UpdateView):
    form_class = PoolForm
    template_name = "incentives/pool_form.html"

    def get_queryset(self):
        return IncentivePool.objects.all()

    def form_valid(self, form):
        # Only the form's fields: the row read at the start of the request must not undo a low-threshold email's
        # state (services/thresholds.py) that changed meanwhile.
        self.object = form.save(commit=False)
        self.object.save(update_fields=[*form.Meta.fields, "updated_at"])
        return redirect(self.get_success_url())


class GenerateCodesView(AdminRequiredMixin, FormView):
    form_class = GenerateCodesForm
    template_name = "incentives/pool_generate.html"

    def dispatch(self, request, *args, **kwargs):
        self.pool = get_object_or_404(IncentivePool.objects.all(), pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        return super().get_context_data(pool=self.pool, **kwargs)

    def form_valid(self, form):
        try:
            added = generate_codes(self.pool, pattern=form.cleaned_data["pattern"], count=form.cleaned_data["count"])
        except DomainError as error:
            show_on_form(form, error)
            return self.form_invalid(form)
        messages.success(self.request, f"{added} codes added.")
        return redirect(self.pool)
