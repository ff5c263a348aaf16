"""The grid filter form's widgets, drawn cheaply: the same HTML as Django's templates, written in Python.

Django draws a select through select.html, an include per option and an attrs.html include per option's
attributes: about 40 µs an option, so a grid's filter form (a campaign list, a few multiple choices, date
ranges) took several ms of every page. ``GridFormRenderer`` writes Django's own input, select and
django-filter range widgets straight from the widget's context, character for character, and leaves any other
template to Django. ``ReadOnceModelChoiceIterator`` reads a model choice list with one ordinary query, where
Django's ``iterator()`` opens a server-side cursor on PostgreSQL (DECLARE, FETCH, CLOSE: three round trips).
"""

import django_filters.fields
from django import forms
from django.forms.renderers import DjangoTemplates
from django.template import Context
from django.template.base import render_value_in_context
from django.template.defaultfilters import stringformat
from django.utils.html import conditional_escape
from django.utils.safestring import SafeData, mark_safe

INPUT_TEMPLATE = "django/forms/widgets/input.html"
# Django's templates that are nothing but {% include "django/forms/widgets/input.html" %} and a newline
INPUT_TEMPLATES = frozenset(f"django/forms/widgets/{name}.html" for name in (
    "text", "number", "email", "url", "password", "hidden", "date", "datetime", "time", "search", "tel", "color",
))
SELECT_TEMPLATE = "django/forms/widgets/select.html"
OPTION_TEMPLATE = "django/forms/widgets/select_option.html"
RANGE_TEMPLATE = "django_filters/widgets/multiwidget.html"

_CONTEXT = Context()  # autoescaping, as the widget templates render


def _var(value) -> str:
    """``{{ value }}``"""
    return render_value_in_context(value, _CONTEXT)


def _s(value) -> str:
    """``{{ value|stringformat:'s' }}`` (stringformat keeps safe input safe)"""
    text = stringformat(value, "s")
    return conditional_escape(mark_safe(text) if isinstance(value, SafeData) else text)  # noqa: S308


def _attrs(attrs: dict) -> str:
    """attrs.html"""
    html = []
    for name, value in attrs.items():
        if value is not False:
            html.append(f" {_var(name)}" if value is True else f' {_var(name)}="{_s(value)}"')
    return "".join(html)


def _input(widget: dict) -> str:
    """input.html (with its newline)"""
    value = f' value="{_s(widget["value"])}"' if widget["value"] is not None else ""
    return f'<input type="{_var(widget["type"])}" name="{_var(widget["name"])}"{value}{_attrs(widget["attrs"])}>\n'


def _select(widget: dict) -> str | None:
    html = [f'<select name="{_var(widget["name"])}"{_attrs(widget["attrs"])}>']
    for group_name, options, _index in widget["optgroups"]:
        if group_name:
            html.append(f'\n  <optgroup label="{_var(group_name)}">')
        for option in options:
            if option["template_name"] != OPTION_TEMPLATE:
                return None
            value, attrs, label = _s(option["value"]), _attrs(option["attrs"]), _var(option["label"])
            html.append(f'\n  <option value="{value}"{attrs}>{label}</option>\n')
        if group_name:
            html.append("\n  </optgroup>")
    html.append("\n</select>")
    return "".join(html)


def _range(widget: dict) -> str | None:
    """django-filter's multiwidget.html over input subwidgets: ``<input>-<input>``."""
    html = []
    for index, sub in enumerate(widget["subwidgets"]):
        if sub["template_name"] not in INPUT_TEMPLATES:
            return None
        html.append(_input(sub) + "\n" + ("-" if index == 0 else ""))
    return "".join(html)


class GridFormRenderer(DjangoTemplates):
    """Django's default form renderer, with its input and select widget templates written in Python."""

    writers = {SELECT_TEMPLATE: _select, RANGE_TEMPLATE: _range, INPUT_TEMPLATE: _input}
    writers.update(dict.fromkeys(INPUT_TEMPLATES, lambda widget: _input(widget) + "\n"))

    def render(self, template_name, context, request=None):
        writer = self.writers.get(template_name)
        widget = context.get("widget") if writer is not None else None
        if widget is not None:
            html = writer(widget)
            if html is not None:
                return html.strip()  # as BaseRenderer.render
        return super().render(template_name, context, request)


class ReadOnceModelChoiceIterator(django_filters.fields.ModelChoiceIterator):
    """A model choice list read with one plain query and kept in the field's queryset for the request."""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        if getattr(self.field, "null_label", None) is not None:
            yield (self.field.null_value, self.field.null_label)
        for obj in self.queryset:  # evaluated once, by an ordinary cursor, then from its result cache
            yield self.choice(obj)

    def __len__(self):
        add = 1 if getattr(self.field, "null_label", None) is not None else 0
        return forms.models.ModelChoiceIterator.__len__(self) + add


GRID_FORM_RENDERER = GridFormRenderer()


def prepare_filter_form(form) -> None:
    """Draw ``form``'s widgets with ``GridFormRenderer`` and read its model choice lists once."""
    form.renderer = GRID_FORM_RENDERER
    for field in form.fields.values():
        if isinstance(field, forms.ModelChoiceField) and field.iterator in (
            forms.models.ModelChoiceIterator, django_filters.fields.ModelChoiceIterator,
        ):
            field.iterator = ReadOnceModelChoiceIterator
            field.widget.choices = field.choices
