"""The one way queries are scoped to an organization.

Every organization-owned model's default manager is a django-scopes ``ScopedManager``: outside an active
scope any query on it raises ``ScopeError``, inside one it only ever sees the scope's organization.
The request middleware opens the scope from the logged-in user's current organization, the API opens it
from the integration key, and tasks and commands open it explicitly. A view that forgets nothing can
still leak nothing: there is no unscoped path except ``scopes_disabled()``, which is greppable.
"""

from django_scopes import ScopedManager, scope, scopes_disabled

__all__ = ["OrganizationScopedManager", "scope", "scopes_disabled", "organization_scope"]


def OrganizationScopedManager(path: str = "organization", **kwargs):  # noqa: N802 (a class factory)
    """A manager scoped on the ``organization`` dimension, reached through ``path``."""
    return ScopedManager(organization=path, **kwargs)


def organization_scope(organization):
    return scope(organization=organization)
