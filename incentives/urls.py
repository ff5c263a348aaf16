from django.urls import path

from . import views
from .models import CodeImport, VoucherImport

app_name = "incentives"

urlpatterns = [
    path("vaults/", views.VaultListView.as_view(), name="vault-list"),
    path("vaults/new/", views.VaultCreateView.as_view(), name="vault-create"),
    path("vaults/<int:pk>/", views.VaultDetailView.as_view(), name="vault-detail"),
    path("vaults/<int:pk>/edit/", views.VaultUpdateView.as_view(), name="vault-edit"),
    path("vaults/<int:pk>/import/", views.VoucherImportCreateView.as_view(), name="vault-import"),
    path("imports/<int:pk>/", views.CsvImportDetailView.as_view(model=VoucherImport), name="import-detail"),
    path("imports/<int:pk>/progress/", views.CsvImportProgressView.as_view(model=VoucherImport),
         name="import-progress"),
    path("imports/<int:pk>/retry/", views.CsvImportRetryView.as_view(model=VoucherImport), name="import-retry"),
    path("pools/", views.PoolListView.as_view(), name="pool-list"),
    path("pools/new/", views.PoolCreateView.as_view(), name="pool-create"),
    path("pools/<int:pk>/", views.PoolDetailView.as_view(), name="pool-detail"),
    path("pools/<int:pk>/edit/", views.PoolUpdateView.as_view(), name="pool-edit"),
    path("pools/<int:pk>/generate/", views.GenerateCodesView.as_view(), name="pool-generate"),
    path("pools/<int:pk>/import/", views.CodeImportCreateView.as_view(), name="pool-import"),
    path("code-imports/<int:pk>/", views.CsvImportDetailView.as_view(model=CodeImport), name="code-import-detail"),
    path("code-imports/<int:pk>/progress/", views.CsvImportProgressView.as_view(model=CodeImport),
         name="code-import-progress"),
    path("code-imports/<int:pk>/retry/", views.CsvImportRetryView.as_view(model=CodeImport),
         name="code-import-retry"),
    path("codes/", views.CodeListView.as_view(), name="code-list"),
    path("issuances/", views.IssuanceListView.as_view(), name="issuance-list"),
    path("redemptions/", views.RedemptionListView.as_view(), name="redemption-list"),
    path("vouchers/", views.VoucherListView.as_view(), name="voucher-list"),
    path("vouchers/<int:pk>/void/", views.VoucherVoidView.as_view(), name="voucher-void"),
]
