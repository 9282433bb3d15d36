"""Back Office pages for API tokens (/backoffice/tokens/): list, create, revoke.

``permission_required("tokens.manage")`` decides access; ``api_token_get_for_actor`` loads a
token (404 outside the actor's scope); the services hold the rules. A new token's secret is
rendered once, on the answer to the form, and never again.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from brokerdesk.modules.identity.rbac.forms import service_errors_to_form
from brokerdesk.modules.identity.rbac.permissions import permission_required
from brokerdesk.modules.identity.rbac.views import _render
from brokerdesk.modules.identity.tokens import selectors, services
from brokerdesk.modules.identity.tokens.forms import ApiTokenForm

CODE = "tokens.manage"


@permission_required(CODE)
@require_http_methods(["GET", "POST"])
def token_list(request: HttpRequest) -> HttpResponse:
    """The tokens in the actor's scope and the form for a new one."""
    form = ApiTokenForm(request.POST if request.method == "POST" else None, actor=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            token, secret = services.api_token_create(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            service_errors_to_form(form, exc)
        else:
            response = _render(
                request, "backoffice/tokens/created.html", {"token": token, "secret": secret}
            )
            # The secret must not be kept by a cache or shown again from history.
            response["Cache-Control"] = "no-store"
            return response
    context = {"tokens": selectors.api_token_list_for_actor(actor=request.user), "form": form}
    status = 400 if request.method == "POST" else 200
    return _render(request, "backoffice/tokens/list.html", context, status=status)


@permission_required(CODE)
@require_POST
def token_revoke(request: HttpRequest, public_id: Any) -> HttpResponse:
    try:
        token = selectors.api_token_get_for_actor(public_id=public_id, actor=request.user)
    except ObjectDoesNotExist:
        raise Http404("No such token.") from None
    try:
        services.api_token_revoke(actor=request.user, token=token)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("The token “%(name)s” is revoked.") % {"name": token.name})
    return redirect("backoffice:tokens:list")
