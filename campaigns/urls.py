from django.urls import path

from . import views

app_name = "campaigns"

urlpatterns = [
    path("", views.CampaignListView.as_view(), name="list"),
    path("new/", views.CampaignWizardView.as_view(), name="create"),
    path("<int:pk>/", views.CampaignDetailView.as_view(), name="detail"),
    path("<int:pk>/created/", views.CampaignCreatedView.as_view(), name="created"),
    path("<int:pk>/edit/", views.CampaignUpdateView.as_view(), name="edit"),
    path("<int:pk>/integrations/new/", views.IntegrationCreateView.as_view(), name="integration-create"),
    path("integrations/", views.IntegrationListView.as_view(), name="integration-list"),
    path("integrations/<int:pk>/", views.IntegrationDetailView.as_view(), name="integration-detail"),
    path("integrations/<int:pk>/edit/", views.IntegrationUpdateView.as_view(), name="integration-edit"),
    path("integrations/<int:pk>/rotate/", views.IntegrationActionView.as_view(action="rotate"),
         name="integration-rotate"),
    path("integrations/<int:pk>/revoke/", views.IntegrationActionView.as_view(action="revoke"),
         name="integration-revoke"),
]
