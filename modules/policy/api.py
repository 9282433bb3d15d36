"""The policy over the API: what the signed-in client may do, and what a client of staff's may.

``GET /api/v1/me/policy/`` (a client: its own decisions) and
``GET /api/v1/clients/<id>/policy/`` (staff with ``clients.view`` on that client). Both take the
same optional parameters — one ``action``, an ``account``-less ``leverage`` or ``amount_minor`` —
and answer with the engine's decisions, reason codes and translated explanations.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from brokerdesk.modules.crm.selectors import ClientNotFound, record_get_for_actor
from brokerdesk.modules.identity.rbac.permissions import has_permission
from brokerdesk.modules.policy.engine import Action, decide, decide_all


class PolicyDecisionSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=Action.choices)
    allowed = serializers.BooleanField()
    code = serializers.CharField(help_text="Stable reason code; 'ok' when allowed.")
    message = serializers.CharField(help_text="The explanation, in the request's language.")
    detail = serializers.DictField(help_text="Facts behind the reason (the KYC state, a cap).")


class QuerySerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=Action.choices, required=False)
    leverage = serializers.IntegerField(required=False, min_value=1, max_value=10000)
    amount_minor = serializers.IntegerField(required=False, min_value=1)
    currency = serializers.RegexField(r"^[A-Z]{3,8}$", required=False)


PARAMETERS = [
    OpenApiParameter("action", str, enum=Action.values, description="Only this action."),
    OpenApiParameter("leverage", int, description="The leverage asked for (1:N)."),
    OpenApiParameter("amount_minor", int, description="An amount in minor units."),
    OpenApiParameter("currency", str, description="The amount's currency (ISO 4217 code)."),
]


def _answer(request: Request, client: Any) -> Response:
    query = QuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    params = dict(query.validated_data)
    action = params.pop("action", None)
    if action is not None:
        decisions = [decide(client, action, **params)]
    else:
        decisions = list(decide_all(client, **params).values())
    return Response(PolicyDecisionSerializer([d.as_dict() for d in decisions], many=True).data)


class MyPolicyView(APIView):
    """What the signed-in client may do right now, and why not where not."""

    permission_classes = [IsAuthenticated]

    @extend_schema(parameters=PARAMETERS, responses=PolicyDecisionSerializer(many=True))
    def get(self, request: Request) -> Response:
        if request.user.kind != "client":
            raise PermissionDenied("Only clients have a policy of their own.")
        return _answer(request, request.user)


class ClientPolicyView(APIView):
    """What a client may do right now: the same answers the client gets."""

    permission_classes = [has_permission("clients.view")]

    @extend_schema(parameters=PARAMETERS, responses=PolicyDecisionSerializer(many=True))
    def get(self, request: Request, public_id: Any) -> Response:
        try:
            record = record_get_for_actor(public_id=public_id, actor=request.user)
        except ClientNotFound:
            raise NotFound() from None
        return _answer(request, record.user)
