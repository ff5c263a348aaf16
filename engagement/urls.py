from django.urls import path

from .views import campaigns, customers

app_name = "engagement"

urlpatterns = [
    path("customers/", customers.CustomerListView.as_view(), name="customer-list"),
    path("customers/new/", customers.CustomerCreateView.as_view(), name="customer-create"),
    path("customers/<int:pk>/", customers.CustomerDetailView.as_view(), name="customer-detail"),
    path("customers/<int:pk>/tags/", customers.CustomerTagsView.as_view(), name="customer-tags"),
    path("campaigns/<int:pk>/participations/", campaigns.ParticipationListView.as_view(), name="participation-list"),
    path("campaigns/<int:pk>/settings/", campaigns.EngagementSettingsView.as_view(), name="settings"),
    path("campaigns/<int:pk>/behaviors/new/", campaigns.BehaviorFormView.as_view(), name="behavior-create"),
    path("behaviors/<int:pk>/edit/", campaigns.BehaviorFormView.as_view(editing=True), name="behavior-edit"),
    path("behaviors/<int:pk>/archive/", campaigns.BehaviorArchiveView.as_view(), name="behavior-archive"),
    path("participations/<int:pk>/", campaigns.ParticipationDetailView.as_view(), name="participation-detail"),
    path("participations/<int:pk>/state/", campaigns.SetStateView.as_view(), name="participation-set-state"),
]
