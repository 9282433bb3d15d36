"""Key rotation: re-encrypt every stored secret of every tenant with the current key.

Runs per schema in one transaction, on the raw columns (no model code, no plaintext kept).
Tenancy code is allowed here: this is tenants/.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from django.apps import apps
from django.conf import settings
from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper

from brokerdesk.tenants import schemas
from brokerdesk.tenants.config.crypto import SecretDecryptionError, rotate
from brokerdesk.tenants.config.fields import EncryptedSecretField


@dataclass
class RotationReport:
    """What a rotation did, per schema: secrets re-encrypted and secrets no key opens."""

    rotated: dict[str, int] = field(default_factory=dict)
    undecryptable: dict[str, list[str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.undecryptable


def encrypted_columns() -> Iterator[tuple[str, str]]:
    """(table, column) of every encrypted field of every app (tenant config, operator TOTP)."""
    for model in apps.get_models():
        for model_field in model._meta.concrete_fields:
            if isinstance(model_field, EncryptedSecretField):
                yield model._meta.db_table, model_field.column


def rotate_schema(schema: str, report: RotationReport) -> None:
    """Re-encrypt one schema's secrets; rows no key opens are reported and left as they are."""
    quote = connection.ops.quote_name
    with schemas.schema_context(schema), transaction.atomic(), connection.cursor() as cursor:
        for table, column in encrypted_columns():
            if not _table_exists(cursor, schema, table):
                continue
            cursor.execute(
                f"SELECT id, {quote(column)} FROM {quote(schema)}.{quote(table)} "
                f"WHERE {quote(column)} <> '' ORDER BY id FOR UPDATE"
            )
            for row_id, token in cursor.fetchall():
                try:
                    new_token = rotate(token)
                except SecretDecryptionError:
                    report.undecryptable.setdefault(schema, []).append(f"{table}.{column}#{row_id}")
                    continue
                cursor.execute(
                    f"UPDATE {quote(schema)}.{quote(table)} SET {quote(column)} = %s WHERE id = %s",
                    [new_token, row_id],
                )
                report.rotated[schema] = report.rotated.get(schema, 0) + 1


def _table_exists(cursor: CursorWrapper, schema: str, table: str) -> bool:
    cursor.execute(
        "SELECT 1 FROM information_schema.tables WHERE table_schema = %s AND table_name = %s",
        [schema, table],
    )
    return cursor.fetchone() is not None


def rotate_all() -> RotationReport:
    """Rotate the public schema (operators' secrets), the template and every tenant schema."""
    report = RotationReport()
    for schema in [
        settings.PUBLIC_SCHEMA_NAME,
        settings.TENANT_TEMPLATE_SCHEMA,
        *schemas.tenant_schemas(),
    ]:
        if schemas.schema_exists(schema):
            rotate_schema(schema, report)
    return report
