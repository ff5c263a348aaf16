import random
import secrets
from datetime import timedelta
from decimal import Decimal

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from accounts.models import Membership, Organization, User
from campaigns.models import Campaign
from campaigns.services.integrations import create_integration
from core.scoping import organization_scope
from incentives.models import Vault, Voucher
from interactions.models import Interaction

DEMO_SLUG = "demo"
VOUCHER_TYPES = [("ACME", Decimal("10.00")), ("ACME", Decimal("25.00")), ("Globex", Decimal("5.00"))]


class Command(BaseCommand):
    help = "Loads a demo organization (an admin, a standard user, a live campaign with vouchers) and prints logins."

    def add_arguments(self, parser):
        parser.add_argument("--vouchers", type=int, default=200, help="Vouchers of each type, test and live.")

    @transaction.atomic
    def handle(self, *args, vouchers: int, **options):
        organization, created = Organization.objects.get_or_create(
            slug=DEMO_SLUG, defaults={"name": "Demo Organization", "time_zone": "Europe/London",
                                      "default_currency": "USD"}
        )
        logins = {}
        for username, role in (("admin", Membership.Role.ADMIN), ("marketer", Membership.Role.STANDARD)):
            user, _ = User.objects.get_or_create(username=username, defaults={"email": f"{username}@example.com"})
            password = secrets.token_urlsafe(9)  # a fresh one each run, so the printed login always works
            user.set_password(password)
            user.is_staff = user.is_superuser = role == Membership.Role.ADMIN  # the demo admin also sees Django's admin
            user.save()
            Membership.objects.get_or_create(user=user, organization=organization, defaults={"role": role})
            logins[username] = (password, role)

        key = None
        if created:
            key = self._load_campaign(organization, logins, vouchers)

        self.stdout.write(self.style.SUCCESS("Demo organization ready at http://127.0.0.1:8000/"))
        for username, (password, role) in logins.items():
            self.stdout.write(f"  {role:<8} login: {username} / {password}")
        if key:
            self.stdout.write(f"  live API key of the demo campaign (shown once): {key}")

    def _load_campaign(self, organization, logins, per_type: int) -> str:
        admin = User.objects.get(username="admin")
        with organization_scope(organization):
            vault = Vault.objects.create(organization=organization, name="Demo vault",
                                         description="Gift cards for the demo campaign.")
            Voucher.objects.bulk_create(
                Voucher(vault=vault, vendor=vendor, amount=amount, currency="USD", is_test=is_test,
                        code=f"{'T' if is_test else 'L'}-{vendor[:3].upper()}-{int(amount)}-{n:05d}",
                        pin=f"{n % 10000:04d}")
                for vendor, amount in VOUCHER_TYPES
                for is_test in (True, False)
                for n in range(per_type)
            )
            campaign = Campaign.objects.create(
                organization=organization, name="Spring gift cards", owner=admin, external_id="spring-demo",
                description="A live demo campaign: a linked vault and a live integration.",
                starts_at=timezone.now() - timedelta(days=1), ends_at=timezone.now() + timedelta(days=60),
            )
            campaign.vaults.add(vault)
            create_integration(campaign, name="Demo test app", status="test", created_by=admin)
            issued = create_integration(campaign, name="Demo shop", status="live", created_by=admin)
            self._load_history(campaign, issued.integration, vault)
            return issued.key

    def _load_history(self, campaign, integration, vault, requests: int = 600) -> None:
        """A month of API traffic, so the interactions grid and the dashboards have something to show."""
        rng = random.Random(2026)
        now = timezone.now()
        # Every third live voucher: each type keeps most of its vouchers for the README's first award to take.
        live = list(Voucher.objects.filter(vault=vault, is_test=False).order_by("pk"))[::3]
        rows, awarded = [], []
        for _ in range(requests):
            at = now - timedelta(minutes=rng.randrange(30 * 24 * 60))
            outcome, code, status = rng.choices(
                [("success", "", 201), ("out_of_stock", "out_of_vouchers", 409), ("error", "unknown_vendor", 422),
                 ("error", "invalid_request", 400), ("exception", "internal_error", 500)],
                weights=[75, 8, 8, 7, 2],
            )[0]
            voucher = live.pop() if outcome == "success" and live else None
            if voucher is not None:
                awarded.append(voucher.pk)
            rows.append(Interaction(
                organization=campaign.organization, campaign=campaign, integration=integration, kind="award",
                outcome=outcome, error_code=code, http_status=status, voucher=voucher, created_at=at,
                redeemer_email=f"customer{rng.randrange(400)}@example.com", latency_ms=rng.randrange(8, 60),
            ))
        Interaction.objects.bulk_create(rows)
        Voucher.objects.filter(pk__in=awarded).update(status=Voucher.Status.AWARDED, awarded_at=now)
