"""Pool pages (design §5, §9): the grid with counts, the detail with codes, create and edit, codes from a pattern."""

from core.scoping import scopes_disabled
from incentives.models import IncentiveCode, IncentivePool


def test_the_pool_grid_shows_counts_from_the_codes(client, admin_user, organization, make_pool):
    pool = make_pool(organization, codes=4, name="Store coupons")
    with scopes_disabled():
        IncentiveCode.objects.filter(code=f"C{pool.pk}-0").update(issued_count=1)
    client.force_login(admin_user)

    response = client.get("/incentives/pools/")

    assert response.status_code == 200
    row = next(r for r in response.context["table"].rows if r.record.pk == pool.pk)
    assert (row.record.total, row.record.issued, row.record.remaining) == (4, 1, 3)


def test_the_pool_page_lists_its_codes(client, admin_user, organization, make_pool):
    pool = make_pool(organization, codes=2, name="Store coupons")
    client.force_login(admin_user)
    response = client.get(f"/incentives/pools/{pool.pk}/")
    assert response.status_code == 200
    assert f"C{pool.pk}-1".encode() in response.content and response.context["counts"]["remaining"] == 2


def test_an_admin_creates_and_edits_a_pool(client, admin_user, organization):
    client.force_login(admin_user)
    fields = {"name": "Spring", "distribution": "unique", "issuance_allowed": "on", "redemption_allowed": "on",
              "low_threshold": 10, "max_characters": 20, "notification_email": "ops@example.com"}
    assert client.post("/incentives/pools/new/", fields).status_code == 302
    with scopes_disabled():
        pool = IncentivePool.objects.get(name="Spring")
    assert pool.organization == organization and pool.low_threshold == 10
    assert client.post(f"/incentives/pools/{pool.pk}/edit/", {**fields, "low_threshold": 3}).status_code == 302
    pool.refresh_from_db()
    assert pool.low_threshold == 3


def test_generated_codes_follow_the_pattern(client, admin_user, organization, make_pool):
    pool = make_pool(organization, name="Spring")
    client.force_login(admin_user)

    response = client.post(f"/incentives/pools/{pool.pk}/generate/", {"pattern": "SPRING-####-????", "count": 200})

    assert response.status_code == 302
    with scopes_disabled():
        codes = list(IncentiveCode.objects.filter(pool=pool).values_list("code", flat=True))
    assert len(codes) == len(set(codes)) == 200
    assert all(c.startswith("SPRING-") and c[7:11].isdigit() and c[12:].isalpha() and len(c) == 16 for c in codes)


def test_generated_codes_never_repeat_a_code_of_the_organization(client, admin_user, organization, make_pool):
    other = make_pool(organization, name="Older")
    pool = make_pool(organization, name="Spring")
    with scopes_disabled():
        IncentiveCode.objects.bulk_create(
            IncentiveCode(pool=other, organization=organization, code=f"X{n}") for n in range(5)
        )
    client.force_login(admin_user)

    client.post(f"/incentives/pools/{pool.pk}/generate/", {"pattern": "X#", "count": 5})

    with scopes_disabled():
        assert set(IncentiveCode.objects.filter(pool=pool).values_list("code", flat=True)) == {
            f"X{n}" for n in range(5, 10)
        }


def test_a_pattern_longer_than_the_pools_codes_is_refused(client, admin_user, organization, make_pool):
    pool = make_pool(organization, name="Short", max_characters=8)
    client.force_login(admin_user)
    response = client.post(f"/incentives/pools/{pool.pk}/generate/", {"pattern": "SPRING-####", "count": 5})
    assert response.status_code == 200 and response.context["form"].errors["pattern"]
    with scopes_disabled():
        assert not IncentiveCode.objects.filter(pool=pool).exists()


def test_standard_users_cannot_manage_pools(client, standard_user, organization, make_pool):
    pool = make_pool(organization, name="Spring")
    client.force_login(standard_user)
    assert client.get(f"/incentives/pools/{pool.pk}/generate/").status_code == 403
    assert client.get("/incentives/pools/new/").status_code == 403


def test_the_campaign_edit_page_links_and_unlinks_pools(client, admin_user, organization, make_campaign, make_pool):
    campaign = make_campaign(organization, admin_user, name="Spring promo", external_id="spring")
    pool = make_pool(organization, name="Store coupons")
    client.force_login(admin_user)
    fields = {"name": campaign.name, "external_id": campaign.external_id, "owner": admin_user.pk,
              "starts_at": "2026-01-01T00:00", "end_behavior": campaign.end_behavior}

    assert client.post(f"/campaigns/{campaign.pk}/edit/", {**fields, "pools": [pool.pk]}).status_code == 302
    with scopes_disabled():
        assert list(campaign.pools.all()) == [pool]
    page = client.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert f'href="/incentives/pools/{pool.pk}/">Store coupons</a>' in page

    assert client.post(f"/campaigns/{campaign.pk}/edit/", fields).status_code == 302
    with scopes_disabled():
        assert not campaign.pools.exists()


def test_a_pattern_with_a_space_or_a_slash_is_refused(client, admin_user, organization, make_pool):
    pool = make_pool(organization, name="Spring")
    client.force_login(admin_user)
    for pattern in ("SPRING ####", "SPRING/####"):
        response = client.post(f"/incentives/pools/{pool.pk}/generate/", {"pattern": pattern, "count": 5})
        assert response.status_code == 200 and response.context["form"].errors["pattern"]
    with scopes_disabled():
        assert not IncentiveCode.objects.filter(pool=pool).exists()
