"""Staff second factor recovery: ten single-use recovery codes from enrolment (stored hashed),
accepted once at the second factor step instead of a TOTP code, regenerated after a fresh
TOTP code; and an administrator's audited reset of a colleague's lost authenticator."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from brokerdesk.modules.audit.models import AuditEntry
from brokerdesk.modules.identity import recovery, totp
from brokerdesk.modules.identity.models import StaffRecoveryCode, StaffTotpDevice, User, UserKind
from brokerdesk.modules.identity.rbac.models import Role
from brokerdesk.modules.identity.rbac.services import default_roles_ensure
from brokerdesk.modules.notifications.models import OutboxEmail
from support.second_factor import code_at, current_step

PASSWORD = "Staff-2fa-Pa55word!"
OTP = reverse("backoffice:otp")
HOME = reverse("backoffice:home")
LOGIN = reverse("backoffice:login")
SECURITY = reverse("backoffice:security")


def _staff(email: str, *, roles: list[Role] = (), superuser: bool = False) -> User:
    user = User(email=email, kind=UserKind.STAFF, is_staff=True, is_superuser=superuser)
    user.set_password(PASSWORD)
    user.save()
    user.rbac_roles.set(roles)
    cache.delete(f"identity.staff_otp_failures.{user.pk}")
    return user


@pytest.fixture
def host(test_tenant) -> str:
    return test_tenant.get_primary_domain().domain


@pytest.fixture
def admin(db) -> User:
    return _staff("root@recovery.example", superuser=True)


@pytest.fixture
def colleague(db) -> User:
    return _staff("desk@recovery.example", roles=[default_roles_ensure()["sales"]])


def _sign_in(host: str, user: User) -> Client:
    client = Client(HTTP_HOST=host)
    response = client.post(LOGIN, {"username": user.email, "password": PASSWORD, "next": HOME})
    assert response.status_code == 302
    return client


def _secret(user: User) -> str:
    return totp.totp_secret(StaffTotpDevice.objects.get(user=user))


def _enrol(host: str, user: User) -> tuple[Client, list[str]]:
    """Sign in for the first time and enrol; returns the verified client and the codes."""
    client = _sign_in(host, user)
    client.get(OTP)
    page = client.post(OTP, {"code": code_at(_secret(user), current_step()), "next": HOME})
    assert page.status_code == 200
    return client, page.context["codes"]


def _audit(action: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action).order_by("sequence"))


def test_enrolment_shows_ten_distinct_codes_once_and_stores_only_their_hashes(host, admin):
    client = _sign_in(host, admin)
    client.get(OTP)

    page = client.post(OTP, {"code": code_at(_secret(admin), current_step()), "next": HOME})

    codes = page.context["codes"]
    html = page.content.decode()
    assert page.status_code == 200 and page["Cache-Control"] == "no-store"
    assert len(codes) == 10 == len(set(codes))
    assert all(len(code) == 11 and code[5] == "-" for code in codes)
    assert all(code in html for code in codes)
    assert f'href="{HOME}"' in html
    stored = list(StaffRecoveryCode.objects.filter(user=admin).values_list("code_hash", flat=True))
    assert len(stored) == 10 and not set(stored) & {c.replace("-", "") for c in codes}
    assert not any(code.replace("-", "") in h or code in h for code in codes for h in stored)
    # The session is verified: the page behind it answers, and the codes are not shown again.
    assert client.get(HOME).status_code == 200
    security = client.get(SECURITY).content.decode()
    assert "You have 10 unused recovery codes." in security
    assert not any(code in security for code in codes)
    assert [row.after for row in _audit("identity.staff_recovery_codes.issue")] == [
        {"recovery_codes_left": 10}
    ]


def test_a_recovery_code_replaces_the_totp_code_once_and_the_count_is_shown(host, admin):
    _, codes = _enrol(host, admin)

    later = _sign_in(host, admin)
    used = later.post(OTP, {"code": codes[3].upper().replace("-", " "), "next": SECURITY})
    page = later.get(used["Location"])

    assert used["Location"] == SECURITY
    assert later.session[totp.SESSION_KEY] == admin.pk
    text = page.content.decode()
    assert "You signed in with a recovery code. 9 recovery codes are left." in text
    assert "You have 9 unused recovery codes." in text
    rows = _audit("identity.staff_recovery_code.use")
    assert [(r.actor_label, r.before, r.after) for r in rows] == [
        ("root@recovery.example", {"recovery_codes_left": 10}, {"recovery_codes_left": 9})
    ]

    # The same code a second time: refused, nothing changes.
    again = _sign_in(host, admin)
    refused = again.post(OTP, {"code": codes[3], "next": HOME})
    assert refused.status_code == 400
    assert "That code is not valid, or was already used" in refused.content.decode()
    assert totp.SESSION_KEY not in again.session
    assert recovery.recovery_codes_remaining(admin) == 9
    assert len(_audit("identity.staff_recovery_code.use")) == 1


def test_few_codes_left_suggest_generating_new_ones(host, admin):
    _, codes = _enrol(host, admin)
    for code in codes[:7]:
        assert recovery.recovery_code_use(user=admin, code=code) is not None

    later = _sign_in(host, admin)
    used = later.post(OTP, {"code": codes[7], "next": HOME})
    page = later.get(used["Location"]).content.decode()

    assert "2 recovery codes are left. Generate new ones under Sign-in security." in page


def test_wrong_recovery_codes_count_towards_the_lock(host, admin):
    _, codes = _enrol(host, admin)
    client = _sign_in(host, admin)

    for _ in range(totp.MAX_FAILURES):
        assert client.post(OTP, {"code": "aaaaa-aaaaa"}).status_code == 400
    locked = client.post(OTP, {"code": codes[0]})

    assert "Too many wrong codes" in locked.content.decode()
    assert recovery.recovery_codes_remaining(admin) == 10
    assert totp.SESSION_KEY not in client.session


def test_no_recovery_code_is_accepted_while_enrolling(host, admin):
    client = _sign_in(host, admin)
    client.get(OTP)

    response = client.post(OTP, {"code": "abcde-fghjk"})

    assert response.status_code == 400
    assert StaffTotpDevice.objects.get(user=admin).confirmed_at is None


def test_new_codes_need_a_fresh_totp_code_and_replace_the_old_ones(host, admin):
    client, old_codes = _enrol(host, admin)
    before = list(StaffRecoveryCode.objects.filter(user=admin).values_list("code_hash", flat=True))

    wrong = client.post(SECURITY, {"code": "000000"})
    assert wrong.status_code == 400 and "code" in wrong.context["form"].errors
    assert sorted(before) == sorted(
        StaffRecoveryCode.objects.filter(user=admin).values_list("code_hash", flat=True)
    )

    fresh = client.post(SECURITY, {"code": code_at(_secret(admin), current_step() + 1)})

    new_codes = fresh.context["codes"]
    assert fresh.status_code == 200 and fresh["Cache-Control"] == "no-store"
    assert len(new_codes) == 10 and not set(new_codes) & set(old_codes)
    assert recovery.recovery_code_use(user=admin, code=old_codes[0]) is None
    assert recovery.recovery_code_use(user=admin, code=new_codes[0]) == 9
    rows = _audit("identity.staff_recovery_codes.issue")
    assert [(r.before, r.after) for r in rows] == [
        ({"recovery_codes_left": 0}, {"recovery_codes_left": 10}),
        ({"recovery_codes_left": 10}, {"recovery_codes_left": 10}),
    ]


# --- An administrator resets a colleague's authenticator --------------------------------------


def _reset_url(user: User) -> str:
    return reverse("backoffice:staff:reset-second-factor", kwargs={"public_id": user.public_id})


def _state(user: User) -> tuple:
    return (
        StaffTotpDevice.objects.filter(user=user, confirmed_at__isnull=False).exists(),
        StaffRecoveryCode.objects.filter(user=user).count(),
        AuditEntry.objects.count(),
        OutboxEmail.objects.filter(template="staff_second_factor_reset").count(),
    )


def test_a_reset_ends_the_colleagues_sessions_audits_mails_and_they_enrol_again(
    host, admin, colleague
):
    admin_client, _ = _enrol(host, admin)
    colleague_client, _ = _enrol(host, colleague)
    assert colleague_client.get(HOME).status_code == 200

    form = admin_client.get(_reset_url(colleague))
    done = admin_client.post(_reset_url(colleague), {"reason": "Lost phone; confirmed by call."})

    assert form.status_code == 200
    assert done["Location"] == reverse(
        "backoffice:staff:edit", kwargs={"public_id": colleague.public_id}
    )
    assert _state(colleague)[:2] == (False, 0)
    # Their session is gone: the Back Office sends them to sign in again.
    assert colleague_client.get(HOME)["Location"].startswith(LOGIN)
    # The administrator's own session is untouched.
    assert admin_client.get(HOME).status_code == 200
    row = _audit("identity.staff_second_factor.reset")[-1]
    assert (row.actor_label, row.target_public_id, row.reason, row.before, row.after) == (
        "root@recovery.example",
        str(colleague.public_id),
        "Lost phone; confirmed by call.",
        {"enrolled": True, "recovery_codes_left": 10},
        {"enrolled": False, "recovery_codes_left": 0, "sessions_ended": 1},
    )
    mail = OutboxEmail.objects.get(template="staff_second_factor_reset")
    assert mail.to == colleague.email
    assert "root@recovery.example removed the authenticator app" in mail.text
    assert mail.subject == "Your Test Broker Back Office second factor was reset"
    # Next sign-in: enrolment again, with a new key.
    again = _sign_in(host, colleague)
    assert again.get(HOME)["Location"].startswith(OTP)
    assert "totp-secret" in again.get(OTP).content.decode()


def test_a_reset_needs_a_reason_and_nobody_resets_their_own(host, admin, colleague):
    admin_client, _ = _enrol(host, admin)
    _enrol(host, colleague)
    before_colleague, before_admin = _state(colleague), _state(admin)

    no_reason = admin_client.post(_reset_url(colleague), {"reason": "   "})
    own = admin_client.post(_reset_url(admin), {"reason": "I lost it"})
    own_api = admin_client.post(
        reverse("staff-api:reset-second-factor", kwargs={"public_id": admin.public_id}),
        {"reason": "I lost it"},
        content_type="application/json",
    )

    assert no_reason.status_code == 400 and "reason" in no_reason.context["form"].errors
    assert own.status_code == 400
    assert "You can&#x27;t reset your own second factor" in own.content.decode()
    assert own_api.status_code == 400
    assert own_api.json()["non_field_errors"][0].startswith("You can't reset your own")
    assert (_state(colleague), _state(admin)) == (before_colleague, before_admin)


def test_the_api_resets_a_colleague_and_refuses_one_with_more_rights(host, admin, colleague):
    managers = Role.objects.create(name="Staff managers", codes=["staff.manage", "clients.view"])
    manager = _staff("manager@recovery.example", roles=[managers])
    manager_client, _ = _enrol(host, manager)
    admin_client, _ = _enrol(host, admin)
    _enrol(host, colleague)
    url = reverse("staff-api:reset-second-factor", kwargs={"public_id": colleague.public_id})
    before_admin = _state(admin)

    above = manager_client.post(
        reverse("staff-api:reset-second-factor", kwargs={"public_id": admin.public_id}),
        {"reason": "lost"},
        content_type="application/json",
    )
    missing = admin_client.post(url, {}, content_type="application/json")
    done = admin_client.post(url, {"reason": "lost phone"}, content_type="application/json")
    nothing_left = admin_client.post(url, {"reason": "again"}, content_type="application/json")

    assert (
        above.status_code == 400 and "more rights than you" in above.json()["non_field_errors"][0]
    )
    assert _state(admin)[:2] == before_admin[:2]
    assert (missing.status_code, list(missing.json())) == (400, ["reason"])
    assert (done.status_code, done.json()["email"]) == (200, colleague.email)
    assert _state(colleague)[:2] == (False, 0)
    assert nothing_left.status_code == 400
    assert "nothing to reset" in nothing_left.json()["non_field_errors"][0]


def test_the_staff_page_shows_whether_a_colleague_has_a_second_factor(host, admin, colleague):
    admin_client, _ = _enrol(host, admin)
    edit = reverse("backoffice:staff:edit", kwargs={"public_id": colleague.public_id})

    before = admin_client.get(edit).content.decode()
    _enrol(host, colleague)
    after = admin_client.get(edit).content.decode()

    assert "Second factor: not set up yet" in before and _reset_url(colleague) not in before
    assert "Second factor: set up." in after and _reset_url(colleague) in after
