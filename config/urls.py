from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from accounts import views as account_views
from api.main import api
from tracking.views import VoiceWebhookView

urlpatterns = [
    path("", account_views.HomeView.as_view(), name="home"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("organization/switch/", account_views.SwitchOrganizationView.as_view(), name="switch-organization"),
    path("campaigns/", include("campaigns.urls")),
    path("incentives/", include("incentives.urls")),
    path("interactions/", include("interactions.urls")),
    # The interactions grid's old address, for bookmarks (its query string, the filters, is kept).
    path("tracking/interactions/", RedirectView.as_view(url="/interactions/", query_string=True, permanent=True)),
    path("tracking/", include("tracking.urls")),
    path("hooks/voice/", VoiceWebhookView.as_view(), name="voice-webhook"),
    path("engagement/", include("engagement.urls")),
    path("reporting/", include("reporting.urls")),
    path("exports/", include("grids.urls")),
    path("django-admin/", admin.site.urls),
    path("api/v1/", api.urls),
]
