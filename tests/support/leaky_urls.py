"""A URLconf with a deliberately leaking view, to prove the isolation walker can fail."""

from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.urls import path

from brokerdesk.platform.urls_tenant import urlpatterns as tenant_urlpatterns


def leak_every_users_email(request: HttpRequest) -> HttpResponse:
    """Reads every tenant schema's users: exactly the bug the walker exists to catch."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_schema FROM information_schema.tables "
            "WHERE table_name = 'identity_user' AND table_schema LIKE 't\\_%%'"
        )
        emails = []
        for (schema,) in cursor.fetchall():
            cursor.execute(f'SELECT email, full_name FROM "{schema}".identity_user')
            emails += [f"{email} {name}" for email, name in cursor.fetchall()]
    return HttpResponse("\n".join(emails))


urlpatterns = [*tenant_urlpatterns, path("leak/", leak_every_users_email, name="leak")]
