"""Serializers of the partner programme's API (api_programme.py; issue 10, ADR 0036)."""

from __future__ import annotations

from rest_framework import serializers
from rest_framework.request import Request

from brokerdesk.modules.partners.models import AttributionRule, ReferralLink


def referral_url(request: Request, code: str) -> str:
    return request.build_absolute_uri("/") + f"?ref={code}"


class IbMaterialSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    title = serializers.CharField()
    kind = serializers.CharField()
    language = serializers.CharField()
    campaign = serializers.CharField()
    content_type = serializers.CharField()
    size_bytes = serializers.IntegerField()
    width_px = serializers.IntegerField(allow_null=True)
    height_px = serializers.IntegerField(allow_null=True)
    page_count = serializers.IntegerField(allow_null=True)
    is_active = serializers.BooleanField()
    uploaded_at = serializers.DateTimeField()


class IbMaterialUploadSerializer(serializers.Serializer):
    file = serializers.FileField()
    title = serializers.CharField(max_length=200)
    language = serializers.CharField(required=False, allow_blank=True, default="")
    campaign = serializers.CharField(required=False, allow_blank=True, default="")


class IbMaterialChangeSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200, required=False)
    language = serializers.CharField(required=False, allow_blank=True)
    campaign = serializers.CharField(required=False, allow_blank=True)
    is_active = serializers.BooleanField(required=False)


class IbSignedLinkSerializer(serializers.Serializer):
    url = serializers.CharField()
    expires_at = serializers.DateTimeField()


class IbApplicationSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    name = serializers.CharField()
    company = serializers.CharField()
    country = serializers.CharField()
    website = serializers.CharField()
    status = serializers.CharField()
    applied_at = serializers.DateTimeField(source="created_at")
    decided_at = serializers.DateTimeField(allow_null=True)
    decision_note = serializers.CharField()
    agreement_version = serializers.CharField()
    agreement_accepted_at = serializers.DateTimeField(allow_null=True)


class IbApplySerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    company = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    country = serializers.CharField(max_length=2, required=False, allow_blank=True, default="")
    website = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class IbDecisionSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)


class IbLinkSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    code = serializers.CharField()
    campaign = serializers.CharField()
    created_at = serializers.DateTimeField()
    url = serializers.SerializerMethodField()

    def get_url(self, link: ReferralLink) -> str:
        return referral_url(self.context["request"], link.code)


class IbLinkCreateSerializer(serializers.Serializer):
    campaign = serializers.CharField(max_length=100)


class IbAttributionSerializer(serializers.Serializer):
    rule = serializers.ChoiceField(choices=AttributionRule.choices)
    window_days = serializers.IntegerField(min_value=1, max_value=3650)


class IbAttributionChangeSerializer(serializers.Serializer):
    rule = serializers.ChoiceField(choices=AttributionRule.choices, required=False)
    window_days = serializers.IntegerField(min_value=1, max_value=3650, required=False)


class IbEntityReferralsSerializer(serializers.Serializer):
    entity = serializers.UUIDField(source="legal_entity.public_id")
    rule = serializers.CharField()
    window_days = serializers.IntegerField()
    friends_enabled = serializers.BooleanField()
    friend_plan = serializers.UUIDField(source="friend_plan.public_id", allow_null=True,
                                        default=None)  # fmt: skip


class IbEntityReferralsChangeSerializer(serializers.Serializer):
    rule = serializers.ChoiceField(choices=AttributionRule.choices, required=False)
    window_days = serializers.IntegerField(min_value=1, max_value=3650, required=False)
    friends_enabled = serializers.BooleanField(required=False)
    friend_plan = serializers.UUIDField(required=False, allow_null=True)


class IbFxRateSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    base = serializers.CharField()
    quote = serializers.CharField()
    rate = serializers.DecimalField(max_digits=24, decimal_places=10)
    effective_at = serializers.DateTimeField()
    source = serializers.CharField()
    created_at = serializers.DateTimeField()


class IbFxRateCreateSerializer(serializers.Serializer):
    base = serializers.CharField(max_length=8)
    quote = serializers.CharField(max_length=8)
    rate = serializers.CharField(max_length=40, help_text='A decimal string, e.g. "1.0852".')
    effective_at = serializers.DateTimeField()
    source = serializers.CharField(max_length=200)


class IbQualitySerializer(serializers.Serializer):
    ib = serializers.UUIDField(source="partner.public_id")
    ib_name = serializers.CharField(source="partner.name")
    registered = serializers.IntegerField()
    kyc_approved = serializers.IntegerField()
    funded = serializers.IntegerField()
    active = serializers.IntegerField()
    flagged = serializers.IntegerField()


class IbFriendSerializer(serializers.Serializer):
    email = serializers.CharField(source="email_masked")
    registered_at = serializers.DateTimeField()
    status = serializers.CharField()


class IbFriendProgramSerializer(serializers.Serializer):
    offered = serializers.BooleanField()
    url = serializers.CharField(allow_null=True)
    earned = serializers.CharField(allow_null=True)
    paid = serializers.CharField(allow_null=True)
    currency = serializers.CharField(allow_null=True)
    referrals = IbFriendSerializer(many=True)
