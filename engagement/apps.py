from django.apps import AppConfig


class EngagementConfig(AppConfig):
    name = "engagement"

    def ready(self):
        from .panels import register

        register()  # the engagement card on the campaign page and the builder's engagement step
