"""Rollups of interactions for the reporting dashboard (design §11).

A beat task (``reporting.roll_up_interactions``) folds every *closed* hour of interactions into one row per
(campaign, hour, kind, outcome, HTTP status, error code, voucher type) with its count, and those into one row
of totals per (campaign, hour), set-based, and moves the organization's watermark past them. Pages read
rollups below the watermark and the interactions themselves above it, so figures are exact while no API
request ever touches a counter row.
"""

from decimal import Decimal

from django.db import models
from django.db.models import F, Value
from django.db.models.functions import Coalesce

from core.scoping import OrganizationScopedManager


class InteractionRollup(models.Model):
    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    campaign = models.ForeignKey("campaigns.Campaign", on_delete=models.CASCADE, related_name="+")
    hour = models.DateTimeField(help_text="The UTC hour the interactions were created in (its start).")
    kind = models.CharField(max_length=12)
    outcome = models.CharField(max_length=12)
    http_status = models.PositiveSmallIntegerField(null=True)
    error_code = models.CharField(max_length=40)
    # The awarded voucher's type; all NULL when the interaction has no voucher.
    voucher_vendor = models.CharField(max_length=100, null=True)
    voucher_amount = models.DecimalField(max_digits=12, decimal_places=2, null=True)
    voucher_currency = models.CharField(max_length=3, null=True)
    voucher_is_test = models.BooleanField(null=True)
    count = models.PositiveIntegerField()

    objects = OrganizationScopedManager()

    class Meta:
        constraints = [
            # One row per group. NULLs are coalesced (not NULLS NOT DISTINCT) so SQLite, for development, enforces
            # it too: a group without a voucher or an HTTP status is still one row.
            models.UniqueConstraint(
                F("campaign"), F("hour"), F("kind"), F("outcome"), Coalesce("http_status", Value(0)),
                F("error_code"), Coalesce("voucher_vendor", Value("")),
                Coalesce("voucher_amount", Value(Decimal("-1")), output_field=models.DecimalField()),
                Coalesce("voucher_currency", Value("")), Coalesce("voucher_is_test", Value(False)),
                name="interaction_rollup_group_unique",
            ),
        ]
        indexes = [models.Index(fields=["organization", "hour"], name="interaction_rollup_org_hour")]

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.hour:%Y-%m-%d %H:00} {self.kind}/{self.outcome}: {self.count}"


class CampaignHourTotals(models.Model):
    """The summary counts of one campaign in one closed UTC hour: one row per campaign and hour.

    Folded from the hour's ``InteractionRollup`` rows by the same task run. The summary and the by-day and
    by-hour series need no more detail, and with modest traffic the detailed rollups hold almost as many rows
    as the interactions (many groups of one or two), so these keep the overview fast at any size.
    """

    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    campaign = models.ForeignKey("campaigns.Campaign", on_delete=models.CASCADE, related_name="+")
    hour = models.DateTimeField(help_text="The UTC hour (its start).")
    interactions = models.PositiveIntegerField()
    awarded = models.PositiveIntegerField()
    out_of_stock = models.PositiveIntegerField()
    errors = models.PositiveIntegerField()
    exceptions = models.PositiveIntegerField()

    objects = OrganizationScopedManager()

    class Meta:
        verbose_name_plural = "campaign hour totals"
        constraints = [models.UniqueConstraint("campaign", "hour", name="campaign_hour_totals_unique")]
        indexes = [models.Index(fields=["organization", "hour"], name="campaign_hour_totals_org_hour")]

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.hour:%Y-%m-%d %H:00}: {self.interactions}"


class RollupWatermark(models.Model):
    """Every interaction of the organization created before ``rolled_until`` is in the rollups."""

    organization = models.OneToOneField(
        "accounts.Organization", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    rolled_until = models.DateTimeField(null=True, help_text="Empty: nothing rolled up yet.")
    updated_at = models.DateTimeField(auto_now=True)

    objects = OrganizationScopedManager()

    def __str__(self) -> str:
        return f"{self.organization_id}: rolled until {self.rolled_until}"
