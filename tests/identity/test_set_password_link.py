"""The owner's one-time set-password link."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from brokerdesk.modules.identity.models import SetPasswordLink, User
from brokerdesk.modules.identity.services import (
    set_password_link_issue,
    set_password_link_use,
    super_admin_ensure,
)


@pytest.fixture
def admin(db):
    return super_admin_ensure(email="New.Admin@Test.Example")


def test_the_super_admin_starts_without_a_usable_password(admin):
    assert admin.email == "new.admin@test.example"
    assert admin.is_superuser and admin.is_staff and not admin.has_usable_password()
    assert super_admin_ensure(email="new.admin@test.example").pk == admin.pk


def test_a_link_sets_the_password_once(admin):
    token = set_password_link_issue(user=admin)
    assert token not in "".join(SetPasswordLink.objects.values_list("token_hash", flat=True))

    set_password_link_use(token=token, password="correct horse battery")

    assert User.objects.get(pk=admin.pk).check_password("correct horse battery")
    with pytest.raises(ValidationError, match="already used"):
        set_password_link_use(token=token, password="another good passphrase")
    assert User.objects.get(pk=admin.pk).check_password("correct horse battery")


def test_a_weak_password_is_refused_and_the_link_stays_usable(admin):
    token = set_password_link_issue(user=admin)

    with pytest.raises(ValidationError):
        set_password_link_use(token=token, password="123")

    assert not User.objects.get(pk=admin.pk).has_usable_password()
    assert SetPasswordLink.objects.get(user=admin).used_at is None


def test_the_set_password_page_works_once(tenant_client, admin):
    token = set_password_link_issue(user=admin)
    url = f"/set-password/{token}/"

    assert tenant_client.get(url).status_code == 200
    mismatch = tenant_client.post(url, {"password": "correct horse battery", "confirm": "other"})
    assert mismatch.status_code == 400 and b"The two passwords differ" in mismatch.content
    done = tenant_client.post(
        url, {"password": "correct horse battery", "confirm": "correct horse battery"}
    )
    assert done.status_code == 200 and b"Your password is saved" in done.content
    assert tenant_client.get(url).status_code == 404


def test_an_unknown_token_gets_a_clear_404(tenant_client):
    response = tenant_client.get("/set-password/nonsense/")

    assert response.status_code == 404 and b"expired or was already used" in response.content


def test_emails_are_unique_whatever_their_case(db):
    from django.db import IntegrityError, transaction

    User.objects.create(email="Same@Example.com")
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.bulk_create([User(email="SAME@example.com")])
    assert User.objects.get(email="same@example.com").public_id is not None
