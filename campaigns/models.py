import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone

from core.scoping import OrganizationScopedManager

from .status import CampaignStatus, is_within_dates


class Campaign(models.Model):
    class EndBehavior(models.TextChoices):
        NORMAL = "normal", "Normal: inactive once ended"
        REFERRAL = "referral", "Referral: play the business number for 30 days"

    Status = CampaignStatus

    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="campaigns")
    name = models.CharField(max_length=200)
    external_id = models.CharField(
        max_length=100,
        blank=True,
        help_text="Your own reference for reports and the API. Left blank, one is generated.",
    )
    description = models.TextField(blank=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_campaigns")
    starts_at = models.DateTimeField(default=timezone.now)
    ends_at = models.DateTimeField(null=True, blank=True, help_text="Empty: never ends.")
    end_behavior = models.CharField(max_length=10, choices=EndBehavior.choices, default=EndBehavior.NORMAL)
    referral_number = models.CharField(
        max_length=32, blank=True, help_text="The business number said to callers after a referral campaign ends."
    )
    max_awards_per_redeemer = models.PositiveIntegerField(null=True, blank=True)
    vaults = models.ManyToManyField("incentives.Vault", blank=True, related_name="campaigns")
    pools = models.ManyToManyField("incentives.IncentivePool", blank=True, related_name="campaigns")
    # Computed by campaigns.status and stored so grids can filter on it; never typed by a user.
    status = models.CharField(
        max_length=10, choices=CampaignStatus.choices, default=CampaignStatus.PENDING, editable=False
    )
    status_changed_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OrganizationScopedManager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint("organization", Lower("name"), name="campaign_name_ci_unique_in_org"),
            models.UniqueConstraint("organization", "external_id", name="campaign_external_id_unique_in_org"),
            models.CheckConstraint(
                condition=models.Q(ends_at__isnull=True) | models.Q(ends_at__gt=models.F("starts_at")),
                name="campaign_ends_after_start",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "status"]),
            models.Index(fields=["ends_at"]),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        if not self.external_id:
            self.external_id = str(uuid.uuid4())
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("campaigns:detail", args=[self.pk])

    def clean(self):
        errors = {}
        if self.ends_at and self.starts_at and self.ends_at <= self.starts_at:
            errors["ends_at"] = "The end must be after the start."
        if self.end_behavior == self.EndBehavior.REFERRAL and not self.referral_number:
            errors["referral_number"] = "A referral campaign needs the business number to refer callers to."
        if errors:
            raise ValidationError(errors)

    @property
    def is_active(self) -> bool:
        return is_within_dates(self.starts_at, self.ends_at, timezone.now())


class CampaignStatusChange(models.Model):
    """The status history shown on the campaign's page: from, to, when, why."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(max_length=10, choices=CampaignStatus.choices)
    to_status = models.CharField(max_length=10, choices=CampaignStatus.choices)
    changed_at = models.DateTimeField()
    reason = models.CharField(max_length=200)

    objects = OrganizationScopedManager("campaign__organization")

    class Meta:
        ordering = ["-changed_at", "-pk"]
        indexes = [models.Index(fields=["campaign", "-changed_at"])]

    def __str__(self) -> str:
        return f"{self.campaign_id}: {self.from_status} → {self.to_status}"


class Integration(models.Model):
    """Another application's access to one campaign, through a key shown once and stored hashed."""

    class Status(models.TextChoices):
        TEST = "test", "Test"
        LIVE = "live", "Live"
        REVOKED = "revoked", "Revoked"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="integrations")
    name = models.CharField(max_length=100)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.TEST)
    key_prefix = models.CharField(max_length=16, editable=False, help_text="The key's first characters.")
    key_hash = models.CharField(max_length=64, unique=True, editable=False)  # SHA-256 hex of the whole key
    rate_limit_per_minute = models.PositiveIntegerField(
        null=True, blank=True, default=1000, help_text="Requests a minute for this key; empty means no limit."
    )
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    key_rotated_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OrganizationScopedManager("campaign__organization")

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint("campaign", Lower("name"), name="integration_name_ci_unique_in_campaign"),
        ]
        indexes = [models.Index(fields=["campaign", "status"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.status})"

    def get_absolute_url(self) -> str:
        return reverse("campaigns:integration-detail", args=[self.pk])

    @property
    def masked_key(self) -> str:
        return f"{self.key_prefix}…"
