"""Tenancy: one organization never reaches another's rows, by construction (design §2)."""

from datetime import timedelta

import pytest
from django.apps import apps
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from django_scopes.exceptions import ScopeError

from accounts.models import Membership
from campaigns.models import Campaign, Integration
from campaigns.services.integrations import create_integration
from core.scoping import organization_scope, scopes_disabled
from engagement.models import Behavior, Customer, Participation
from grids.models import Export
from incentives.models import CodeImport, IncentivePool, Vault, Voucher, VoucherImport
from tracking.models import TrackingNumber

PROJECT_APPS = {"accounts", "campaigns", "incentives", "tracking", "reporting", "grids", "engagement"}
NOT_TENANT_DATA = {"accounts.User", "accounts.Organization", "accounts.Membership"}


def tenant_models():
    return [m for m in apps.get_models() if m._meta.app_label in PROJECT_APPS and m._meta.label not in NOT_TENANT_DATA]


@pytest.mark.parametrize("model", tenant_models(), ids=lambda m: m._meta.label)
def test_every_organization_owned_model_refuses_queries_outside_a_scope(db, model):
    with pytest.raises(ScopeError):
        list(model.objects.all())


@pytest.mark.parametrize("model", tenant_models(), ids=lambda m: m._meta.label)
def test_every_organization_owned_model_is_empty_in_the_scope_of_no_organization(db, model, make_organization,
                                                                                  make_member, make_campaign,
                                                                                  make_vault):
    org = make_organization()
    make_campaign(org, make_member(org))
    make_vault(org, vouchers=2)
    with organization_scope(None):
        assert list(model.objects.all()) == []


def test_scope_shows_only_its_own_organizations_rows(make_organization, make_member, make_campaign, make_vault):
    a, b = make_organization(), make_organization()
    campaign_a = make_campaign(a, make_member(a))
    make_campaign(b, make_member(b))
    vault_a, _ = make_vault(a, vouchers=3), make_vault(b, vouchers=5)
    with organization_scope(a):
        assert list(Campaign.objects.all()) == [campaign_a]
        assert list(Vault.objects.all()) == [vault_a]
        assert Voucher.objects.count() == 3
        # related managers are scoped too
        assert vault_a.vouchers.count() == 3


# --- the crawl: every URL with an object in it, asked by another organization's admin ----------------


@pytest.fixture
def other_org_objects(make_organization, make_member, make_campaign, make_vault):
    """One object of each kind in organization B, by the name of the URL that shows it (with the URL's
    other arguments after it, when it has some)."""
    b = make_organization("Other Co")
    owner = make_member(b)
    campaign = make_campaign(b, owner)
    vault = make_vault(b, vouchers=1)
    with scopes_disabled():
        integration = create_integration(campaign, name="b-app").integration
        voucher = Voucher.objects.filter(vault=vault).get()
        voucher_import = VoucherImport.objects.create(vault=vault, file_name="b.csv", content=b"")
        pool = IncentivePool.objects.create(organization=b, name="B pool")
        code_import = CodeImport.objects.create(pool=pool, file_name="codes.csv", content=b"")
        export = Export.objects.create(organization=b, user=owner, grid="incentives:voucher-list", path="/",
                                       status=Export.Status.READY, expires_at=timezone.now() + timedelta(hours=1))
        number = TrackingNumber.objects.create(organization=b, number="+14155550199", forward_to="+14155550100",
                                               campaign=campaign)
        customer = Customer.objects.create(organization=b, external_id="b-customer")
        participation = Participation.objects.create(campaign=campaign, customer=customer)
        behavior = Behavior.objects.create(campaign=campaign, name="B visit", event_name="visit")
    return {
        "campaigns:detail": campaign, "campaigns:created": campaign, "campaigns:edit": campaign,
        "campaigns:integration-create": campaign,
        "campaigns:integration-detail": integration, "campaigns:integration-rotate": integration,
        "campaigns:integration-edit": integration,
        "campaigns:integration-revoke": integration,
        "incentives:vault-detail": vault, "incentives:vault-edit": vault, "incentives:vault-import": vault,
        "incentives:voucher-void": voucher, "incentives:pool-detail": pool,
        "grids:export-detail": export, "grids:export-progress": export, "grids:export-file": export,
        "incentives:pool-edit": pool, "incentives:pool-generate": pool, "incentives:pool-import": pool,
        "incentives:code-import-detail": code_import, "incentives:code-import-progress": code_import,
        "incentives:import-detail": voucher_import, "incentives:import-progress": voucher_import,
        "incentives:import-retry": voucher_import, "incentives:code-import-retry": code_import,
        "tracking:number-detail": number, "tracking:number-edit": number, "tracking:number-release": number,
        "tracking:provision-number": campaign,
        "reporting:campaign-dashboard": campaign, "reporting:chart-csv": (campaign, "summary"),
        "engagement:customer-detail": customer, "engagement:customer-tags": customer,
        "engagement:participation-list": campaign, "engagement:settings": campaign,
        "engagement:behavior-create": campaign, "engagement:behavior-edit": behavior,
        "engagement:behavior-archive": behavior, "engagement:participation-detail": participation,
        "engagement:participation-set-state": participation,
    }


