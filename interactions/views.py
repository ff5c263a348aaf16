"""The interactions grid (design §7): every request against a campaign, whatever its result."""

from campaigns.status import STATUS_DEFINITIONS, CampaignStatus
from grids.views import GridView

from .filters import InteractionFilterSet
from .models import Interaction
from .tables import InteractionTable

OUTCOME_DEFINITIONS = {
    "Success": "The request did what it asked: a voucher awarded, a code issued or redeemed, a call routed.",
    "Out of stock": "No voucher of the requested type was left (out_of_vouchers), or no code (pool_exhausted).",
    "Error": "The request was refused: invalid data, an unknown vendor, a campaign not live or ended, a limit.",
    "Exception": "The application failed unexpectedly: the caller got internal_error (worth a look), or "
                 "service_unavailable when the database failed under the request (worth a retry).",
}


class InteractionListView(GridView):
    model = Interaction
    table_class = InteractionTable
    filterset_class = InteractionFilterSet
    title = "Interactions"
    definitions = OUTCOME_DEFINITIONS | {
        f"Campaign {CampaignStatus(status).label.lower()}": text for status, text in STATUS_DEFINITIONS.items()
    }
    empty_text = "No interactions yet: they appear as soon as an integration calls the API."

    def get_queryset(self):
        # Of the related rows the table shows a name or a code: read just those (a campaign row is wide).
        return Interaction.objects.select_related("campaign", "integration", "voucher").only(
            *(field.name for field in Interaction._meta.concrete_fields),
            "campaign__name", "integration__name", "voucher__code",
        )
