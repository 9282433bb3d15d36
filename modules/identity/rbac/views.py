"""Back Office pages for staff (/backoffice/staff/) and roles (/backoffice/roles/).

Thin views: ``permission_required`` decides access (anonymous → login, no code → 403), the
``*_get_for_actor`` selectors load objects (missing → 404) and the services hold the rules.
Bad input re-renders the form with field messages and status 400; nothing is saved.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import select_template
from django.views.decorators.http import require_http_methods, require_POST

from brokerdesk.modules.identity.rbac import selectors, services
from brokerdesk.modules.identity.rbac.codes import permissions_by_module
from brokerdesk.modules.identity.rbac.forms import (
    RoleForm,
    StaffEditForm,
    StaffInviteForm,
    service_errors_to_form,
)
from brokerdesk.modules.identity.rbac.permissions import permission_required
from brokerdesk.modules.identity.totp import totp_enrolled
from brokerdesk.tenants.branding import current_branding


def _render(
    request: HttpRequest, template: str, context: dict[str, Any], *, status: int = 200
) -> HttpResponse:
    base = select_template(["backoffice/base.html", "base.html"])
    context = {"brand": current_branding(request), "base_template": base, **context}
    return render(request, template, context, status=status)


def _staff(request: HttpRequest, public_id: Any) -> Any:
    try:
        return selectors.staff_get_for_actor(public_id=public_id, actor=request.user)
    except ObjectDoesNotExist:
        raise Http404("No such staff member.") from None


def _role(request: HttpRequest, public_id: Any) -> Any:
    try:
        return selectors.role_get_for_actor(public_id=public_id, actor=request.user)
    except ObjectDoesNotExist:
        raise Http404("No such role.") from None


# --- Staff ------------------------------------------------------------------------------------


@permission_required("staff.manage")
@require_http_methods(["GET"])
def staff_list(request: HttpRequest) -> HttpResponse:
    return _render(request, "backoffice/staff/list.html", {"staff": selectors.staff_list()})


@permission_required("staff.manage")
@require_http_methods(["GET", "POST"])
def staff_invite(request: HttpRequest) -> HttpResponse:
    form = StaffInviteForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            user, token = services.staff_invite(
                actor=request.user,
                email=form.cleaned_data["email"],
                full_name=form.cleaned_data["full_name"],
                roles=form.cleaned_data["roles"],
            )
        except ValidationError as exc:
            service_errors_to_form(form, exc)
        else:
            link = request.build_absolute_uri(f"/set-password/{token}/")
            # Shown once to the inviter, who passes it on; only its hash is stored.
            return _render(
                request, "backoffice/staff/invited.html", {"invited": user, "link": link}
            )
    status = 400 if request.method == "POST" else 200
    return _render(request, "backoffice/staff/invite.html", {"form": form}, status=status)


@permission_required("staff.manage")
@require_http_methods(["GET", "POST"])
def staff_edit(request: HttpRequest, public_id: Any) -> HttpResponse:
    member = _staff(request, public_id)
    initial = {
        "full_name": member.full_name,
        "roles": [str(role.public_id) for role in member.rbac_roles.all()],
    }
    form = StaffEditForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.staff_update(
                actor=request.user,
                staff=member,
                roles=form.cleaned_data["roles"],
                full_name=form.cleaned_data["full_name"],
            )
        except ValidationError as exc:
            service_errors_to_form(form, exc)
        else:
            messages.success(request, "Saved.")
            return redirect("backoffice:staff:edit", public_id=member.public_id)
    status = 400 if request.method == "POST" else 200
    context = {"member": member, "form": form, "second_factor": totp_enrolled(member)}
    return _render(request, "backoffice/staff/edit.html", context, status=status)


@permission_required("staff.manage")
@require_POST
def staff_deactivate(request: HttpRequest, public_id: Any) -> HttpResponse:
    member = _staff(request, public_id)
    try:
        services.staff_deactivate(actor=request.user, staff=member)
    except ValidationError as exc:
        # A bound form with the member's current values, so the refusal shows on it.
        form = StaffEditForm(
            data={
                "full_name": member.full_name,
                "roles": [str(r.public_id) for r in member.rbac_roles.all()],
            }
        )
        form.is_valid()
        service_errors_to_form(form, exc)
        context = {"member": member, "form": form, "second_factor": totp_enrolled(member)}
        return _render(request, "backoffice/staff/edit.html", context, status=400)
    messages.success(request, "Deactivated.")
    return redirect("backoffice:staff:edit", public_id=member.public_id)


# --- Roles ------------------------------------------------------------------------------------


@permission_required("roles.manage")
@require_http_methods(["GET"])
def role_list(request: HttpRequest) -> HttpResponse:
    context = {"roles": selectors.role_list(), "groups": permissions_by_module()}
    return _render(request, "backoffice/roles/list.html", context)


@permission_required("roles.manage")
@require_http_methods(["GET", "POST"])
def role_create(request: HttpRequest) -> HttpResponse:
    form = RoleForm(request.POST if request.method == "POST" else None, initial={"scope": "all"})
    if request.method == "POST" and form.is_valid():
        try:
            role = services.role_create(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            service_errors_to_form(form, exc)
        else:
            messages.success(request, "Role created.")
            return redirect("backoffice:roles:edit", public_id=role.public_id)
    status = 400 if request.method == "POST" else 200
    return _render(request, "backoffice/roles/form.html", {"form": form}, status=status)


@permission_required("roles.manage")
@require_http_methods(["GET", "POST"])
def role_edit(request: HttpRequest, public_id: Any) -> HttpResponse:
    role = _role(request, public_id)
    initial = {"name": role.name, "scope": role.scope, "codes": list(role.codes)}
    form = RoleForm(request.POST if request.method == "POST" else None, initial=initial, role=role)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.role_update(
                actor=request.user,
                role=role,
                # Disabled fields come back as their initial values: pass None (no change).
                name=None if role.is_builtin else data["name"],
                codes=None if role.is_builtin else data["codes"],
                scope=data["scope"],
            )
        except ValidationError as exc:
            service_errors_to_form(form, exc)
        else:
            messages.success(request, "Saved.")
            return redirect("backoffice:roles:edit", public_id=role.public_id)
    status = 400 if request.method == "POST" else 200
    context = {"role": role, "form": form}
    return _render(request, "backoffice/roles/form.html", context, status=status)
