"""A NUL character in a query field: a 400 that says so, never a 500.

PostgreSQL text cannot hold U+0000, so a filter or a save with it failed inside the view
(``GET /api/v1/kyc/cases/?state=%00`` was a 500, found by tests/contract/test_api_fuzz.py).
"""

from __future__ import annotations

from urllib.parse import urlencode

from brokerdesk.modules.audit.models import AuditEntry
from brokerdesk.platform.middleware import MESSAGE
from support.rbac_actors import actors_make


def test_a_nul_in_an_api_query_is_refused_and_the_same_query_without_it_answers(db, test_tenant):
    api = actors_make(test_tenant.get_primary_domain().domain).client("super_admin")
    refused = api.get("/api/v1/kyc/cases/?state=%00pending&mine=1")
    assert refused.status_code == 400 and refused.json() == {"detail": MESSAGE}
    assert api.get("/api/v1/kyc/cases/?st%00ate=x").status_code == 400  # in a name too
    assert api.get("/api/v1/kyc/cases/?state=pending&mine=1").status_code == 200


def test_a_nul_in_a_page_query_is_refused_and_a_form_field_with_one_is_refused_by_its_form(
    db, test_tenant
):
    actors = actors_make(test_tenant.get_primary_domain().domain)
    staff = actors.client("super_admin")
    page = staff.get("/backoffice/clients/?q=a%00b")
    assert page.status_code == 400 and page.content.decode() == MESSAGE
    assert staff.get("/backoffice/clients/?q=ab").status_code == 200
    # A posted field is its form's to refuse, with a message on the field: a sign-in with a
    # NUL in the e-mail is refused, no audit row, no session
    audit = AuditEntry.objects.count()
    visitor = actors.client("anonymous")
    fields = {"username": "owner\x00@x.example", "password": "whatever"}
    for body, content_type in ((urlencode(fields), "application/x-www-form-urlencoded"),
                               (fields, None)):  # fmt: skip
        kwargs = {"content_type": content_type} if content_type else {}
        form = visitor.post("/backoffice/login/", body, **kwargs)
        assert form.status_code in (200, 400) and "Null characters" in form.content.decode()
    assert AuditEntry.objects.count() == audit and "_auth_user_id" not in visitor.session
