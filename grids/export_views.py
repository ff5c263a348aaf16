"""The pages of a background export: its progress, then its link (grids.services). Only the user who asked for
it reaches it, inside their organization's scope: anything else is a 404."""

from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.views import View
from django.views.generic import TemplateView

from accounts.permissions import MemberRequiredMixin

from .export import CONTENT_TYPES
from .models import Export
from .services import fail_stale_exports


class ExportMixin(MemberRequiredMixin):
    def get_export(self, pk: int) -> Export:
        export = get_object_or_404(Export.objects.filter(user=self.request.user), pk=pk)
        # Whoever looks settles an export no worker will finish: the page never waits forever.
        if not export.is_finished and fail_stale_exports(Export.objects.filter(pk=export.pk)):
            export.refresh_from_db()
        return export


class ExportDetailView(ExportMixin, TemplateView):
    template_name = "grids/export_detail.html"

    def get(self, request, *args, **kwargs):
        export = self.get_export(kwargs["pk"])
        expired = export.expires_at <= timezone.now()
        return self.render_to_response(self.get_context_data(export=export, expired=expired))


class ExportProgressView(ExportMixin, View):
    """What the export's page polls."""

    def get(self, request, pk: int):
        export = self.get_export(pk)
        return JsonResponse({
            "status": export.status,
            "finished": export.is_finished,
            "percent": export.percent,
            "phase": "queued" if export.status == Export.Status.PENDING else "writing",
            "done": export.rows_done,
            "total": export.total_rows,
        })


class ExportFileView(ExportMixin, View):
    def get(self, request, pk: int):
        export = self.get_export(pk)
        if export.status != Export.Status.READY or export.expires_at <= timezone.now():
            raise Http404("This export is not ready, or no longer kept.")
        try:
            file = export.file.open("rb")
        except FileNotFoundError as missing:
            raise Http404("This export's file is no longer kept.") from missing
        return FileResponse(file, as_attachment=True, filename=export.file_name,
                            content_type=CONTENT_TYPES[export.format])
