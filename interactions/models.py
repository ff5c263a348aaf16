"""The interactions log (design §7) and the answers kept for idempotent API writes (design §8).

Both tables keep the names they had in the tracking app (``tracking_interaction``,
``tracking_idempotencyrecord``): the models moved, the rows did not.
"""

from django.db import models
from django.db.models.functions import Upper
from django.utils import timezone

from core.plain import ExactJSONEncoder
from core.scoping import OrganizationScopedManager

# The kinds of interaction that can give a voucher away: an award, and engagement's events and claims (§12).
AWARDING_KINDS = ("award", "event", "claim")


def awarded(voucher: str = "voucher") -> models.Q:
    """The one rule of "awarded" (design §7): a successful interaction of any kind that gave a voucher away (a
    replay of it has none). ``voucher`` names the voucher column of the rows asked (a rollup keeps
    ``voucher_vendor``)."""
    return models.Q(kind__in=AWARDING_KINDS, outcome="success", **{f"{voucher}__isnull": False})


AWARDED = awarded()


class Interaction(models.Model):
    """One request against a campaign (an API call, a phone call, ...), whatever its result (design §7)."""

    class Kind(models.TextChoices):
        AWARD = "award", "Award"
        ISSUANCE = "issuance", "Issuance"
        REDEMPTION = "redemption", "Redemption"
        CALL = "call", "Call"
        OPT_IN = "opt_in", "Opt-in"
        OPT_OUT = "opt_out", "Opt-out"
        EVENT = "event", "Event"
        CLAIM = "claim", "Claim"
        DELETION = "deletion", "Deletion"
        LOOKUP = "lookup", "Lookup"  # an API read, e.g. GET /api/v1/campaign

    class Outcome(models.TextChoices):
        SUCCESS = "success", "Success"
        OUT_OF_STOCK = "out_of_stock", "Out of stock"
        ERROR = "error", "Error"
        EXCEPTION = "exception", "Exception"

    # Every call writes a row: the (organization, created_at) and (campaign, created_at) indexes serve these keys'
    # lookups too, so neither gets an index of its own.
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    campaign = models.ForeignKey(
        "campaigns.Campaign", null=True, blank=True, on_delete=models.CASCADE, related_name="interactions",
        db_index=False,
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
    created_at = models.DateTimeField(default=timezone.now, db_index=True)  # settable, for backfills

    objects = OrganizationScopedManager()

    class Meta:
        db_table = "tracking_interaction"
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["campaign", "created_at"]),
            models.Index(fields=["organization", "created_at"]),
            # The interactions grid's redeemer search: mobile and external id exactly, email case-insensitively.
            models.Index(fields=["redeemer_mobile"], name="interaction_redeemer_mobile"),
            models.Index(Upper("redeemer_email"), name="interaction_redeemer_email"),
            models.Index(fields=["redeemer_external_id"], name="interaction_redeemer_ext_id"),
            # max_awards_per_redeemer counts a redeemer's awards in a campaign by any identifier it gave.
            *(
                models.Index(
                    fields=["campaign", field],
                    condition=AWARDED & ~models.Q(**{field: ""}),
                    name=f"interaction_award_{field.removeprefix('redeemer_')}",
                )
                for field in ("redeemer_mobile", "redeemer_email", "redeemer_external_id")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.outcome} at {self.created_at:%Y-%m-%d %H:%M}"


class IdempotencyRecord(models.Model):
    """The first result of a write sent with a ``reference`` (design §8), replayed to its copies.

    The row is inserted first, in the write's transaction: a racing copy's INSERT waits on the unique index
    until the first commits (then replays it) or rolls back (then does the write itself).
    """

    integration = models.ForeignKey("campaigns.Integration", on_delete=models.CASCADE, related_name="+")
    reference = models.CharField(max_length=100)
    request_fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the request's meaningful fields.")
    body = models.JSONField(null=True, encoder=ExactJSONEncoder, help_text="The first write's domain result.")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = OrganizationScopedManager("integration__campaign__organization")

    class Meta:
        db_table = "tracking_idempotencyrecord"
        constraints = [
            models.UniqueConstraint("integration", "reference", name="idempotency_reference_unique_per_integration")
        ]
        indexes = [models.Index(fields=["created_at"])]

    def __str__(self) -> str:
        return f"{self.integration_id}: {self.reference}"
