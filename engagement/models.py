"""Engagement (design §12): customers, a campaign's engagement settings and behaviours, per-customer
participations with their progress, the events that advance them, their completions and their history.

The patterns (``external_id``, tags, ``event_name``) are checked whole by validators and the services; the
database holds what both PostgreSQL and SQLite can check (not empty, no slash, tags lower-case and trimmed).
"""

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models.functions import Lower, Trim

from core.plain import ExactJSONEncoder
from core.scoping import OrganizationScopedManager

from .rules import State

EXTERNAL_ID = RegexValidator(r"\A[^/\s\x00]{1,200}\Z", "1 to 200 characters, no slash, space or NUL.")
TAG = RegexValidator(r"\A[a-z0-9_.:-]{1,50}\Z", "1 to 50 of a-z, 0-9, _ . : -")
EVENT_NAME = RegexValidator(r"\A[A-Za-z0-9_.:-]{1,100}\Z", "1 to 100 of A-Z, a-z, 0-9, _ . : -")
STATES = [(state.value, state.value.capitalize()) for state in State]


def _reward_checks(prefix: str, name: str) -> list[models.CheckConstraint]:
    vendor, amount, pool = f"{prefix}reward_vendor", f"{prefix}reward_amount", f"{prefix}reward_pool"
    no_voucher = models.Q(**{vendor: ""}, **{f"{amount}__isnull": True})
    voucher = ~models.Q(**{vendor: ""}) & models.Q(**{f"{amount}__isnull": False})
    return [models.CheckConstraint(
        condition=no_voucher | (voucher & models.Q(**{f"{pool}__isnull": True})), name=f"{name}_one_reward",
    )]


def _window_check(name: str, field: str) -> models.CheckConstraint:
    starts, ends = f"{field}_starts_at", f"{field}_ends_at"
    return models.CheckConstraint(
        condition=models.Q(**{f"{starts}__isnull": True}) | models.Q(**{f"{ends}__isnull": True})
        | models.Q(**{f"{ends}__gt": models.F(starts)}),
        name=f"{name}_{field}_window_ordered",
    )


class Customer(models.Model):
    # Found by (organization, external_id): the unique index serves the organization's lookups too. On PostgreSQL
    # it also carries id, email and mobile (migration 0005), so a hot read takes the customer from the index alone.
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="customers", db_index=False
    )
    external_id = models.CharField(max_length=200, validators=[EXTERNAL_ID])
    email = models.CharField(max_length=254, blank=True)
    mobile = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OrganizationScopedManager()

    class Meta:
        ordering = ["external_id", "pk"]
        constraints = [
            models.UniqueConstraint("organization", "external_id", name="customer_external_id_unique_in_org"),
            models.CheckConstraint(
                condition=~models.Q(external_id="") & ~models.Q(external_id__contains="/"),
                name="customer_external_id_shape",
            ),
        ]

    def __str__(self) -> str:
        return self.external_id


class CustomerTag(models.Model):
    """A customer's tag: added, never removed by the API (at most ``rules.MAX_TAGS`` a customer)."""

    # customer_tag_unique (customer, tag) serves the customer's lookups, its tags in order.
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="tags", db_index=False)
    tag = models.CharField(max_length=50, validators=[TAG])

    objects = OrganizationScopedManager("customer__organization")

    class Meta:
        ordering = ["tag"]
        constraints = [
            models.UniqueConstraint("customer", "tag", name="customer_tag_unique"),
            models.CheckConstraint(
                condition=models.Q(tag=Lower(Trim("tag"))) & ~models.Q(tag=""), name="customer_tag_shape"
            ),
        ]
        indexes = [models.Index(fields=["tag"], name="customer_tag_by_tag")]

    def __str__(self) -> str:
        return self.tag


