from django.urls import path

from . import views

app_name = "tracking"

urlpatterns = [
    path("interactions/", views.InteractionListView.as_view(), name="interaction-list"),
]
