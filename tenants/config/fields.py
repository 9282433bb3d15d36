"""A model field whose column holds only ciphertext and whose value never prints plaintext."""

from __future__ import annotations

from typing import Any

from django.db import models

from brokerdesk.tenants.config.crypto import Secret


class EncryptedSecretField(models.TextField):
    """Stores a ``Secret`` as a Fernet token; an empty column means "not set".

    Assigning a plain ``str`` encrypts it on save, so plaintext can never reach the column by
    accident. Loading does not decrypt: only ``Secret.reveal()`` does.
    """

    description = "An encrypted secret (Fernet token)"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("blank", True)
        kwargs.setdefault("default", Secret)
        kwargs["editable"] = False
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> tuple[str, str, list[Any], dict[str, Any]]:
        name, path, args, kwargs = super().deconstruct()
        kwargs.pop("editable", None)
        return name, path, args, kwargs

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> Secret:
        return Secret(token=value or "")

    def to_python(self, value: Any) -> Secret:
        if isinstance(value, Secret):
            return value
        return Secret.of(value) if value else Secret()

    def get_prep_value(self, value: Any) -> str:
        if value is None or value == "":
            return ""
        if isinstance(value, Secret):
            return value.token
        return Secret.of(str(value)).token

    def value_to_string(self, obj: models.Model) -> str:
        # Serialisation (dumpdata, fixtures) carries the token, never the plaintext.
        return self.get_prep_value(self.value_from_object(obj))
