"""The generic grid: a django-tables2 table over a django-filter filterset, with saved filters and downloads.

The query string is the single source of truth. ``build_grid`` turns (request, view) into the filtered,
sorted, organization-scoped queryset; the page, the saved filter and the download all go through it, so a
download always holds exactly the rows on screen. A grid is a table, a filterset and a few lines::

    class VaultListView(GridView):
        model = Vault
        table_class = VaultTable
        filterset_class = VaultFilterSet
"""

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import EmptyPage, PageNotAnInteger
from django.db.models import BooleanField, ExpressionWrapper, QuerySet, Value
from django.http import HttpRequest, HttpResponseRedirect, QueryDict
from django.shortcuts import redirect
from django.urls import Resolver404, resolve
from django.utils import timezone
from django.utils.functional import cached_property
from django.views.generic import TemplateView
from django_filters import FilterSet
from django_tables2 import Table

from accounts.models import Membership
from accounts.permissions import AdminRequiredMixin, MemberRequiredMixin, is_org_admin
from core.errors import DomainError

from .export import WRITERS, export_columns, export_rows
from .models import Export, SavedFilter
from .secrets import Probes, probes_of
from .services import Download, start_export
from .tables import SecretColumn, SelectColumn, secret_flag
from .widgets import prepare_filter_form

# Query parameters that say how to show or send the rows, not which rows: never part of a saved filter.
PRESENTATION_PARAMS = frozenset({"page", "per_page", "format", "clear"})
PER_PAGE_CHOICES = (25, 50, 100, 250)


def style_filter_form(form) -> None:
    """Bootstrap classes on the filter widgets, which ``GridFormRenderer`` draws (crispy-forms took about 4 ms
    a field, Django's widget templates about 40 µs a select option)."""
    prepare_filter_form(form)
    for field in form.fields.values():
        widget = field.widget
        subwidgets = getattr(widget, "widgets", [widget])
        for sub in subwidgets:
            css = "form-select form-select-sm" if isinstance(sub, forms.Select) else "form-control form-control-sm"
            sub.attrs["class"] = css


@dataclass(frozen=True)
class BulkAction:
    """An action on many rows at once. ``apply`` gets the rows' queryset and makes a constant number of
    queries (an UPDATE, never a save() per row); it returns how many rows it changed. ``done`` is the
    message, with ``{count}`` and ``{s}`` (a plural s) filled in. ``allowed`` says whether a member may run it."""

    name: str
    label: str
    apply: Callable[[QuerySet], int]
    done: str
    danger: bool = False
    # Who may run it: changing many rows at once is for organization admins unless the action says otherwise.
    allowed: Callable[[Membership | None], bool] = is_org_admin


@dataclass
class Grid:
    filterset: FilterSet
    table: Table
    queryset: QuerySet  # filtered, sorted, scoped: what the page shows and the download sends


def filter_query(query: QueryDict) -> str:
    """The part of a query string that picks and sorts rows, in a stable order."""
    kept = [(key, value) for key, values in sorted(query.lists()) if key not in PRESENTATION_PARAMS
            for value in values if value != ""]
    return urlencode(kept)


