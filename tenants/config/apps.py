from django.apps import AppConfig


class TenantConfigConfig(AppConfig):
    """Per-tenant configuration kept in the tenant schema (branding, entities, servers, PSPs)."""

    name = "brokerdesk.tenants.config"
    label = "tenant_config"
    default_auto_field = "django.db.models.BigAutoField"
