"""/api/v1/tokens/: list, create (the secret is in the answer once) and revoke API tokens.

Same checks as the Back Office page: ``tokens.manage`` (403 without), the
``api_token_get_for_actor`` choke point (404 outside the actor's scope), the services' rules
(field errors are a 400 keyed like the request; nothing is saved then).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from brokerdesk.modules.identity.rbac.api import _service_call
from brokerdesk.modules.identity.rbac.permissions import has_permission
from brokerdesk.modules.identity.tokens import selectors, services
from brokerdesk.modules.identity.tokens.models import ApiToken


class TokenOwnerSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    email = serializers.EmailField()


class ApiTokenSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    name = serializers.CharField()
    prefix = serializers.CharField(help_text="The token's first characters, to recognise it.")
    owner = TokenOwnerSerializer()
    codes = serializers.ListField(child=serializers.CharField())
    status = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(allow_null=True)
    last_used_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)

    def get_status(self, token: ApiToken) -> str:
        """active, expired or revoked."""
        return token.status()


class ApiTokenCreatedSerializer(ApiTokenSerializer):
    secret = serializers.CharField(help_text="The token itself. Shown only in this answer.")


class ApiTokenCreateSerializer(serializers.Serializer):
    name = serializers.CharField(allow_blank=True, max_length=200)
    codes = serializers.ListField(child=serializers.CharField(max_length=64), max_length=100)
    expires_at = serializers.DateTimeField(required=False, allow_null=True, default=None)


class TokenAPIView(APIView):
    permission_classes = [has_permission("tokens.manage")]

    def _load(self, public_id: Any) -> ApiToken:
        try:
            return selectors.api_token_get_for_actor(public_id=public_id, actor=self.request.user)
        except ObjectDoesNotExist:
            raise NotFound() from None


class ApiTokenListView(TokenAPIView):
    @extend_schema(responses=ApiTokenSerializer(many=True))
    def get(self, request: Request) -> Response:
        tokens = selectors.api_token_list_for_actor(actor=request.user)
        return Response(ApiTokenSerializer(tokens, many=True).data)

    @extend_schema(request=ApiTokenCreateSerializer, responses={201: ApiTokenCreatedSerializer})
    def post(self, request: Request) -> Response:
        """Create a token acting as you with the chosen codes (only codes you hold)."""
        serializer = ApiTokenCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        token, secret = _service_call(
            lambda: services.api_token_create(actor=request.user, **serializer.validated_data)
        )
        body = dict(ApiTokenSerializer(token).data)
        body["secret"] = secret
        response = Response(body, status=201)
        response["Cache-Control"] = "no-store"
        return response


class ApiTokenDetailView(TokenAPIView):
    @extend_schema(responses=ApiTokenSerializer)
    def get(self, request: Request, public_id: Any) -> Response:
        return Response(ApiTokenSerializer(self._load(public_id)).data)


class ApiTokenRevokeView(TokenAPIView):
    @extend_schema(request=None, responses=ApiTokenSerializer)
    def post(self, request: Request, public_id: Any) -> Response:
        """Revoke the token; requests with it are refused (401) from now on."""
        token = self._load(public_id)
        token = _service_call(lambda: services.api_token_revoke(actor=request.user, token=token))
        return Response(ApiTokenSerializer(token).data)
