"""The one base of every user-facing error raised by services.

It carries the API's error ``code`` (design §8) and the fields at fault; the API (``api.envelope``, which
also picks the HTTP status of each code) and the pages (``grids.forms.show_domain_error``) each translate it
in one place. Anything that is not a DomainError is a bug: logged, answered generically.
"""

from typing import ClassVar


class DomainError(Exception):
    code: ClassVar[str] = "invalid_request"

    def __init__(self, message: str, *, fields: dict[str, list[str]] | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        if code is not None:
            self.code = code


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    """The request is valid but the state of things refuses it."""

    code = "conflict"
