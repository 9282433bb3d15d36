from django.apps import AppConfig


class PartnerPortalConfig(AppConfig):
    name = "brokerdesk.modules.partner_portal"
    label = "partner_portal"
    default_auto_field = "django.db.models.BigAutoField"
