from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from accounts import views as account_views
from config.api import api
from tracking.views import VoiceWebhookView

urlpatterns = [
    path("", account_views.HomeView.as_view(), name="home"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("organization/switch/", account_views.SwitchOrganizationView.as_view(), name="switch-organization"),
    path("campaigns/", include("campaigns.urls")),
    path("incentives/", include("incentives.urls")),
    path("tracking/", include("tracking.urls")),
    path("hooks/voice/", VoiceWebhookView.as_view(), name="voice-webhook"),
    path("reporting/", include("reporting.urls")),
    path("django-admin/", admin.site.urls),
    path("api/v1/", api.urls),
]
