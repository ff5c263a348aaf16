from django.apps import AppConfig


class EngagementConfig(AppConfig):
    name = "engagement"

    def ready(self):
        from . import signals  # noqa: F401  (connects the receivers)
        from .panels import register

        register()  # the engagement card on the campaign page and the builder's engagement step
