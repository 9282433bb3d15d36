"""DRF permission classes and Back Office view decorators over ``permission_check``."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import NoReverseMatch, reverse
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from brokerdesk.modules.identity.rbac.checks import NotInScope, is_active_staff, permission_check

View = Callable[..., HttpResponse]


def has_permission(code: str) -> type[BasePermission]:
    """A DRF permission class that admits holders of ``code`` (403 otherwise, 401/403 anon)."""

    class HasPermission(BasePermission):
        message = f"You need the permission {code!r}."

        def has_permission(self, request: Request, view: APIView) -> bool:
            return permission_check(request.user, code)

    HasPermission.__name__ = f"HasPermission[{code}]"
    HasPermission.code = code  # type: ignore[attr-defined]
    return HasPermission


class IsActiveStaff(BasePermission):
    """Any active staff member, whatever their roles (the API description, for example)."""

    message = "Only the broker's staff can see this."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return is_active_staff(request.user)


def _login_url() -> str:
    try:
        return reverse("backoffice:login")
    except NoReverseMatch:
        return str(settings.LOGIN_URL)


def permission_required(code: str) -> Callable[[View], View]:
    """Back Office pages: anonymous → login with ``next``; without ``code`` → 403;
    an object outside the actor's scope (``NotInScope``) → 404."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                query = urlencode({"next": request.get_full_path()})
                return HttpResponseRedirect(f"{_login_url()}?{query}")
            if not permission_check(request.user, code):
                raise PermissionDenied(f"You need the permission {code!r}.")
            try:
                return view(request, *args, **kwargs)
            except NotInScope:
                raise Http404() from None

        wrapper.permission_code = code  # type: ignore[attr-defined]
        return wrapper

    return decorator
