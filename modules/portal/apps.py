from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "brokerdesk.modules.portal"
    label = "portal"
    default_auto_field = "django.db.models.BigAutoField"
