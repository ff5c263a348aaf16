from django.urls import path

from . import views

app_name = "incentives"

urlpatterns = [
    path("vaults/", views.VaultListView.as_view(), name="vault-list"),
    path("vaults/<int:pk>/", views.VaultDetailView.as_view(), name="vault-detail"),
    path("vouchers/", views.VoucherListView.as_view(), name="voucher-list"),
]
