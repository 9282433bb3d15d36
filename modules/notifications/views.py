"""Back Office: what was e-mailed to an address (the outbox rows, newest first)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from brokerdesk.modules.identity.rbac.checks import permission_check
from brokerdesk.modules.notifications.services import emails_to

View = Callable[..., HttpResponse]


def may_see_emails(user: Any) -> bool:
    """The one rule for who may read e-mails sent to clients: the ``clients.view_emails``
    code (Super admin, Compliance and Support by default; ADR 0016)."""
    return permission_check(user, "clients.view_emails")


def emails_viewer_required(view: View) -> View:
    """Anonymous → the Back Office login (with ``next``); anyone else not allowed → 403."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            query = urlencode({"next": request.get_full_path()})
            return HttpResponseRedirect(f"{reverse('backoffice:login')}?{query}")
        if not may_see_emails(request.user):
            raise PermissionDenied("You need the permission 'clients.view_emails'.")
        return view(request, *args, **kwargs)

    return wrapper


class EmailSearchForm(forms.Form):
    """The address whose e-mails to list."""

    to = forms.EmailField(label=_("E-mail address"), max_length=254)


@emails_viewer_required
def email_list(request: HttpRequest) -> HttpResponse:
    """``/backoffice/emails/?to=…``: every e-mail queued for that address and its fate."""
    form = EmailSearchForm(request.GET if "to" in request.GET else None)
    emails = emails_to(address=form.cleaned_data["to"]) if form.is_valid() else []
    status = 400 if form.is_bound and not form.is_valid() else 200
    return render(
        request, "backoffice/emails/list.html", {"form": form, "emails": emails}, status=status
    )
