def organization(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "current_organization": getattr(request, "organization", None),
        "current_membership": getattr(request, "membership", None),
        # Lazy: only queried when a template shows the switcher.
        "user_memberships": user.memberships.select_related("organization"),
    }
