"""Clients who registered before the CRM existed get their record (stage "registered", no
owner, no source: nothing was captured for them), so they show in the lists and on the 360."""

import unicodedata

from django.db import migrations

_GMAIL = {"gmail.com", "googlemail.com"}


def _email_key(email):
    local, _at, domain = email.strip().lower().rpartition("@")
    local = local.split("+", 1)[0]
    if domain in _GMAIL:
        local, domain = local.replace(".", ""), "gmail.com"
    return f"{local}@{domain}"


def _name_key(name):
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())[:150]


def records_create(apps, schema_editor):
    User = apps.get_model("identity", "User")
    ClientRecord = apps.get_model("crm", "ClientRecord")
    missing = User.objects.filter(kind="client", crm_record__isnull=True)
    ClientRecord.objects.bulk_create(
        [
            ClientRecord(
                user=user,
                stage="registered",
                stage_changed_at=user.created_at,
                created_at=user.created_at,
                full_name=user.full_name,
                name_key=_name_key(user.full_name),
                email=user.email,
                email_key=_email_key(user.email),
                phone=user.phone,
                country=user.country,
                language=user.language,
            )
            for user in missing.iterator()
        ],
        batch_size=1000,
    )


class Migration(migrations.Migration):
    dependencies = [("crm", "0002_live_record_indexes"), ("identity", "0007_staff_totp_device")]

    operations = [migrations.RunPython(records_create, migrations.RunPython.noop)]
