"""The Trader's Room over the API, under /api/v1/trading/mine/ (signed-in clients only).

The same services as the pages: opening (queued; the policy engine decides), the passwords
shown once, leverage requests and a new password. Another client's account or request is a
404; a refused input a 400 with the field; a conflict (already shown, in progress) a 409.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from brokerdesk.modules.identity.auth_api import IsClient
from brokerdesk.modules.trading import policy, selectors, services
from brokerdesk.modules.trading.account_types import account_types_offered
from brokerdesk.modules.trading.api import (
    TradingAccountSerializer,
    TradingRequestSerializer,
    _refusal,
)
from brokerdesk.modules.trading.models import AccountType, RequestStatus, TradingAccount

IDEMPOTENCY = OpenApiParameter(
    "Idempotency-Key", str, location=OpenApiParameter.HEADER, required=False,
    description="The same key returns the first request instead of opening a second account.",
)  # fmt: skip


class TradingOfferedTypeSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="type.public_id")
    name = serializers.CharField(source="type.name")
    kind = serializers.CharField(source="type.kind")
    environment = serializers.CharField(source="type.environment")
    currencies = serializers.ListField(child=serializers.CharField(), source="type.currencies")
    leverage_choices = serializers.ListField(child=serializers.IntegerField(),
                                             source="type.leverage_choices")  # fmt: skip
    default_leverage = serializers.IntegerField(source="type.default_leverage")
    allowed = serializers.BooleanField()
    code = serializers.CharField()
    message = serializers.CharField()


class TradingOpenSerializer(serializers.Serializer):
    account_type = serializers.UUIDField()
    currency = serializers.CharField(max_length=8, required=False, allow_blank=True, default="")
    leverage = serializers.IntegerField(required=False, allow_null=True, default=None)


class TradingLeverageSerializer(serializers.Serializer):
    leverage = serializers.IntegerField()


class TradingPasswordSerializer(serializers.Serializer):
    password = serializers.CharField(max_length=64, required=False, allow_blank=True, default="",
                                     trim_whitespace=False)  # fmt: skip


class TradingCredentialsSerializer(serializers.Serializer):
    login = serializers.IntegerField()
    server = serializers.CharField()
    password_main = serializers.CharField()
    password_investor = serializers.CharField(allow_blank=True)


class MineAPIView(APIView):
    permission_classes = [IsClient]

    def _parse(self, serializer_class: type[serializers.Serializer]) -> dict[str, Any]:
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def _account(self, public_id: Any) -> TradingAccount:
        account = selectors.account_of_client(self.request.user, public_id)
        if account is None:
            raise NotFound()
        return account

    def _call(self, call: Any) -> Any:
        try:
            return call()
        except services.TradingError as exc:
            raise _refusal(exc) from None


class MyAccountsView(MineAPIView):
    """One's trading accounts (GET); open one (POST: queued, 202 with the request)."""

    @extend_schema(responses=TradingAccountSerializer(many=True))
    def get(self, request: Request) -> Response:
        return Response(
            TradingAccountSerializer(selectors.accounts_of(request.user), many=True).data
        )

    @extend_schema(request=TradingOpenSerializer, parameters=[IDEMPOTENCY],
                   responses={202: TradingRequestSerializer})  # fmt: skip
    def post(self, request: Request) -> Response:
        data = self._parse(TradingOpenSerializer)
        account_type = (
            AccountType.objects.select_related("legal_entity", "server")
            .filter(public_id=data["account_type"])
            .first()
        )
        if account_type is None:
            raise ValidationError({"account_type": ["Unknown account type."]})
        key = request.headers.get("Idempotency-Key", "")[:100]
        created = self._call(lambda: services.account_open_request(
            client=request.user, account_type=account_type, currency=data["currency"],
            leverage=data["leverage"], actor=request.user,
            idempotency_key=f"api-open:{request.user.public_id}:{key}" if key else "",
        ))  # fmt: skip
        return Response(TradingRequestSerializer(created).data, status=202)


class MyAccountTypesView(MineAPIView):
    """The types one may open, each with the policy engine's answer."""

    @extend_schema(responses=TradingOfferedTypeSerializer(many=True))
    def get(self, request: Request) -> Response:
        rows = []
        for account_type in account_types_offered(policy.legal_entity_of(request.user)):
            action = "open_demo" if account_type.is_demo else "open_live"
            decision = policy.decide(request.user, action)
            rows.append({"type": account_type, "allowed": decision.allowed,
                         "code": str(decision.code), "message": str(decision.message)})  # fmt: skip
        return Response(TradingOfferedTypeSerializer(rows, many=True).data)


class MyRequestView(MineAPIView):
    @extend_schema(responses=TradingRequestSerializer)
    def get(self, request: Request, public_id: Any) -> Response:
        row = selectors.request_of_client(request.user, public_id)
        if row is None:
            raise NotFound()
        return Response(TradingRequestSerializer(row).data)


class MyCredentialsView(MineAPIView):
    """The new account's passwords, once (409 afterwards, or while it is not open yet)."""

    @extend_schema(request=None, responses=TradingCredentialsSerializer)
    def post(self, request: Request, public_id: Any) -> Response:
        row = selectors.request_of_client(request.user, public_id)
        if row is None:
            raise NotFound()
        try:
            shown = services.credentials_reveal(request=row, client=request.user)
        except services.TradingError as exc:
            from brokerdesk.modules.trading.api import TradingConflict

            raise TradingConflict({"non_field_errors": [exc.message], "code": exc.code}) from None
        response = Response(TradingCredentialsSerializer(shown).data)
        response["Cache-Control"] = "no-store"
        return response


class MyLeverageView(MineAPIView):
    @extend_schema(request=TradingLeverageSerializer, responses={202: TradingRequestSerializer})
    def post(self, request: Request, public_id: Any) -> Response:
        account = self._account(public_id)
        data = self._parse(TradingLeverageSerializer)
        change = self._call(lambda: services.leverage_request(
            account=account, leverage=data["leverage"], actor=request.user,
            client=request.user))  # fmt: skip
        status = 202 if change.status != RequestStatus.DONE else 200
        return Response(TradingRequestSerializer(change).data, status=status)


class MyPasswordView(MineAPIView):
    """A new main password, set on the platform now and returned once."""

    @extend_schema(request=TradingPasswordSerializer, responses=TradingCredentialsSerializer)
    def post(self, request: Request, public_id: Any) -> Response:
        account = self._account(public_id)
        data = self._parse(TradingPasswordSerializer)
        shown = self._call(lambda: services.password_reset(
            account=account, actor=request.user, password=data["password"]))  # fmt: skip
        response = Response(TradingCredentialsSerializer(shown).data)
        response["Cache-Control"] = "no-store"
        return response
