from django.conf import settings
from django.db import models

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
