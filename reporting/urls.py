from django.urls import path

from . import views

app_name = "reporting"

urlpatterns = [
    path("", views.OrganizationOverviewView.as_view(), name="overview"),
    path("campaigns/<int:pk>/", views.CampaignDashboardView.as_view(), name="campaign-dashboard"),
    path("campaigns/<int:pk>/charts/<slug:chart>.csv", views.ChartDownloadView.as_view(), name="chart-csv"),
]
