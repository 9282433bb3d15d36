"""The public, signed endpoint an identity-verification provider sends its callbacks to:
POST /api/v1/kyc/providers/<provider id>/callbacks/.

No login: the signature over the raw body is the authentication (``SignatureInvalid`` → 401
and nothing stored). A body that is not a callback → 400; an unknown or inactive provider →
404; a redelivered callback → 200 with the status of its first delivery.
"""

from __future__ import annotations

import uuid

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ParseError
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from brokerdesk.modules.kyc.models import KycProvider
from brokerdesk.modules.kyc.providers.base import SignatureInvalid
from brokerdesk.modules.kyc.providers.inbox import MAX_BODY_BYTES, callback_receive


class CallbackAnswerSerializer(serializers.Serializer):
    status = serializers.CharField()


class ProviderCallbackView(APIView):
    permission_classes = [AllowAny]
    # The raw body is read as bytes (its signature covers them); no parser runs.
    parser_classes: list = []

    @extend_schema(
        request=None,
        responses={
            200: CallbackAnswerSerializer,
            400: OpenApiResponse(description="not a callback"),
            401: OpenApiResponse(description="bad or missing signature"),
        },
        auth=[],
    )
    def post(self, request: Request, public_id: str) -> Response:
        try:
            provider = KycProvider.objects.filter(
                public_id=uuid.UUID(public_id), is_active=True
            ).first()
        except ValueError:
            provider = None
        if provider is None:
            raise NotFound()
        body = request.body  # the exact bytes that were signed
        if len(body) > MAX_BODY_BYTES:
            raise ParseError("The callback is too large.")
        headers = {k.lower(): v for k, v in request.headers.items()}
        try:
            row = callback_receive(provider=provider, body=body, headers=headers)
        except SignatureInvalid:
            return Response({"detail": "Invalid signature."}, status=401)
        except ValueError as exc:
            raise ParseError(str(exc)) from None
        return Response({"status": row.status})
