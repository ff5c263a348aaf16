"""The broker is down when a large XLSX is asked for (#16 items 1 and 15): the page answers the export's page,
not an error, and the export is failed with its reason once no worker can have started it, never left
waiting."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from core.scoping import scopes_disabled
from grids.models import Export
from grids.services import NOT_STARTED
from grids.tasks import build_export

pytestmark = pytest.mark.django_db(transaction=True)  # commits for real: the queueing runs inside the request


def test_a_large_xlsx_asked_for_with_the_broker_down_fails_with_its_reason_after_the_bound(
    client, organization, admin_user, make_vault, settings, tmp_path, broker
):
    settings.GRID_XLSX_REQUEST_ROWS = 2
    settings.MEDIA_ROOT = tmp_path
    make_vault(organization, vouchers=3)
    client.force_login(admin_user)
    broker.stop()

    response = client.get(reverse("incentives:voucher-list") + "?format=xlsx")

    assert response.status_code == 302, response.status_code
    with scopes_disabled():
        export = Export.objects.get()
    assert response["Location"] == export.get_absolute_url() and export.status == Export.Status.PENDING
    assert client.get(export.get_progress_url()).json()["finished"] is False  # within the bound: still waiting

    with scopes_disabled():  # the bound passes with no worker having started it
        Export.objects.filter(pk=export.pk).update(created_at=timezone.now() - timedelta(seconds=301))
    state = client.get(export.get_progress_url()).json()
    assert (state["status"], state["finished"], state["percent"]) == ("failed", True, 100)
    export.refresh_from_db()
    assert export.error == NOT_STARTED.format(minutes=5)
    assert build_export(export.pk) == Export.Status.FAILED  # the task, delivered late after all, changes nothing
    export.refresh_from_db()
    assert export.status == Export.Status.FAILED and export.file.name == ""
