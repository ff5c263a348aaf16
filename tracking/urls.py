from django.urls import path

from . import views

app_name = "tracking"

urlpatterns = [
    path("numbers/", views.TrackingNumberListView.as_view(), name="number-list"),
    path("numbers/new/", views.TrackingNumberCreateView.as_view(), name="number-create"),
    path("numbers/<int:pk>/", views.TrackingNumberDetailView.as_view(), name="number-detail"),
    path("numbers/<int:pk>/edit/", views.TrackingNumberUpdateView.as_view(), name="number-edit"),
    path("numbers/<int:pk>/release/", views.TrackingNumberReleaseView.as_view(), name="number-release"),
    path("campaigns/<int:pk>/provision-number/", views.ProvisionNumberView.as_view(), name="provision-number"),
]
