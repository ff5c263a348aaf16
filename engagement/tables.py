import django_tables2 as tables
from django.urls import reverse

from grids.tables import GridTable, StatusColumn, YesNoColumn

from .models import Customer, Participation


class CustomerTable(GridTable):
    external_id = tables.Column(linkify=lambda record: reverse("engagement:customer-detail", args=[record.pk]),
                                verbose_name="External ID")
    tag_list = tables.Column(verbose_name="Tags", orderable=False)
    participation_count = tables.Column(verbose_name="Campaigns")

    class Meta(GridTable.Meta):
        model = Customer
        fields = ("external_id", "email", "mobile", "tag_list", "participation_count", "created_at")


class ParticipationTable(GridTable):
    customer = tables.Column(accessor="customer__external_id", verbose_name="Customer",
                             linkify=lambda record: reverse("engagement:participation-detail", args=[record.pk]))
    state = StatusColumn()
    instance_state = StatusColumn(verbose_name="Instance")
    opted_in = YesNoColumn(verbose_name="Opted in", default="—")
    counted_events = tables.Column(verbose_name="Counted events")
    completion_count = tables.Column(verbose_name="Completions")
    is_test = YesNoColumn(verbose_name="Test")

    class Meta(GridTable.Meta):
        model = Participation
        fields = ("customer", "state", "instance_state", "opted_in", "counted_events", "completion_count", "is_test",
                  "created_at", "updated_at")