class GridView(MemberRequiredMixin, TemplateView):
    template_name = "grids/grid.html"
    model = None
    table_class: type[Table]
    filterset_class: type[FilterSet]
    title: str = ""
    paginate_by = 50
    create_url: str | None = None  # a URL name; shown when can_create() allows
    definitions: dict | None = None  # term -> definition, shown in a panel below the grid
    empty_text = "Nothing here yet."
    bulk_actions: tuple["BulkAction", ...] = ()

    # --- what each grid may override -------------------------------------------------------------

    def get_queryset(self) -> QuerySet:
        return self.model.objects.all()

    def can_create(self) -> bool:
        return self.create_url is not None

    @cached_property
    def allowed_bulk_actions(self) -> tuple["BulkAction", ...]:
        """The bulk actions the member may run: the only ones offered, the only ones run."""
        return tuple(bulk for bulk in self.bulk_actions if bulk.allowed(self.request.membership))

    def can_bulk(self) -> bool:
        return bool(self.allowed_bulk_actions)

    @property
    def grid_name(self) -> str:
        return f"{self.request.resolver_match.namespace}:{self.request.resolver_match.url_name}"

    @property
    def download_name(self) -> str:
        return str(self.model._meta.verbose_name_plural).replace(" ", "-")

    # --- the one way from a request to rows ------------------------------------------------------

    @cached_property
    def secret_probes(self) -> Probes | None:
        """For members who are not admins, the filters and sorts that would probe the grid's secrets: withheld."""
        return None if is_org_admin(self.request.membership) else probes_of(self.table_class, self.filterset_class)

    def withheld(self, query: QueryDict) -> QueryDict:
        """``query`` as this member's grid reads it (and saves it): without the filters and sorts that probe."""
        return query if self.secret_probes is None else self.secret_probes.withhold(query)

    def build_filterset(self, query: QueryDict) -> FilterSet:
        """The grid's filterset over its queryset, bound to ``query`` and styled: every grid builds it here."""
        # Always bound, even to an empty query, so a filterset's defaults (e.g. no archived campaigns) apply.
        filterset = self.filterset_class(query, queryset=self.get_queryset(), request=self.request)
        if self.secret_probes is not None:
            self.secret_probes.drop_filters(filterset)
        style_filter_form(filterset.form)
        return filterset

    @staticmethod
    def filtered_rows(filterset: FilterSet) -> QuerySet:
        return filterset.qs if filterset.is_valid() else filterset.queryset.none()

    def build_grid(self, query: QueryDict | None = None) -> Grid:
        """The grid of ``query`` (by default the request's query string)."""
        query = self.request.GET if query is None else query
        filterset = self.build_filterset(query)
        rows = self.filtered_rows(filterset)
        selectable = self.can_bulk()
        # Not Table(request=...): its RequestConfig paginates at once, a COUNT that downloads and bulk actions
        # never use; the page paginates in paginate().
        table = self.table_class(
            rows, extra_columns=[("select", SelectColumn())] if selectable else None,
            sequence=("select", "...") if selectable else None,
        )
        table.request = self.request  # the sort links in the header keep the request's query string
        if self.secret_probes is not None:
            self.secret_probes.unsort(table)
        table.order_by = query.get("sort")  # validated against the table's sortable columns
        ordered = self.hide_secrets(table, table.data.data)
        ordering = list(ordered.query.order_by or ordered.model._meta.ordering)
        if self.secret_probes is not None:
            ordering = self.secret_probes.ordering(ordering)
        if "pk" not in ordering and "-pk" not in ordering:
            ordering.append("pk")  # a total order, so pages never skip or repeat rows
        table.data.data = ordered.order_by(*ordering)
        return Grid(filterset, table, table.data.data)

    def hide_secrets(self, table: Table, rows: QuerySet) -> QuerySet:
        """For members who are not admins, mark the rows whose secret columns they may not see: the page and
        the download both read the marks (design §9)."""
        if is_org_admin(self.request.membership):
            return rows
        marks = {}
        for bound in table.columns.iterall():
            column = bound.column
            if isinstance(column, SecretColumn):
                secret = Value(True) if column.secret is None else column.secret
                marks[secret_flag(bound.name)] = ExpressionWrapper(secret, output_field=BooleanField())
        return rows.annotate(**marks) if marks else rows

    # --- HTTP ------------------------------------------------------------------------------------

    @cached_property
    def saved_filter(self) -> SavedFilter | None:
        """The user's saved filter for this grid: read once a request (the redirect and the page both ask)."""
        return SavedFilter.objects.filter(user=self.request.user, grid=self.grid_name).first()

    @cached_property
    def saved_query(self) -> str | None:
        """The saved filter's query, normalized: "" means "my default is no filters" (also for old rows)."""
        saved = self.saved_filter
        return None if saved is None else filter_query(self.withheld(QueryDict(saved.query_string)))

    def get(self, request, *args, **kwargs):
        # Only a non-empty saved query redirects: "?" is an empty GET again, and would loop.
        if not request.GET and self.saved_query:
            return HttpResponseRedirect(f"{request.path}?{self.saved_query}")
        grid = self.build_grid()
        export_format = request.GET.get("format")
        if export_format in WRITERS:
            return self.download(grid, export_format)
        self.paginate(grid.table)
        return self.render_to_response(self.get_context_data(grid=grid))

    def post(self, request, *args, **kwargs):
        action = request.POST.get("action")
        if action == "save":
            query = filter_query(self.withheld(QueryDict(request.POST.get("query", ""))))
            SavedFilter.objects.update_or_create(
                user=request.user, organization=request.organization, grid=self.grid_name,
                defaults={"query_string": query},
            )
            messages.success(request, "Filters saved: this grid opens with them from now on.")
            return HttpResponseRedirect(f"{request.path}?{query}" if query else f"{request.path}?clear=1")
        if action == "reset":
            SavedFilter.objects.filter(user=request.user, grid=self.grid_name).delete()
            messages.success(request, "Filters reset to the default.")
        if action and action.startswith("bulk:"):
            return self.run_bulk_action(action.removeprefix("bulk:"))
        return redirect(request.path)

    def run_bulk_action(self, name: str):
        """Apply a bulk action to the selected rows, or (``scope=all``) to every row the filters match."""
        bulk = next((candidate for candidate in self.allowed_bulk_actions if candidate.name == name), None)
        if bulk is None:
            raise PermissionDenied
        query = QueryDict(self.request.POST.get("query", ""))
        back = f"{self.request.path}?{filter_query(query) or 'clear=1'}"
        rows = self.build_grid(query).queryset
        if self.request.POST.get("scope") != "all":
            selected = [int(value) for value in self.request.POST.getlist("selected") if value.isdigit()]
            if not selected:
                messages.warning(self.request, "Select rows first, or apply the action to all matching rows.")
                return HttpResponseRedirect(back)
            rows = rows.filter(pk__in=selected)  # still within the filters and the organization
        changed = bulk.apply(rows.order_by())
        messages.success(self.request, bulk.done.format(count=changed, s="" if changed == 1 else "s"))
        return HttpResponseRedirect(back)

    def paginate(self, table: Table) -> None:
        per_page = self.request.GET.get("per_page", "")
        per_page = int(per_page) if per_page.isdigit() and int(per_page) in PER_PAGE_CHOICES else self.paginate_by
        try:
            table.paginate(page=self.request.GET.get("page", 1), per_page=per_page)
        except PageNotAnInteger:
            table.paginate(page=1, per_page=per_page)
        except EmptyPage:
            table.paginate(page=table.paginator.num_pages, per_page=per_page)

    def download(self, grid: Grid, export_format: str):
        if export_format == "xlsx" and self.too_large_for_request(grid.queryset):
            export = start_export(
                organization=self.request.organization, user=self.request.user, grid=self.grid_name,
                title=self.page_title, path=self.request.path, query_string=filter_query(self.request.GET),
            )
            return redirect(export)  # its page follows the worker to a link
        download = self.download_rows(grid)
        return WRITERS[export_format](download.name, download.headers, download.rows)

    @staticmethod
    def too_large_for_request(rows: QuerySet) -> bool:
        """More rows than an XLSX built inside a request may hold: counted no further than the bound."""
        limit = settings.GRID_XLSX_REQUEST_ROWS
        return rows.order_by().values("pk")[: limit + 1].count() > limit

    def download_rows(self, grid: Grid, *, counted: bool = False) -> Download:
        """The grid's download: its exported columns and one row generator over its queryset."""
        columns = export_columns(grid.table)
        rows = export_rows(grid.queryset, columns, self.request.organization.zone)
        stamp = timezone.localtime(timezone.now(), self.request.organization.zone).strftime("%Y%m%d-%H%M")
        return Download(f"{self.download_name}-{stamp}", [c.header for c in columns], rows,
                        grid.queryset.count() if counted else None)

    @property
    def page_title(self) -> str:
        return self.title or str(self.model._meta.verbose_name_plural).capitalize()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        query = filter_query(self.withheld(self.request.GET))
        saved = self.saved_filter
        context.update(
            title=self.page_title,
            table=kwargs["grid"].table,
            filterset=kwargs["grid"].filterset,
            filter_query=query,
            saved_filter=saved,
            saved_filter_applied=saved is not None and self.saved_query == query,
            create_url=self.create_url if self.can_create() else None,
            definitions=self.definitions,
            empty_text=self.empty_text,
            per_page_choices=PER_PAGE_CHOICES,
            bulk_actions=self.allowed_bulk_actions,
        )
        return context


def replay_download(export: Export) -> Download:
    """For a worker: the download of ``export``'s grid, as its page would answer it to the export's user now.

    The stored path and query string go through the grid's own view (``build_grid``, ``download_rows``), with
    the user's current membership: the organization's scope, and secrets for admins only, as on the page.
    """
    try:
        match = resolve(export.path)
    except Resolver404:
        match = None
    view_class = getattr(match.func, "view_class", None) if match else None
    if view_class is None or not issubclass(view_class, GridView):
        raise DomainError("This page no longer offers downloads.")
    membership = (Membership.objects.select_related("user", "organization")
                  .filter(user=export.user_id, organization=export.organization_id).first())
    if membership is None or (issubclass(view_class, AdminRequiredMixin) and not is_org_admin(membership)):
        raise DomainError("You may no longer download these rows.")
    request = HttpRequest()
    request.method = "GET"
    request.path = request.path_info = export.path
    request.GET = QueryDict(export.query_string)
    request.user, request.organization, request.membership = membership.user, membership.organization, membership
    request.resolver_match = match
    view = view_class(**match.func.view_initkwargs)
    view.setup(request, *match.args, **match.kwargs)
    return view.download_rows(view.build_grid(), counted=True)
