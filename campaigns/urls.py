from django.urls import path

from . import views

app_name = "campaigns"

urlpatterns = [
    path("", views.CampaignListView.as_view(), name="list"),
    path("<int:pk>/", views.CampaignDetailView.as_view(), name="detail"),
    path("integrations/", views.IntegrationListView.as_view(), name="integration-list"),
    path("integrations/<int:pk>/", views.IntegrationDetailView.as_view(), name="integration-detail"),
]
