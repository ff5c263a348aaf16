"""A domain error shown on the page form it came from: the one way pages translate a ``DomainError``."""

from django import forms

from .errors import DomainError


def show_on_form(form: forms.Form, error: DomainError) -> None:
    """Each field's problems on that field (on the form itself for a field the form lacks), and the message on
    the form when the error names no field, so nothing the service said is dropped."""
    if not error.fields:
        form.add_error(None, error.message)
        return
    for field, problems in error.fields.items():
        form.add_error(field if field in form.fields else None, problems)
