from django.apps import AppConfig


class TenantsConfig(AppConfig):
    """Tenant registry and domains (public schema)."""

    name = "brokerdesk.tenants"
    label = "tenants"
    default_auto_field = "django.db.models.BigAutoField"
