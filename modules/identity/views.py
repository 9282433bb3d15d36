"""Identity pages: choosing a password through a one-time link."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from brokerdesk.modules.identity import services


class SetPasswordForm(forms.Form):
    password = forms.CharField(widget=forms.PasswordInput, max_length=128)
    confirm = forms.CharField(widget=forms.PasswordInput, max_length=128)

    def clean(self) -> dict[str, str]:
        data = super().clean() or {}
        if data.get("password") and data.get("password") != data.get("confirm"):
            raise ValidationError("The two passwords differ.")
        return data


def set_password(request: HttpRequest, token: str) -> HttpResponse:
    link = services.set_password_link_get(token=token)
    if link is None:
        return render(request, "identity/set_password_invalid.html", status=404)
    form = SetPasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.set_password_link_use(token=token, password=form.cleaned_data["password"])
        except ValidationError as exc:
            form.add_error("password", exc)
        else:
            return render(request, "identity/set_password_done.html")
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "identity/set_password.html",
        {"form": form, "email": link.user.email},
        status=status,
    )
