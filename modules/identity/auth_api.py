"""The Trader's Room identity flows over the API (/api/v1/auth/…, /api/v1/me/…).

Each endpoint calls the very service or form the page calls (registration, e-mail
verification, sign-in with its lockout and device recording, the staff second factor,
password reset, profile, devices), so the API and the pages cannot drift apart: same field
checks (a 400 keyed by field), same rate limits (429), same answers whatever the address
(no user enumeration). Sign-in opens a session (cookie) like the pages; later unsafe
requests send Django's CSRF token in ``X-CSRFToken``. The endpoints used without a session
accept JSON only, which a cross-site HTML form cannot send.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import login, logout
from django.core.exceptions import ValidationError as DjangoValidationError
from django.forms import Form
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import APIException, PermissionDenied, ValidationError
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny, BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from brokerdesk.modules.identity import devices, registration, services, totp
from brokerdesk.modules.identity.forms import (
    Face,
    FaceAuthenticationForm,
    PasswordResetRequestForm,
    RegistrationForm,
    SetPasswordForm,
)
from brokerdesk.modules.identity.models import User, UserKind
from brokerdesk.modules.identity.ratelimits import RateLimited
from brokerdesk.modules.identity.security_models import EmailTokenPurpose
from brokerdesk.modules.identity.totp_views import second_factor_pass
from brokerdesk.modules.identity.views import signed_in_record
from brokerdesk.tenants.branding import current_branding

INVALID_LINK = gettext_lazy("This link has expired or was already used. Ask for a new one.")


def _admits(user: User) -> bool:
    return user.is_active and user.kind in {UserKind.CLIENT, UserKind.STAFF, UserKind.IB}


# The API is one face for every kind of user of the broker: clients, staff and IBs.
API = Face(namespace="api", title=gettext_lazy("API"), login_template="", admits=_admits)


def _form_errors(form: Form, *, rename: dict[str, str] | None = None) -> dict[str, list[str]]:
    """A Django form's errors keyed like the request (``__all__`` as non_field_errors)."""
    names = {"__all__": "non_field_errors", **(rename or {})}
    return {names.get(field, field): list(errors) for field, errors in form.errors.items()}


class TooManyAttempts(APIException):
    """429 with the rate limit's own message; DRF's handler adds ``Retry-After`` (``wait``)."""

    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_code = "throttled"


def _too_many(limited: RateLimited) -> TooManyAttempts:
    refusal = TooManyAttempts(detail=limited.message)
    refusal.wait = limited.retry_after_s
    return refusal


class AnonymousFlowView(APIView):
    """Endpoints a visitor uses without a session: JSON only (no cross-site form posts)."""

    authentication_classes = [SessionAuthentication]
    permission_classes = [AllowAny]
    parser_classes = [JSONParser]


class IsClient(BasePermission):
    message = "Only the broker's clients can do this."

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        return bool(user.is_authenticated and user.is_active and user.kind == UserKind.CLIENT)


class IsStaffMember(BasePermission):
    message = "Only the broker's staff have a second factor."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return totp.is_staff_member(request.user)


# --- Serializers ------------------------------------------------------------------------------


class DetailSerializer(serializers.Serializer):
    detail = serializers.CharField()


class RegisterSerializer(serializers.Serializer):
    email = serializers.CharField(max_length=254)
    password = serializers.CharField(max_length=128, trim_whitespace=False)
    country = serializers.CharField(max_length=2, help_text="ISO 3166-1 alpha-2, e.g. DE.")
    language = serializers.CharField(max_length=8, help_text="One of the offered languages.")
    phone = serializers.CharField(max_length=32, help_text="With country code: +4915112345678.")


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=200, help_text="The token from the e-mail's link.")


class EmailSerializer(serializers.Serializer):
    email = serializers.CharField(max_length=254)


class LoginSerializer(serializers.Serializer):
    email = serializers.CharField(max_length=254)
    password = serializers.CharField(max_length=128, trim_whitespace=False)


class PasswordResetConfirmSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=200)
    password = serializers.CharField(max_length=128, trim_whitespace=False)
    confirm = serializers.CharField(max_length=128, trim_whitespace=False)


class CodeSerializer(serializers.Serializer):
    code = serializers.CharField(
        max_length=20, help_text="The 6-digit code of the app, or (once enrolled) a recovery code."
    )


class MeSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    email = serializers.EmailField(read_only=True)
    kind = serializers.CharField(read_only=True)
    full_name = serializers.CharField(read_only=True)
    country = serializers.CharField(read_only=True)
    language = serializers.CharField(read_only=True)
    phone = serializers.CharField(read_only=True)
    email_verified_at = serializers.DateTimeField(read_only=True, allow_null=True)
    created_at = serializers.DateTimeField(read_only=True)


