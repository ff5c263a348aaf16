from django.conf import settings
from django.db import models
from django.urls import reverse

from core.scoping import OrganizationScopedManager


class SavedFilter(models.Model):
    """A user's default filters for one grid: a stored query string, applied whenever they open the grid.

    An empty query string is a saved "no filters": the grid opens unfiltered, without a redirect.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_filters")
    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    grid = models.CharField(max_length=100)
    query_string = models.TextField()
    updated_at = models.DateTimeField(auto_now=True)

    objects = OrganizationScopedManager()

    class Meta:
        constraints = [models.UniqueConstraint("user", "organization", "grid", name="saved_filter_unique")]

    def __str__(self) -> str:
        return f"{self.user} · {self.grid}: {self.query_string}"


class Export(models.Model):
    """A grid's download built by a worker: an XLSX too large to build inside a request (a zip cannot stream).

    The grid's path and query string are the single source of truth: the worker replays them through the same
    grid view as the page, so the file holds exactly the rows (and, for the member, the secrets) on screen. The
    file is kept for ``settings.GRID_EXPORT_RETENTION``; a beat job deletes it with its row.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for a worker"
        RUNNING = "running", "Writing"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    UNFINISHED = (Status.PENDING, Status.RUNNING)

    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="grid_exports")
    grid = models.CharField(max_length=100)  # the grid's URL name, as saved filters name it
    title = models.CharField(max_length=200, blank=True)  # the grid page's title, for the export's page
    path = models.CharField(max_length=300)  # the grid page's path, resolved again by the worker
    query_string = models.TextField(blank=True)  # what picks and sorts the rows (grids.views.filter_query)
    format = models.CharField(max_length=10, default="xlsx")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    total_rows = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    file = models.FileField(upload_to="exports/", blank=True)
    file_name = models.CharField(max_length=200, blank=True)  # what the browser saves it as
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)  # the worker's heartbeat while running
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(db_index=True)

    objects = OrganizationScopedManager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["user", "grid", "status"], name="export_user_grid_status")]

    def __str__(self) -> str:
        return f"{self.grid} · {self.user} · {self.status}"

    def get_absolute_url(self) -> str:
        return reverse("grids:export-detail", args=[self.pk])

    def get_progress_url(self) -> str:
        return reverse("grids:export-progress", args=[self.pk])

    def get_file_url(self) -> str:
        return reverse("grids:export-file", args=[self.pk])

    @property
    def grid_url(self) -> str:
        return f"{self.path}?{self.query_string}" if self.query_string else self.path

    @property
    def retry_url(self) -> str:
        return f"{self.path}?{self.query_string + '&' if self.query_string else ''}format={self.format}"

    @property
    def is_finished(self) -> bool:
        return self.status not in self.UNFINISHED

    @property
    def percent(self) -> int:
        if self.is_finished:
            return 100
        return min(int(100 * self.rows_done / self.total_rows), 99) if self.total_rows else 0

    @property
    def truncated(self) -> bool:
        """More rows matched than a sheet holds (Excel's limit): the file has the first ones."""
        return self.status == self.Status.READY and self.rows_done < self.total_rows
