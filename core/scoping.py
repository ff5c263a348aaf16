"""How queries are scoped to an organization.

Every organization-owned model's default manager (``objects``) is a django-scopes ``ScopedManager``: outside
an active scope any query on it raises ``ScopeError``, inside one it only ever sees the scope's organization.
The request middleware opens the scope from the logged-in user's current organization, the API opens it from
the integration key, and tasks and commands open it explicitly. Pages and forms use ``objects`` only.

Two paths are unscoped, both greppable:
- ``scopes_disabled()``, for jobs and commands that work across organizations on purpose;
- ``Model._base_manager``, Django's plain manager, for the hot paths that already hold the organization or a
  parent row of it (the API after its key lookup, the award and issuance statements, set-based jobs) and for
  rules that hold across organizations (a tracking number is unique everywhere). Such a query must name the
  organization or a row already scoped in its filter; the scope's extra join would cost the hot path for no
  gain. Nothing else uses it, but for a subquery correlated to a row the scope already filtered.
"""

from django_scopes import ScopedManager, scope, scopes_disabled

__all__ = ["OrganizationScopedManager", "scope", "scopes_disabled", "organization_scope"]


def OrganizationScopedManager(path: str = "organization", _manager_class=None):  # noqa: N802 (builds a manager)
    """A manager scoped on the ``organization`` dimension, reached through ``path``."""
    if _manager_class is None:
        return ScopedManager(organization=path)
    return ScopedManager(_manager_class, organization=path)


def organization_scope(organization):
    """The scope of one organization; ``None`` gives a scope in which every scoped query is empty.

    (django-scopes treats a ``None`` value as "no filter", so "no organization" must be an empty list.)
    """
    return scope(organization=[] if organization is None else organization)
