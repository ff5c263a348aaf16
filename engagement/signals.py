"""Move a campaign's ``updated_at`` whenever its engagement settings or behaviours change, so processes that keep
its engagement (``services.context.current_context``) read it again.

Signals rather than service calls so that every path (pages, services, Django's admin site, a cascade) is covered.
"""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone

from campaigns.models import Campaign

from .models import Behavior, EngagementSettings


@receiver(post_save, sender=Behavior)
@receiver(post_delete, sender=Behavior)
@receiver(post_save, sender=EngagementSettings)
@receiver(post_delete, sender=EngagementSettings)
def engagement_changed(sender, instance, **kwargs):
    Campaign._base_manager.filter(pk=instance.campaign_id).update(updated_at=timezone.now())
