def organization(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "current_organization": getattr(request, "organization", None),
        "current_membership": getattr(request, "membership", None),
        # The middleware's list when it read them all, else lazy: only queried when a template shows the switcher.
        "user_memberships": getattr(request, "memberships", None) or user.memberships.select_related("organization"),
    }
