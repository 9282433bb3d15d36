"""Back Office pages for teams (/backoffice/teams/), gated by ``staff.manage``.

Thin views like the staff and roles pages: the decorator decides access, the selector loads
the team (missing → 404), the services hold the rules; bad input re-renders with field
messages and status 400, nothing saved.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from brokerdesk.modules.identity.rbac import selectors, team_services
from brokerdesk.modules.identity.rbac.forms import TeamForm, service_errors_to_form
from brokerdesk.modules.identity.rbac.models import Team
from brokerdesk.modules.identity.rbac.permissions import permission_required
from brokerdesk.modules.identity.rbac.views import _render


def _team(request: HttpRequest, public_id: Any) -> Team:
    try:
        return selectors.team_get_for_actor(public_id=public_id, actor=request.user)
    except ObjectDoesNotExist:
        raise Http404("No such team.") from None


def _initial(team: Team) -> dict[str, Any]:
    return {
        "name": team.name,
        "members": [str(member.public_id) for member in team.members.all()],
        "lead": str(team.lead.public_id) if team.lead else "",
    }


@permission_required("staff.manage")
@require_http_methods(["GET"])
def team_list(request: HttpRequest) -> HttpResponse:
    return _render(request, "backoffice/teams/list.html", {"teams": selectors.team_list()})


@permission_required("staff.manage")
@require_http_methods(["GET", "POST"])
def team_create(request: HttpRequest) -> HttpResponse:
    form = TeamForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            team = team_services.team_create(
                actor=request.user, name=data["name"], members=data["members"], lead=data["lead"]
            )
        except ValidationError as exc:
            service_errors_to_form(form, exc)
        else:
            messages.success(request, _("Team created."))
            return redirect("backoffice:teams:edit", public_id=team.public_id)
    status = 400 if request.method == "POST" else 200
    return _render(request, "backoffice/teams/form.html", {"form": form}, status=status)


@permission_required("staff.manage")
@require_http_methods(["GET", "POST"])
def team_edit(request: HttpRequest, public_id: Any) -> HttpResponse:
    team = _team(request, public_id)
    form = TeamForm(
        request.POST if request.method == "POST" else None, initial=_initial(team), team=team
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            team_services.team_update(
                actor=request.user,
                team=team,
                name=data["name"],
                members=data["members"],
                lead=data["lead"],
            )
        except ValidationError as exc:
            service_errors_to_form(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("backoffice:teams:edit", public_id=team.public_id)
    status = 400 if request.method == "POST" else 200
    return _render(
        request, "backoffice/teams/form.html", {"team": team, "form": form}, status=status
    )


@permission_required("staff.manage")
@require_POST
def team_delete(request: HttpRequest, public_id: Any) -> HttpResponse:
    team = _team(request, public_id)
    try:
        team_services.team_delete(actor=request.user, team=team)
    except ValidationError as exc:
        form = TeamForm(data=_initial(team), team=team)
        form.is_valid()
        service_errors_to_form(form, exc)
        context = {"team": team, "form": form}
        return _render(request, "backoffice/teams/form.html", context, status=400)
    messages.success(request, _("Team deleted."))
    return redirect("backoffice:teams:list")
