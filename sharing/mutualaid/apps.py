from django.apps import AppConfig


class MutualAidConfig(AppConfig):
    """Resource catalogue, inventories and mutual-aid requests (the exchange layer of sharing)."""

    name = "sharing.mutualaid"
    label = "mutualaid"
    verbose_name = "Sharing: resources and mutual aid"