class MeUpdateSerializer(serializers.Serializer):
    language = serializers.CharField(required=False, max_length=8)
    phone = serializers.CharField(required=False, max_length=32)


class LoginResultSerializer(serializers.Serializer):
    user = MeSerializer()
    second_factor = serializers.ChoiceField(
        choices=["not_needed", "required", "enrol"],
        help_text="Staff: POST /api/v1/auth/second-factor/ before anything else answers.",
    )


class SecondFactorSerializer(serializers.Serializer):
    verified = serializers.BooleanField()
    enrolled = serializers.BooleanField()
    secret = serializers.CharField(required=False, help_text="Only while enrolling.")
    otpauth_uri = serializers.CharField(required=False, help_text="Only while enrolling.")
    recovery_codes = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="Only in the answer to the code that completes enrolment: shown once.",
    )
    recovery_codes_left = serializers.IntegerField(
        required=False, help_text="Only after signing in with a recovery code."
    )


class DeviceSerializer(serializers.Serializer):
    label = serializers.CharField()
    last_ip = serializers.IPAddressField(allow_null=True)
    location = serializers.CharField(source="last_location")
    location_name = serializers.CharField()
    first_seen_at = serializers.DateTimeField()
    last_seen_at = serializers.DateTimeField()
    new_device = serializers.BooleanField(source="flagged_new")


class LoginEventSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    face = serializers.CharField()
    ip = serializers.IPAddressField(allow_null=True)
    location = serializers.CharField()
    location_name = serializers.CharField()
    device = serializers.CharField(source="device.label")
    new_device = serializers.BooleanField()


class DevicesSerializer(serializers.Serializer):
    devices = DeviceSerializer(many=True)
    logins = LoginEventSerializer(many=True)


