import uuid

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone

from accounts.currencies import validate_currency
from core.scoping import OrganizationScopedManager


class Vault(models.Model):
    """A store of vouchers that campaigns draw from."""

    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="vaults")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OrganizationScopedManager()

    class Meta:
        ordering = ["name", "pk"]
        constraints = [models.UniqueConstraint("organization", Lower("name"), name="vault_name_ci_unique_in_org")]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("incentives:vault-detail", args=[self.pk])


class Voucher(models.Model):
    """One code to hand out. Its *type* is (vendor, amount, currency)."""

    class Status(models.TextChoices):
        AVAILABLE = "available", "Available"
        AWARDED = "awarded", "Awarded"
        VOID = "void", "Void"

    vault = models.ForeignKey(Vault, on_delete=models.CASCADE, related_name="vouchers")
    vendor = models.CharField(max_length=100)
    amount = models.DecimalField(max_digits=12, decimal_places=2, validators=[MinValueValidator(0)])
    currency = models.CharField(max_length=3, validators=[validate_currency])
    code = models.CharField(max_length=255)
    pin = models.CharField(max_length=64, blank=True)
    is_test = models.BooleanField(default=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.AVAILABLE)
    awarded_at = models.DateTimeField(null=True, blank=True)
    interaction = models.ForeignKey(
        "interactions.Interaction",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The interaction that awarded it.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = OrganizationScopedManager("vault__organization")

    class Meta:
        ordering = ["-pk"]
        constraints = [
            models.UniqueConstraint("vault", "code", name="voucher_code_unique_in_vault"),
            models.CheckConstraint(condition=models.Q(amount__gte=0), name="voucher_amount_not_negative"),
        ]
        indexes = [
            # The award's pick: the first available voucher of one type in one vault. Partial, so awarded
            # vouchers leave it (HOT-free updates aside) and the pick never walks them.
            models.Index(
                fields=["vault", "vendor", "amount", "currency", "is_test", "id"],
                condition=models.Q(status="available"),
                name="voucher_available_pick",
            ),
            models.Index(fields=["vault", "status"], name="voucher_vault_status"),
        ]

    def __str__(self) -> str:
        return f"{self.vendor} {self.amount} {self.currency} ({self.code})"


class CsvImport(models.Model):
    """One CSV upload, checked whole then imported whole by a background task (see incentives/imports.py)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to start"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Imported"
        FAILED = "failed", "Nothing imported"

    file_name = models.CharField(max_length=255)
    # Kept in the database, not on a disk, so any web process and any worker can read it; cleared once done.
    content = models.BinaryField(null=True, editable=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    total_rows = models.PositiveIntegerField(default=0)
    imported_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True, help_text="[{line, message}] when nothing was imported.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The run that owns a running import: each claim takes the next number and a run writes only while it is still
    # its own, so a worker that wakes up after its lease ran out changes nothing (services/import_lease.py).
    attempt = models.PositiveIntegerField(default=0, editable=False)
    heartbeat_at = models.DateTimeField(null=True, blank=True, editable=False)  # the lease, renewed while running
    # How often, and when last, its task was handed to the broker while pending (the upload, a retry, the beat job's
    # sends again when no worker took it: services/import_recovery.py).
    sends = models.PositiveSmallIntegerField(default=1, editable=False)
    sent_at = models.DateTimeField(default=timezone.now, editable=False)

    # Each subclass names the object its rows go into (``vault`` or ``pool``), its own pages' URL names
    # (``<prefix>-detail``, ``<prefix>-progress``), what the rows are, and the list page of such objects
    # (URL name, label) for breadcrumbs.
    target_field: str
    url_prefix: str
    rows_noun: str
    target_list: tuple[str, str]

    class Meta:
        abstract = True
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.file_name} → {self.target}"

    def get_absolute_url(self) -> str:
        return reverse(f"{self.url_prefix}-detail", args=[self.pk])

    def get_progress_url(self) -> str:
        return reverse(f"{self.url_prefix}-progress", args=[self.pk])

    @property
    def target(self):
        return getattr(self, self.target_field)

    def get_retry_url(self) -> str:
        return reverse(f"{self.url_prefix}-retry", args=[self.pk])

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.SUCCEEDED, self.Status.FAILED)

    @property
    def stopped_by_fault(self) -> bool:
        """Failed with no error on any line: the import could not finish (a worker lost, no worker, a bug), the file
        is not at fault, so it is kept for a retry."""
        return self.status == self.Status.FAILED and all(error["line"] is None for error in self.errors)


class VoucherImport(CsvImport):
    """A CSV of vouchers into a vault."""

    vault = models.ForeignKey(Vault, on_delete=models.CASCADE, related_name="imports")

    target_field = "vault"
    url_prefix = "incentives:import"
    rows_noun = "vouchers"
    target_list = ("incentives:vault-list", "Vaults")
    objects = OrganizationScopedManager("vault__organization")

    class Meta(CsvImport.Meta):
        pass



class IncentivePool(models.Model):
    """A pool of incentive codes (design §5); its codes, issuances and redemptions come with the pools issue."""

    class Distribution(models.TextChoices):
        UNIQUE = "unique", "Unique: each code issued once"
        MULTI = "multi", "Multi: codes issued many times"

    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="pools")
    name = models.CharField(max_length=200)
    issuance_allowed = models.BooleanField(default=True)
    redemption_allowed = models.BooleanField(default=True)
    distribution = models.CharField(max_length=10, choices=Distribution.choices, default=Distribution.UNIQUE)
    low_threshold = models.PositiveIntegerField(default=0)
    max_characters = models.PositiveSmallIntegerField(default=50)
    notification_email = models.EmailField(blank=True)
    # The low-threshold email of a crossing (services/thresholds.py): due from ``low_notice_due_at`` once the
    # crossing is claimed (a sender's lease pushes it on), ``low_notified_at`` once sent; both cleared (re-armed)
    # when remaining rises above the threshold again.
    low_notice_due_at = models.DateTimeField(null=True, blank=True, editable=False)
    low_notified_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OrganizationScopedManager()

    class Meta:
        ordering = ["name", "pk"]
        constraints = [models.UniqueConstraint("organization", Lower("name"), name="pool_name_ci_unique_in_org")]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("incentives:pool-detail", args=[self.pk])


class CodeImport(CsvImport):
    """A CSV of codes, one a line, into a pool."""

    pool = models.ForeignKey(IncentivePool, on_delete=models.CASCADE, related_name="imports")

    target_field = "pool"
    url_prefix = "incentives:code-import"
    rows_noun = "codes"
    target_list = ("incentives:pool-list", "Pools")
    objects = OrganizationScopedManager("pool__organization")

    class Meta(CsvImport.Meta):
        pass



class IncentiveCode(models.Model):
    """One code of a pool; unique in its organization, so a code alone finds its pool (design §5)."""

    # The codes that are secrets (design §9: shown only to admins): those not issued yet.
    SECRET = models.Q(issued_count=0)

    pool = models.ForeignKey(IncentivePool, on_delete=models.CASCADE, related_name="codes")
    # Denormalised from the pool, for the organization-wide unique constraint.
    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    code = models.CharField(max_length=255)  # at most pool.max_characters: checked by the service and the form
    active = models.BooleanField(default=True)
    issued_count = models.PositiveIntegerField(default=0)
    issued_unique = models.PositiveIntegerField(default=0)
    redeemed_count = models.PositiveIntegerField(default=0)
    redeemed_unique = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OrganizationScopedManager()

    class Meta:
        ordering = ["code", "pk"]
        constraints = [models.UniqueConstraint("organization", "code", name="incentive_code_unique_in_org")]
        indexes = [
            # The unique pool's pick: an active code never issued. Partial, so issued codes leave it.
            models.Index(
                fields=["pool"], condition=models.Q(active=True, issued_count=0), name="incentive_code_unissued"
            ),
        ]

    def __str__(self) -> str:
        return self.code


class Issuee(models.Model):
    """The stable ``issuee_id`` of one ``external_issuee_id`` in one organization."""

    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    external_issuee_id = models.CharField(max_length=200)
    issuee_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = OrganizationScopedManager()

    class Meta:
        constraints = [
            models.UniqueConstraint("organization", "external_issuee_id", name="issuee_external_id_unique_in_org")
        ]

    def __str__(self) -> str:
        return self.external_issuee_id


class CodeEvent(models.Model):
    """What an issuance and a redemption share (design §5)."""

    code = models.ForeignKey(IncentiveCode, on_delete=models.CASCADE, related_name="+")
    pool = models.ForeignKey(IncentivePool, on_delete=models.CASCADE, related_name="+")
    external_issuee_id = models.CharField(max_length=200)
    issuee_id = models.UUIDField()
    referring_application = models.CharField(max_length=100, blank=True)
    referring_application_ref_id = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OrganizationScopedManager("pool__organization")

    class Meta:
        abstract = True
        ordering = ["-pk"]

    def __str__(self) -> str:
        return f"{self.code_id} → {self.external_issuee_id}"


class Issuance(CodeEvent):
    class Meta(CodeEvent.Meta):
        indexes = [models.Index(fields=["code", "external_issuee_id"], name="issuance_code_issuee")]


class Redemption(CodeEvent):
    class Meta(CodeEvent.Meta):
        # Each external_issuee_id redeems a code at most once (a unique code: at most once at all, by the service).
        constraints = [
            models.UniqueConstraint("code", "external_issuee_id", name="redemption_once_per_issuee_and_code")
        ]
