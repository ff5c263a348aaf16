from django.db import models
from django.urls import reverse

from core.scoping import OrganizationScopedManager

from .phone import pretty, validate_e164
from .voice import ROUTING_LABELS


class TrackingNumber(models.Model):
    """A phone number that rings through to a business while its campaign runs (design §6)."""

    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="numbers")
    number = models.CharField(max_length=16, unique=True, validators=[validate_e164],
                              help_text="E.164, e.g. +14155550123.")
    campaign = models.ForeignKey("campaigns.Campaign", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="numbers", help_text="Empty: in the organization's inventory.")
    forward_to = models.CharField(max_length=16, validators=[validate_e164], help_text="Where calls ring through.")
    label = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OrganizationScopedManager()

    class Meta:
        ordering = ["number"]
        indexes = [models.Index(fields=["organization", "campaign"])]

    def __str__(self) -> str:
        return pretty(self.number)

    def get_absolute_url(self) -> str:
        return reverse("tracking:number-detail", args=[self.pk])

    @property
    def state_label(self) -> str:
        """The label of the ``state`` that ``tracking.numbers.with_state`` annotates."""
        return ROUTING_LABELS[self.state]
