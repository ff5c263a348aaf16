"""The customers grid and a customer's page (design §12): members read, admins create and edit tags."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.views.generic import TemplateView

from accounts.permissions import AdminRequiredMixin, MemberRequiredMixin, is_org_admin
from core.errors import DomainError
from core.forms import show_on_form
from grids.views import GridView

from ..filters import CustomerFilterSet
from ..forms import CustomerForm, CustomerTagsForm
from ..models import Customer, Event, Participation, ParticipationChange
from ..services.customers import CustomerIn, create_customer, set_tags, tag_names
from ..services.listing import customer_rows
from ..tables import CustomerTable

RECENT = 50


class CustomerListView(GridView):
    model = Customer
    table_class = CustomerTable
    filterset_class = CustomerFilterSet
    create_url = "engagement:customer-create"
    empty_text = "No customers yet: the API makes them on first use, or an admin adds one."

    def can_create(self) -> bool:
        return is_org_admin(self.request.membership)

    def get_queryset(self):
        return customer_rows()


class CustomerCreateView(AdminRequiredMixin, TemplateView):
    template_name = "engagement/customer_form.html"

    def get(self, request):
        return self.render_to_response({"form": CustomerForm()})

    def post(self, request):
        form = CustomerForm(request.POST)
        if form.is_valid():
            try:
                customer = create_customer(request.organization.pk, CustomerIn(**form.cleaned_data))
            except DomainError as error:
                show_on_form(form, error)
            else:
                messages.success(request, "Customer added.")
                return redirect("engagement:customer-detail", pk=customer.pk)
        return self.render_to_response({"form": form})


def customer_page(request, customer: Customer, tags_form: CustomerTagsForm | None = None) -> dict:
    participations = Participation.objects.filter(customer=customer).select_related("campaign")
    return {
        "customer": customer,
        "object": customer,
        "tags": tag_names(customer),
        "participations": participations,
        "events": Event.objects.filter(customer=customer).select_related("behavior", "campaign")[:RECENT],
        "history": ParticipationChange.objects.filter(participation__customer=customer)
        .select_related("participation__campaign", "changed_by")[:RECENT],
        "can_edit": is_org_admin(request.membership),
        "tags_form": tags_form or CustomerTagsForm(initial={"tags": " ".join(tag_names(customer))}),
    }


class CustomerDetailView(MemberRequiredMixin, TemplateView):
    template_name = "engagement/customer_detail.html"

    def get(self, request, pk):
        customer = get_object_or_404(Customer.objects.all(), pk=pk)
        return self.render_to_response(customer_page(request, customer))


class CustomerTagsView(AdminRequiredMixin, TemplateView):
    """An admin's edit of a customer's tags (the API only ever adds them)."""

    template_name = "engagement/customer_detail.html"
    http_method_names = ["post"]

    def post(self, request, pk):
        customer = get_object_or_404(Customer.objects.all(), pk=pk)
        form = CustomerTagsForm(request.POST)
        if form.is_valid():
            try:
                set_tags(customer, form.cleaned_data["tags"])
            except DomainError as error:
                show_on_form(form, error)
            else:
                messages.success(request, "Tags saved.")
                return redirect("engagement:customer-detail", pk=customer.pk)
        return self.render_to_response(customer_page(request, customer, form))
