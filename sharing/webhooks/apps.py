from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "sharing.webhooks"
    label = "webhooks"
    verbose_name = "Sharing: webhook subscriptions and deliveries"
