"""The one base of every user-facing error raised by services.

It carries the API's error ``code`` (design §8) and the fields at fault; the API and the pages each
translate it in one place. Anything that is not a DomainError is a bug: logged, answered generically.
"""

from typing import ClassVar


class DomainError(Exception):
    code: ClassVar[str] = "invalid_request"
    http_status: ClassVar[int] = 400

    def __init__(self, message: str, *, fields: dict[str, list[str]] | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        if code is not None:
            self.code = code


class NotFound(DomainError):
    code = "not_found"
    http_status = 404


class Conflict(DomainError):
    code = "conflict"
    http_status = 409
