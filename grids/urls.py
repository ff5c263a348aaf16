from django.urls import path

from . import export_views

app_name = "grids"

urlpatterns = [
    path("<int:pk>/", export_views.ExportDetailView.as_view(), name="export-detail"),
    path("<int:pk>/progress/", export_views.ExportProgressView.as_view(), name="export-progress"),
    path("<int:pk>/file/", export_views.ExportFileView.as_view(), name="export-file"),
]