class EngagementSettings(models.Model):
    """A campaign's engagement: opt-in, targeting, windows (half-open, empty means open) and the claim."""

    campaign = models.OneToOneField("campaigns.Campaign", on_delete=models.CASCADE, related_name="engagement")
    optin_required = models.BooleanField(default=False)
    opt_in_starts_at = models.DateTimeField(null=True, blank=True)
    opt_in_ends_at = models.DateTimeField(null=True, blank=True)
    opt_in_limit = models.PositiveIntegerField(null=True, blank=True, help_text="Most participants; empty: any.")
    opt_in_taken = models.PositiveIntegerField(default=0, editable=False, help_text="Slots taken, never given back.")
    qualify_tag = models.CharField(max_length=50, blank=True, validators=[TAG])
    disqualify_tag = models.CharField(max_length=50, blank=True, validators=[TAG])
    visible_starts_at = models.DateTimeField(null=True, blank=True)
    visible_ends_at = models.DateTimeField(null=True, blank=True)
    earn_starts_at = models.DateTimeField(null=True, blank=True)
    earn_ends_at = models.DateTimeField(null=True, blank=True)
    claim_starts_at = models.DateTimeField(null=True, blank=True)
    claim_ends_at = models.DateTimeField(null=True, blank=True)
    claim_required = models.BooleanField(default=False)
    # The claim's reward: a voucher type of a linked vault, or a linked pool.
    claim_reward_vendor = models.CharField(max_length=100, blank=True)
    claim_reward_amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    claim_reward_currency = models.CharField(max_length=3, blank=True)
    claim_reward_pool = models.ForeignKey(
        "incentives.IncentivePool", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OrganizationScopedManager("campaign__organization")

    class Meta:
        verbose_name_plural = "engagement settings"
        constraints = [
            *(_window_check("engagement", window) for window in ("opt_in", "visible", "earn", "claim")),
            *_reward_checks("claim_", "engagement_claim"),
            models.CheckConstraint(
                condition=models.Q(opt_in_limit__isnull=True) | models.Q(opt_in_taken__lte=models.F("opt_in_limit")),
                name="engagement_opt_in_within_limit",
            ),
        ]

    def __str__(self) -> str:
        return f"Engagement of {self.campaign}"


class Behavior(models.Model):
    """001's behaviour: events named ``event_name`` advance it towards ``goal`` (0: counted, never completes)."""

    campaign = models.ForeignKey("campaigns.Campaign", on_delete=models.CASCADE, related_name="behaviors")
    name = models.CharField(max_length=200)
    external_id = models.CharField(max_length=100, blank=True)
    event_name = models.CharField(max_length=100, validators=[EVENT_NAME])
    goal = models.PositiveIntegerField(default=1)
    max_times_repeatable = models.PositiveIntegerField(
        null=True, blank=True, default=1, validators=[MinValueValidator(1)], help_text="Empty: unlimited."
    )
    max_times_repeatable_per_period = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1)]
    )
    period = models.PositiveIntegerField(null=True, blank=True, validators=[MinValueValidator(1)],
                                         help_text="Seconds.")
    min_time_between_events = models.PositiveIntegerField(null=True, blank=True, help_text="Seconds.")
    # Its reward: a voucher type of a linked vault, or a linked pool, or none.
    reward_vendor = models.CharField(max_length=100, blank=True)
    reward_amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    reward_currency = models.CharField(max_length=3, blank=True)
    reward_pool = models.ForeignKey(
        "incentives.IncentivePool", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    archived = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OrganizationScopedManager("campaign__organization")

    class Meta:
        ordering = ["campaign", "pk"]
        constraints = [
            models.UniqueConstraint("campaign", "event_name", name="behavior_event_name_unique_in_campaign"),
            models.CheckConstraint(
                condition=~models.Q(event_name="") & ~models.Q(event_name__contains=" "),
                name="behavior_event_name_shape",
            ),
            models.CheckConstraint(
                condition=models.Q(max_times_repeatable__isnull=True) | models.Q(max_times_repeatable__gte=1),
                name="behavior_max_times_positive",
            ),
            models.CheckConstraint(
                condition=models.Q(period__isnull=True) | models.Q(period__gte=1), name="behavior_period_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(max_times_repeatable_per_period__isnull=True)
                | (models.Q(period__isnull=False) & models.Q(max_times_repeatable_per_period__gte=1)),
                name="behavior_per_period_needs_period",
            ),
            *_reward_checks("", "behavior"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.event_name})"


class Participation(models.Model):
    """004's instance: one customer's part in one campaign (test keys make test participations)."""

    # participation_unique (campaign, customer, is_test) serves the campaign's lookups; on PostgreSQL it also
    # carries what a progress read answers from (migration 0005).
    campaign = models.ForeignKey("campaigns.Campaign", on_delete=models.CASCADE, related_name="participations",
                                 db_index=False)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="participations")
    is_test = models.BooleanField(default=False)
    opted_in = models.BooleanField(null=True, blank=True, help_text="Empty: never opted in nor out.")
    opted_in_at = models.DateTimeField(null=True, blank=True)
    opted_out_at = models.DateTimeField(null=True, blank=True)
    took_slot = models.BooleanField(default=False, help_text="Took an opt-in slot (never given back).")
    state = models.CharField(max_length=10, choices=STATES, default=State.ACTIVE)
    instance_state = models.CharField(max_length=10, choices=STATES, default=State.ACTIVE)
    claimed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OrganizationScopedManager("campaign__organization")

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint("campaign", "customer", "is_test", name="participation_unique"),
            models.CheckConstraint(condition=models.Q(state__in=[s.value for s in State]), name="participation_state"),
            models.CheckConstraint(
                condition=models.Q(instance_state__in=[s.value for s in State]), name="participation_instance_state"
            ),
        ]
        indexes = [
            models.Index(fields=["campaign", "state"], name="participation_campaign_state"),
            # The roll's candidates: instances time can still move.
            models.Index(fields=["campaign"], condition=models.Q(instance_state=State.ACTIVE),
                         name="participation_live_instance"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} in {self.campaign_id}: {self.state}/{self.instance_state}"


class BehaviorProgress(models.Model):
    """One behaviour's progress in one participation (``rules.Progress``). Updated on every counted event: its
    pages keep room (``fillfactor``, migration 0002) so an update stays on its page and touches no index."""

    # Looked up through the unique (participation, behavior), whose first column it is: no index of its own.
    participation = models.ForeignKey(Participation, on_delete=models.CASCADE, related_name="progress",
                                      db_index=False)
    behavior = models.ForeignKey(Behavior, on_delete=models.CASCADE, related_name="+")
    progress = models.PositiveIntegerField(default=0)
    achieved = models.PositiveIntegerField(default=0)
    period_index = models.BigIntegerField(null=True, blank=True, help_text="The period progress belongs to.")
    achieved_in_period = models.PositiveIntegerField(default=0)
    last_counted_at = models.DateTimeField(null=True, blank=True)
    counted = models.PositiveIntegerField(default=0, help_text="Counted events, ever.")

    objects = OrganizationScopedManager("participation__campaign__organization")

    class Meta:
        constraints = [models.UniqueConstraint("participation", "behavior", name="progress_unique")]

    def __str__(self) -> str:
        return f"{self.participation_id}/{self.behavior_id}: {self.progress}"


class Completion(models.Model):
    """A behaviour completed once (its ``number``th time), or the participation's claim (no behaviour), with
    the outcome it gave. Unique, so no bug can pay one twice."""

    participation = models.ForeignKey(Participation, on_delete=models.CASCADE, related_name="completions")
    behavior = models.ForeignKey(Behavior, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    number = models.PositiveIntegerField(default=1)
    voucher = models.OneToOneField(
        "incentives.Voucher", null=True, blank=True, on_delete=models.PROTECT, related_name="completion"
    )
    issuance = models.OneToOneField(
        "incentives.Issuance", null=True, blank=True, on_delete=models.PROTECT, related_name="completion"
    )
    interaction = models.ForeignKey(
        "interactions.Interaction", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    kept = models.JSONField(null=True, blank=True, encoder=ExactJSONEncoder, editable=False,
                            help_text="A claim's first answer, which a second claim replays.")

    objects = OrganizationScopedManager("participation__campaign__organization")

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint("participation", "behavior", "number", name="completion_unique"),
            models.UniqueConstraint("participation", condition=models.Q(behavior__isnull=True),
                                    name="completion_one_claim"),
            models.CheckConstraint(
                condition=models.Q(voucher__isnull=True) | models.Q(issuance__isnull=True),
                name="completion_one_outcome",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.participation_id}/{self.behavior_id} #{self.number}"


class Event(models.Model):
    """An accepted event, whether it counted or not (``reason``). Inserted on every call of the hottest
    operation: the campaign, the customer and the participation are found through the composite indexes they
    lead, each with no index of its own."""

    campaign = models.ForeignKey("campaigns.Campaign", on_delete=models.CASCADE, related_name="+", db_index=False)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="events", db_index=False)
    is_test = models.BooleanField(default=False)
    participation = models.ForeignKey(
        Participation, null=True, blank=True, on_delete=models.CASCADE, related_name="events", db_index=False
    )
    behavior = models.ForeignKey(Behavior, on_delete=models.CASCADE, related_name="events")
    event_name = models.CharField(max_length=100)
    occurred_at = models.DateTimeField()
    counted = models.BooleanField()
    reason = models.CharField(max_length=40, blank=True)
    completion = models.OneToOneField(
        Completion, null=True, blank=True, on_delete=models.SET_NULL, related_name="event"
    )
    interaction = models.ForeignKey(
        "interactions.Interaction", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()

    objects = OrganizationScopedManager("campaign__organization")

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["participation", "behavior", "id"], name="event_replay_order"),
            models.Index(fields=["campaign", "created_at"], name="event_campaign_created"),
            models.Index(fields=["customer", "created_at"], name="event_customer_created"),
        ]

    def __str__(self) -> str:
        return f"{self.event_name} at {self.occurred_at:%Y-%m-%d %H:%M}"


class ParticipationChange(models.Model):
    """A participation's state change (system or admin): from, to, when, why, by whom."""

    participation = models.ForeignKey(Participation, on_delete=models.CASCADE, related_name="changes")
    from_state = models.CharField(max_length=10, blank=True)  # blank: the participation was made
    to_state = models.CharField(max_length=10)
    from_instance_state = models.CharField(max_length=10, blank=True)
    to_instance_state = models.CharField(max_length=10)
    changed_at = models.DateTimeField()
    reason = models.CharField(max_length=200)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = OrganizationScopedManager("participation__campaign__organization")

    class Meta:
        ordering = ["-changed_at", "-pk"]
        indexes = [models.Index(fields=["participation", "-changed_at"], name="participation_change_order")]

    def __str__(self) -> str:
        return f"{self.participation_id}: {self.from_state} → {self.to_state}"
