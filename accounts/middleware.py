from django.urls import reverse

from core.scoping import organization_scope, scopes_disabled

from .models import Membership

SESSION_KEY = "organization_id"
# Machine endpoints authenticate themselves (API keys, webhook signatures) and open their own scope;
# they must not pay for a session and user lookup.
MACHINE_PREFIXES = ("/api/", "/hooks/")


class OrganizationScopeMiddleware:
    """Picks the current organization from the session and runs the whole request inside its scope.

    Anonymous users and users without a membership get a scope on no organization: every scoped query
    is empty, so nothing leaks. Django's own admin site is for superusers and sees everything.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.admin_prefix = None

    def __call__(self, request):
        request.organization = None
        request.membership = None
        if request.path.startswith(MACHINE_PREFIXES):
            with organization_scope(None):
                return self.get_response(request)
        user = request.user
        if self.admin_prefix is None:
            self.admin_prefix = reverse("admin:index")
        if request.path.startswith(self.admin_prefix) and user.is_authenticated and user.is_superuser:
            with scopes_disabled():
                return self.get_response(request)
        if user.is_authenticated:
            request.membership = current_membership(request)
            if request.membership is not None:
                request.organization = request.membership.organization
        with organization_scope(request.organization):
            return self.get_response(request)


def current_membership(request) -> Membership | None:
    memberships = list(Membership.objects.filter(user=request.user).select_related("organization")[:50])
    if len(memberships) < 50:
        request.memberships = memberships  # all of them: the organization switcher lists these, no second query
    wanted = request.session.get(SESSION_KEY)
    for membership in memberships:
        if membership.organization_id == wanted:
            return membership
    return memberships[0] if memberships else None
