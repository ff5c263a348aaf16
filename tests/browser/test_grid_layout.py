"""The grids' layout in a real browser: a styled filter form on every grid, and interaction rows that read on one
line on a laptop screen (1400 px wide)."""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import Membership
from campaigns.services.integrations import create_integration
from core.scoping import scopes_disabled
from interactions.models import Interaction

pytestmark = pytest.mark.browser

LAPTOP = {"width": 1400, "height": 900}


@pytest.fixture
def alice(make_member, organization):
    return make_member(organization, Membership.Role.ADMIN, username="alice")


def test_the_reporting_filter_form_is_styled_and_has_no_label_for_hidden_fields(
        page, logged_in_page, alice, organization, make_campaign, screenshot):
    make_campaign(organization, alice, name="Spring launch")
    logged_in_page(alice)

    page.goto("/reporting/")
    screenshot(page, "grid-layout-reporting")

    selects = page.locator("#grid-filters select")
    expect(selects.first).to_be_visible()
    assert selects.count() > 0
    for index in range(selects.count()):
        expect(selects.nth(index)).to_have_class(re.compile(r"(^|\s)form-select(\s|$)"))
    assert "[invalid name]" not in page.locator("body").inner_text()


def test_interaction_rows_read_on_one_line_at_1400_px(page, logged_in_page, alice, organization, make_campaign,
                                                      make_vault, screenshot):
    campaign = make_campaign(organization, alice, name="Spring launch for returning customers in the north-west")
    with scopes_disabled():
        integration = create_integration(campaign, name="Call-centre integration with a long name").integration
        vouchers = list(make_vault(organization, vouchers=6).vouchers.all())
        Interaction.objects.bulk_create(
            Interaction(
                organization=organization, campaign=campaign, integration=integration, kind="award",
                outcome=["success", "error", "out_of_stock"][n % 3],
                error_code="" if n % 3 == 0 else "redeemer_limit_reached",
                voucher=vouchers[n % 6] if n % 3 == 0 else None,
                redeemer_mobile=f"+4477009000{n:02}",
                redeemer_email=f"a.very.long.redeemer.address.number-{n}@subdomain.example-company.co.uk",
                redeemer_external_id=f"CRM-EXTERNAL-CUSTOMER-IDENTIFIER-{n:06}-0000-ABCDEF",
                message="The redeemer has already received the maximum number of awards for this campaign " * 2,
                http_status=[201, 409, 409][n % 3], latency_ms=120 + n,
                request_id=f"req-9b1c2d3e-4f5a-6b7c-8d9e-{n:012}",
            )
            for n in range(12)
        )
    page.set_viewport_size(LAPTOP)
    logged_in_page(alice)

    page.goto("/interactions/")
    screenshot(page, "grid-layout-interactions-1400")

    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(12)
    one_line = page.locator("table tbody tr td").first.evaluate(
        "td => { const s = getComputedStyle(td);"
        " return parseFloat(s.lineHeight) + parseFloat(s.paddingTop) + parseFloat(s.paddingBottom); }")
    heights = rows.evaluate_all("rows => rows.map(row => row.getBoundingClientRect().height)")
    assert max(heights) <= 1.5 * one_line, (heights, one_line)

    wrapper = page.locator(".table-responsive")
    widths = wrapper.evaluate("el => [el.scrollWidth, el.clientWidth]")
    assert widths[0] <= widths[1], widths

    email_header = page.get_by_role("columnheader", name="Redeemer email")
    expect(email_header).to_be_visible()
    first_email = page.locator("table tbody tr").first.get_by_title("a.very.long.redeemer.address", exact=False)
    expect(first_email).to_be_visible()
    box, frame = email_header.bounding_box(), wrapper.bounding_box()
    assert box["x"] + box["width"] <= frame["x"] + frame["width"] + 1
