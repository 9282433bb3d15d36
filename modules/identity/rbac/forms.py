"""Back Office forms for staff and roles: they parse input; the services decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy, pgettext_lazy

from brokerdesk.modules.identity.rbac.codes import permissions_by_module
from brokerdesk.modules.identity.rbac.models import Role, RoleScope, Team
from brokerdesk.modules.identity.rbac.selectors import team_member_choices


def _role_choices() -> list[tuple[str, str]]:
    return [(str(role.public_id), role.name) for role in Role.objects.order_by("name")]


def _code_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    # Grouped choices render as one fieldset per module: codes as checkboxes by module.
    return [
        (str(label), [(p.code, f"{p.code} — {p.label}") for p in perms])
        for _, label, perms in permissions_by_module()
    ]


class StaffInviteForm(forms.Form):
    email = forms.CharField(max_length=254)
    full_name = forms.CharField(max_length=150, required=False)
    roles = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["roles"].choices = _role_choices()


class StaffEditForm(forms.Form):
    full_name = forms.CharField(max_length=150, required=False)
    roles = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["roles"].choices = _role_choices()


class RoleForm(forms.Form):
    name = forms.CharField(max_length=80)
    scope = forms.ChoiceField(choices=RoleScope.choices)
    codes = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args: Any, role: Role | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["codes"].choices = _code_choices()
        if role is not None and role.is_builtin:
            # Built-in roles: codes and name are fixed; the form shows them read-only.
            self.fields["name"].disabled = True
            self.fields["codes"].disabled = True
        if role is not None and role.key == "super_admin":
            self.fields["scope"].disabled = True


def service_errors_to_form(form: forms.Form, exc: ValidationError) -> None:
    """Put a service's field errors on the form (unknown fields become form errors)."""
    for field, messages in exc.message_dict.items():
        target = field if field in form.fields else None
        for message in messages:
            form.add_error(target, message)


class TeamForm(forms.Form):
    """A team's name, members and lead; choices are the broker's active staff (plus anyone
    already in the team). The service decides what is allowed."""

    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    members = forms.MultipleChoiceField(
        label=gettext_lazy("Members"), required=False, widget=forms.CheckboxSelectMultiple
    )
    lead = forms.ChoiceField(label=pgettext_lazy("team leader", "Lead"), required=False)

    def __init__(self, *args: Any, team: Team | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        people = {user.pk: user for user in team_member_choices()}
        if team is not None:
            people |= {user.pk: user for user in team.members.all()}
        choices = [
            (str(user.public_id), user.full_name or user.email)
            for user in sorted(people.values(), key=lambda u: u.email)
        ]
        self.fields["members"].choices = choices
        self.fields["lead"].choices = [("", gettext_lazy("No lead")), *choices]
        self.fields["lead"].help_text = gettext_lazy("The lead must be one of the members.")