def _parsed(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


# --- Registration and e-mail verification -----------------------------------------------------

REGISTERED = gettext_lazy(
    "Check your inbox: we sent a link to confirm the address. If it already has an account, "
    "we sent that account's owner a message instead."
)


class RegisterView(AnonymousFlowView):
    """Open a client account. A taken address gets exactly the answer a new one gets."""

    @extend_schema(request=RegisterSerializer, responses={202: DetailSerializer})
    def post(self, request: Request) -> Response:
        if request.user.is_authenticated and request.user.kind == UserKind.CLIENT:
            raise PermissionDenied(_("You are signed in already: sign out to register."))
        form = RegistrationForm(data=_parsed(RegisterSerializer, request))
        if not form.is_valid():
            raise ValidationError(_form_errors(form))
        try:
            registration.register(
                request=request._request, data=registration.Registration(**form.cleaned_data)
            )
        except RateLimited as limited:
            raise _too_many(limited) from None
        return Response({"detail": str(REGISTERED)}, status=status.HTTP_202_ACCEPTED)


class VerifyEmailView(AnonymousFlowView):
    """Confirm the e-mail address with the token from the verification link."""

    @extend_schema(request=TokenSerializer, responses={200: MeSerializer})
    def post(self, request: Request) -> Response:
        token = _parsed(TokenSerializer, request)["token"]
        user = registration.email_verify(token=token)
        if user is None:
            raise ValidationError({"token": [str(INVALID_LINK)]})
        return Response(MeSerializer(user).data)


class VerifyEmailResendView(APIView):
    """Send the verification link again to the signed-in client."""

    authentication_classes = [SessionAuthentication]
    permission_classes = [IsClient]

    @extend_schema(request=None, responses={202: DetailSerializer, 200: DetailSerializer})
    def post(self, request: Request) -> Response:
        try:
            sent = registration.verification_resend(request=request._request, user=request.user)
        except RateLimited as limited:
            raise _too_many(limited) from None
        if not sent:
            return Response({"detail": _("Your e-mail address is confirmed already.")})
        detail = _("We sent a new link to %(email)s.") % {"email": request.user.email}
        return Response({"detail": detail}, status=status.HTTP_202_ACCEPTED)


# --- Signing in and out, and the staff second factor ------------------------------------------


def _second_factor_state(request: Request, user: User) -> str:
    if not totp.is_staff_member(user) or totp.session_verified(request._request):
        return "not_needed"
    device = totp.totp_device(user)
    return "enrol" if device.confirmed_at is None else "required"


class LoginView(AnonymousFlowView):
    """Sign in with e-mail and password: a session, like the pages.

    The lockout, the device record, the new-device e-mail and the one answer for a wrong
    password, a locked account and an unknown address are the pages' own
    (``FaceAuthenticationForm``). Staff then pass the second factor.
    """

    @extend_schema(request=LoginSerializer, responses={200: LoginResultSerializer})
    def post(self, request: Request) -> Response:
        data = _parsed(LoginSerializer, request)
        form = FaceAuthenticationForm(
            request._request,
            data={"username": data["email"], "password": data["password"]},
            face=API,
        )
        if not form.is_valid():
            raise ValidationError(_form_errors(form, rename={"username": "email"}))
        user = form.get_user()
        login(request._request, user)
        state = _second_factor_state(request, user)
        body = {"user": MeSerializer(user).data, "second_factor": state}
        response = Response(body)
        signed_in_record(request._request, response, user=user, face=API.namespace)
        return response


class LogoutView(APIView):
    """End the session (and its second factor). Anyone may call it."""

    authentication_classes = [SessionAuthentication]
    permission_classes = [AllowAny]

    @extend_schema(request=None, responses={204: None})
    def post(self, request: Request) -> Response:
        logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SecondFactorView(APIView):
    """The staff second factor over the API: enrol (the key is shown until the first valid
    code) or verify; the session then opens the staff API like the Back Office."""

    authentication_classes = [SessionAuthentication]
    permission_classes = [IsStaffMember]

    def _state(self, request: Request) -> Response:
        state = _second_factor_state(request, request.user)
        body: dict[str, Any] = {"verified": state == "not_needed", "enrolled": state != "enrol"}
        if state == "enrol":
            device = totp.totp_device(request.user)
            body["secret"] = totp.totp_secret(device)
            issuer = current_branding(request._request).name
            body["otpauth_uri"] = totp.totp_provisioning_uri(device, issuer=issuer)
        response = Response(body)
        response["Cache-Control"] = "no-store"
        return response

    @extend_schema(responses={200: SecondFactorSerializer})
    def get(self, request: Request) -> Response:
        return self._state(request)

    @extend_schema(request=CodeSerializer, responses={200: SecondFactorSerializer})
    def post(self, request: Request) -> Response:
        code = _parsed(CodeSerializer, request)["code"]
        if totp.session_verified(request._request):
            return self._state(request)
        outcome = second_factor_pass(request._request, code=code)
        if outcome.refusal is not None:
            raise ValidationError({"code": [str(outcome.refusal)]})
        response = self._state(request)
        if outcome.recovery_codes is not None:
            response.data["recovery_codes"] = outcome.recovery_codes
        if outcome.recovery_left is not None:
            response.data["recovery_codes_left"] = outcome.recovery_left
        return response


# --- Password reset ---------------------------------------------------------------------------

RESET_SENT = gettext_lazy(
    "If the address has an account, a link to choose a new password is on its way."
)


class PasswordResetView(AnonymousFlowView):
    """Ask for a reset link: the same answer, in the same time, for every address."""

    @extend_schema(request=EmailSerializer, responses={202: DetailSerializer})
    def post(self, request: Request) -> Response:
        form = PasswordResetRequestForm(data=_parsed(EmailSerializer, request))
        if not form.is_valid():
            raise ValidationError(_form_errors(form))
        try:
            registration.password_reset_request(
                request=request._request, email=form.cleaned_data["email"]
            )
        except RateLimited as limited:
            raise _too_many(limited) from None
        return Response({"detail": str(RESET_SENT)}, status=status.HTTP_202_ACCEPTED)


class PasswordResetConfirmView(AnonymousFlowView):
    """Choose a new password with the token from the reset link; older sessions end."""

    @extend_schema(request=PasswordResetConfirmSerializer, responses={200: DetailSerializer})
    def post(self, request: Request) -> Response:
        data = _parsed(PasswordResetConfirmSerializer, request)
        if registration.token_get(token=data["token"], purpose=EmailTokenPurpose.RESET) is None:
            raise ValidationError({"token": [str(INVALID_LINK)]})
        form = SetPasswordForm(data={"password": data["password"], "confirm": data["confirm"]})
        if not form.is_valid():
            raise ValidationError(_form_errors(form))
        try:
            registration.password_reset(token=data["token"], password=data["password"])
        except DjangoValidationError as exc:
            raise ValidationError({"password": exc.messages}) from None
        return Response({"detail": _("Your new password is set. Sign in with it.")})


# --- Profile and devices ----------------------------------------------------------------------


class MeView(APIView):
    """The signed-in user's own profile; language and phone can be changed."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=MeSerializer)
    def get(self, request: Request) -> Response:
        return Response(MeSerializer(request.user).data)

    @extend_schema(request=MeUpdateSerializer, responses=MeSerializer)
    def patch(self, request: Request) -> Response:
        data = _parsed(MeUpdateSerializer, request)
        try:
            user = services.user_profile_update(user=request.user, **data)
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict) from None
        return Response(MeSerializer(user).data)


class MyDevicesView(APIView):
    """The browsers and apps the user signed in from, and the latest sign-ins."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=DevicesSerializer)
    def get(self, request: Request) -> Response:
        body = {
            "devices": devices.devices_of(request.user),
            "logins": devices.logins_of(request.user),
        }
        return Response(DevicesSerializer(body).data)