def object_url_names(resolver=None, namespace=""):
    """Every named URL pattern of the site that takes an object's key."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            if entry.namespace == "admin":
                continue  # Django's admin site: superusers only, across organizations by design
            if entry.namespace == "api-v1":
                continue  # reached with a key, not a session: tests/pools pins another organization's pool as not_found
            yield from object_url_names(entry, f"{namespace}{entry.namespace}:" if entry.namespace else namespace)
        elif isinstance(entry, URLPattern) and entry.name and entry.pattern.converters:
            yield f"{namespace}{entry.name}"


def test_crawl_covers_every_object_url(other_org_objects):
    assert set(object_url_names()) == set(other_org_objects), "add new object URLs to the crawl's fixture"


def test_another_organizations_objects_answer_404_everywhere(client, organization, admin_user, other_org_objects):
    client.force_login(admin_user)
    for name, target in other_org_objects.items():
        obj, *more = target if isinstance(target, tuple) else (target,)
        url = reverse(name, args=[obj.pk, *more])
        answers = {client.get(url).status_code, client.post(url, {}).status_code}
        # 404 for the method the URL serves; 405 for the other one (answered before any lookup)
        assert 404 in answers and answers <= {404, 405}, f"{url}: {answers}"
    with scopes_disabled():
        integration = other_org_objects["campaigns:integration-detail"]
        integration.refresh_from_db()
        assert integration.status == Integration.Status.TEST  # the POSTs changed nothing
        participation = other_org_objects["engagement:participation-detail"]
        participation.refresh_from_db()
        assert participation.state == "active" and not participation.changes.exists()
        assert not Behavior.objects.filter(archived=True).exists()


def test_filter_choices_hold_only_the_current_organizations_rows(client, organization, admin_user, make_campaign,
                                                                 other_org_objects):
    make_campaign(organization, admin_user, name="Ours")
    client.force_login(admin_user)
    page = client.get(reverse("campaigns:integration-list")).content.decode()
    assert "Ours" in page
    assert other_org_objects["campaigns:detail"].name not in page
    page = client.get(reverse("incentives:voucher-list")).content.decode()
    assert other_org_objects["incentives:vault-detail"].name not in page


def test_downloads_hold_only_the_current_organizations_rows(client, organization, admin_user, make_vault,
                                                            other_org_objects):
    make_vault(organization, vouchers=2)
    client.force_login(admin_user)
    response = client.get(reverse("incentives:voucher-list") + "?format=csv")
    lines = b"".join(response.streaming_content).decode("utf-8-sig").strip().splitlines()
    assert len(lines) == 1 + 2
    assert other_org_objects["incentives:voucher-void"].code not in "\n".join(lines)


# --- roles ------------------------------------------------------------------------------------------


def test_standard_user_cannot_manage_a_campaign_they_do_not_own(client, organization, admin_user, standard_user,
                                                                make_campaign):
    campaign = make_campaign(organization, admin_user)
    with scopes_disabled():
        integration = create_integration(campaign, name="app").integration
    client.force_login(standard_user)
    assert client.get(reverse("campaigns:detail", args=[campaign.pk])).status_code == 200  # sees it
    managing = [("campaigns:edit", campaign.pk), ("campaigns:integration-create", campaign.pk),
                ("campaigns:integration-edit", integration.pk),
                ("campaigns:integration-rotate", integration.pk), ("campaigns:integration-revoke", integration.pk)]
    for name, pk in managing:
        assert client.get(reverse(name, args=[pk])).status_code == 403, name
        assert client.post(reverse(name, args=[pk]), {"name": "x", "status": "test"}).status_code == 403, name


def test_standard_user_manages_the_campaign_they_own(client, organization, standard_user, make_campaign):
    campaign = make_campaign(organization, standard_user)
    client.force_login(standard_user)
    response = client.post(reverse("campaigns:integration-create", args=[campaign.pk]),
                           {"name": "mine", "status": "test", "rate_limit_per_minute": 100})
    assert response.status_code == 200 and b'data-testid="new-key"' in response.content  # the key, shown once
    with scopes_disabled():
        assert campaign.integrations.filter(name="mine").exists()


def test_vaults_are_managed_by_admins_only(client, organization, standard_user, make_vault):
    vault = make_vault(organization, vouchers=1)
    client.force_login(standard_user)
    assert client.get(reverse("incentives:vault-detail", args=[vault.pk])).status_code == 200
    for name in ("incentives:vault-edit", "incentives:vault-import"):
        assert client.get(reverse(name, args=[vault.pk])).status_code == 403
    assert client.get(reverse("incentives:vault-create")).status_code == 403
    with scopes_disabled():
        voucher = vault.vouchers.get()
    assert client.post(reverse("incentives:voucher-void", args=[voucher.pk])).status_code == 403


def test_anonymous_users_are_sent_to_log_in(client, other_org_objects):
    response = client.get(reverse("campaigns:detail", args=[other_org_objects["campaigns:detail"].pk]))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_switching_organization_only_to_ones_the_user_belongs_to(client, organization, admin_user, make_organization,
                                                                  make_campaign):
    second, foreign = make_organization("Second"), make_organization("Foreign")
    Membership.objects.create(user=admin_user, organization=second, role=Membership.Role.STANDARD)
    make_campaign(second, admin_user, name="Second's campaign")
    client.force_login(admin_user)
    assert client.post(reverse("switch-organization"), {"organization": foreign.pk}).status_code == 404
    assert client.post(reverse("switch-organization"), {"organization": second.pk}).status_code == 302
    assert "Second&#x27;s campaign" in client.get(reverse("campaigns:list")).content.decode()


def test_superusers_reach_every_model_in_djangos_admin(client, admin_user, other_org_objects):
    from django.contrib import admin as django_admin

    admin_user.is_staff = admin_user.is_superuser = True
    admin_user.save()
    client.force_login(admin_user)
    for model in django_admin.site._registry:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        assert client.get(url).status_code == 200, url
    campaign = other_org_objects["campaigns:detail"]
    url = reverse("admin:campaigns_campaign_change", args=[campaign.pk])
    assert campaign.name in client.get(url).content.decode()  # across organizations, for superusers only
