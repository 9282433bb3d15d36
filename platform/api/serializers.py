"""Operator API representations of tenants."""

from __future__ import annotations

from rest_framework import serializers

from brokerdesk.platform.provisioning.services import tenant_url
from brokerdesk.tenants.models import Tenant

COLOUR = r"^#(?:[0-9a-fA-F]{3}){1,2}$"


class TenantSerializer(serializers.ModelSerializer):
    plan = serializers.CharField(source="plan.code", default=None, read_only=True)
    domains = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    class Meta:
        model = Tenant
        fields = [
            "slug", "name", "status", "plan", "owner_email", "domains", "url", "error",
            "attempts", "created_at", "status_changed_at", "activated_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_domains(self, tenant: Tenant) -> list[str]:
        return [domain.domain for domain in tenant.domains.all()]

    def get_url(self, tenant: Tenant) -> str:
        return tenant_url(tenant)


class TenantCreateSerializer(serializers.Serializer):
    slug = serializers.CharField(max_length=100)
    name = serializers.CharField(max_length=200)
    owner_email = serializers.EmailField()
    plan = serializers.CharField(max_length=40, required=False)
    primary_color = serializers.RegexField(COLOUR, required=False)
    accent_color = serializers.RegexField(COLOUR, required=False)


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
