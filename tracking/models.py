from django.db import models

from accounts.scoping import OrganizationScopedManager


class Interaction(models.Model):
    """One request against a campaign (an API call, a phone call, ...), whatever its result (design §7)."""

    class Kind(models.TextChoices):
        AWARD = "award", "Award"
        ISSUANCE = "issuance", "Issuance"
        REDEMPTION = "redemption", "Redemption"
        CALL = "call", "Call"
        OPT_IN = "opt_in", "Opt-in"
        EVENT = "event", "Event"

    class Outcome(models.TextChoices):
        SUCCESS = "success", "Success"
        OUT_OF_STOCK = "out_of_stock", "Out of stock"
        ERROR = "error", "Error"
        EXCEPTION = "exception", "Exception"

    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    campaign = models.ForeignKey(
        "campaigns.Campaign", null=True, blank=True, on_delete=models.CASCADE, related_name="interactions"
    )
    integration = models.ForeignKey(
        "campaigns.Integration", null=True, blank=True, on_delete=models.SET_NULL, related_name="interactions"
    )
    kind = models.CharField(max_length=12, choices=Kind.choices)
    outcome = models.CharField(max_length=12, choices=Outcome.choices)
    error_code = models.CharField(max_length=40, blank=True)
    message = models.CharField(max_length=500, blank=True)
    redeemer_mobile = models.CharField(max_length=32, blank=True)
    redeemer_email = models.CharField(max_length=254, blank=True)
    redeemer_external_id = models.CharField(max_length=200, blank=True)
    voucher = models.ForeignKey(
        "incentives.Voucher", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    request_id = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = OrganizationScopedManager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["campaign", "created_at"]),
            models.Index(fields=["organization", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.outcome} at {self.created_at:%Y-%m-%d %H:%M}"
