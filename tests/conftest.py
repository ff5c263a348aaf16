"""Shared fixtures. Tests run on PostgreSQL and Redis (`make test` sets DATABASE_URL / CACHE_URL)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import Membership, Organization, User
from campaigns.models import Campaign
from core.scoping import organization_scope, scopes_disabled
from incentives.models import IncentiveCode, IncentivePool, Vault, Voucher

pytest_plugins = ["tests.browser_support"]


@pytest.fixture(autouse=True, scope="session")
def _require_postgresql(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        assert connection.vendor == "postgresql", "The tests run on PostgreSQL: set DATABASE_URL (make test does)."


@pytest.fixture(autouse=True)
def _forget_engagement_contexts():
    """Kept contexts are per process; a test's rolled-back rows may reuse a campaign's id."""
    from engagement.services.context import forget_contexts

    forget_contexts()
    yield
    forget_contexts()


@pytest.fixture
def make_organization(db):
    counter = iter(range(1, 10_000))

    def make(name: str | None = None, **fields) -> Organization:
        n = next(counter)
        name = name or f"Org {n}"
        return Organization.objects.create(name=name, slug=f"org-{n}-{name.lower().replace(' ', '-')}"[:100], **fields)

    return make


@pytest.fixture
def make_member(db):
    counter = iter(range(1, 10_000))

    def make(organization: Organization, role: str = Membership.Role.ADMIN, username: str | None = None) -> User:
        user = User.objects.create_user(username=username or f"user{next(counter)}-{organization.slug}",
                                        password="pw-for-tests-1")
        Membership.objects.create(user=user, organization=organization, role=role)
        return user

    return make


@pytest.fixture
def organization(make_organization):
    return make_organization("Acme Marketing")


@pytest.fixture
def admin_user(make_member, organization):
    return make_member(organization, Membership.Role.ADMIN, username="alice")


@pytest.fixture
def standard_user(make_member, organization):
    return make_member(organization, Membership.Role.STANDARD, username="sam")


@pytest.fixture
def in_scope(organization):
    """Run the test body inside the organization's scope, as a request would."""
    with organization_scope(organization):
        yield organization


@pytest.fixture
def eager_celery(settings):
    """Tasks run in the calling process, at .delay(), with their exceptions raised."""
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.CELERY_TASK_EAGER_PROPAGATES = True


@pytest.fixture
def unscoped():
    with scopes_disabled():
        yield


@pytest.fixture
def make_campaign(db):
    counter = iter(range(1, 100_000))

    def make(organization: Organization, owner: User, **fields) -> Campaign:
        with scopes_disabled():
            fields.setdefault("name", f"Campaign {next(counter)}")
            fields.setdefault("starts_at", timezone.now() - timedelta(days=1))
            return Campaign.objects.create(organization=organization, owner=owner, **fields)

    return make


@pytest.fixture
def make_vault(db):
    counter = iter(range(1, 100_000))

    def make(organization: Organization, vouchers: int = 0, is_test: bool = False, **fields) -> Vault:
        with scopes_disabled():
            vault = Vault.objects.create(organization=organization, name=fields.pop("name", f"Vault {next(counter)}"))
            Voucher.objects.bulk_create(
                Voucher(vault=vault, vendor="ACME", amount=Decimal("10.00"), currency="USD", code=f"V{vault.pk}-{n}",
                        is_test=is_test)
                for n in range(vouchers)
            )
            return vault

    return make


@pytest.fixture
def make_pool(db):
    def make(organization, codes: int = 0, prefix: str = "C", **fields) -> IncentivePool:
        with scopes_disabled():
            fields.setdefault("name", f"Pool {IncentivePool.objects.count() + 1}")
            pool = IncentivePool.objects.create(organization=organization, **fields)
            IncentiveCode.objects.bulk_create(
                IncentiveCode(pool=pool, organization=organization, code=f"{prefix}{pool.pk}-{n}") for n in range(codes)
            )
            return pool

    return make
