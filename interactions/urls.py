from django.urls import path

from . import views

app_name = "interactions"

urlpatterns = [
    path("", views.InteractionListView.as_view(), name="interaction-list"),
]
