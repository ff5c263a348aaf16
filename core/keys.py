"""A request run on its integration key's last lookup in this process, checked by the request's first statement.

The API (``api.keys``) keeps each key's last lookup per process. An operation whose first statement can check
that lookup (a progress read: ``engagement.services.hot.read``) runs on it without looking the key up again:
that statement writes only when the key's row is still the one looked up, and says whether it was. When it was
not (the key was revoked, its campaign changed), nothing was written and the request is run again on a fresh
lookup. The saving is the lookup's round trip, a tenth of such a request's work.
"""

from dataclasses import dataclass, field
from typing import Any


@dataclass
class KeyCheck:
    """A boolean SQL expression, true while the key's row is still the one the request runs on, and its
    parameters; ``passed`` once a statement found it true."""

    sql: str
    params: list[Any] = field(default_factory=list)
    passed: bool = False


class StaleKey(Exception):  # noqa: N818  (a signal to run the request again, not an error anyone sees)
    """The key's row changed since this process last looked it up: nothing was written, run the request again."""
