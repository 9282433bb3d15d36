"""Demo data of one broker, made through the modules' own services (never raw inserts).

Staff for each default role (two Sales in a desk), routing rules that send German speakers
and Gulf leads to one Sales each and everyone else round-robin to the desk, about thirty
leads (most registered through the registration service, a few brought in by staff), KYC
cases in several states with small valid documents, and a saved segment.

Idempotent: everything is looked up by its natural key (e-mail, name) first, so a second
run creates nothing. Stable: the lead data comes from a seeded random generator.
"""

from __future__ import annotations

import datetime as dt
import io
import random
from dataclasses import dataclass
from typing import Any

DEMO_PASSWORD = "demo-broker-2025"
SEED = 20250101
LEADS_REGISTERED = 24
LEADS_BY_STAFF = 6
SALES_DESK = "Sales desk"
SEGMENT_NAME = "German-speaking leads"


@dataclass(frozen=True)
class StaffSpec:
    key: str  # also the local part of the e-mail address
    full_name: str
    role: str  # a default role's key


STAFF = (
    StaffSpec("sales1", "Sam Seller", "sales"),
    StaffSpec("sales2", "Sara Sales", "sales"),
    StaffSpec("compliance", "Cora Compliance", "compliance"),
    StaffSpec("finance", "Finn Finance", "finance"),
    StaffSpec("support", "Sue Support", "support"),
    StaffSpec("ibmanager", "Ian IB-Manager", "ib_manager"),
)

FIRST = ("Anna", "Ben", "Carla", "David", "Eva", "Farid", "Greta", "Hassan", "Ines", "Jonas",
         "Karim", "Lena", "Mona", "Nils", "Omar", "Paula", "Rania", "Stefan", "Tariq", "Ute")  # fmt: skip
LAST = ("Becker", "Haddad", "Keller", "Mansour", "Novak", "Okafor", "Rossi", "Schmidt",
        "Tanaka", "Weber", "Youssef", "Ziegler")  # fmt: skip
# (country, language, dialling prefix): German speakers, the Gulf, and the rest of the world.
PLACES = (
    ("DE", "de", "+4915"), ("AT", "de", "+43664"), ("CH", "de", "+4179"),
    ("AE", "ar", "+97150"), ("SA", "ar", "+96650"), ("EG", "ar", "+2010"),
    ("GB", "en", "+4477"), ("IE", "en", "+35387"), ("ZA", "en", "+2782"), ("NG", "en", "+234803"),
)  # fmt: skip
CAMPAIGNS = (
    ("google", "cpc", "spring-gold"),
    ("facebook", "social", "copy-trading"),
    ("newsletter", "email", "weekly-outlook"),
    ("", "", ""),  # direct: no first touch
)


@dataclass
class Report:
    """What one run created (all zero on a second run)."""

    staff: int = 0
    rules: int = 0
    leads: int = 0
    kyc_cases: int = 0
    segments: int = 0

    def summary(self) -> str:
        if not any(vars(self).values()):
            return "demo data present, nothing created"
        return (
            f"created {self.staff} staff, {self.rules} routing rules, {self.leads} leads, "
            f"{self.kyc_cases} KYC cases, {self.segments} segment"
        )


def staff_email(key: str, slug: str) -> str:
    return f"{key}@{slug}.example"


def demo_data_ensure(*, slug: str, owner_email: str, host: str) -> Report:
    """Create what is missing of ``slug``'s demo data (run inside the tenant's context)."""
    from brokerdesk.modules.identity.models import User

    report = Report()
    owner = User.objects.get(email=owner_email)
    staff = _staff_ensure(owner, slug, report)
    desk = _desk_ensure(owner, [staff["sales1"], staff["sales2"]])
    _routing_ensure(owner, staff, desk, report)
    clients = _leads_ensure(owner, slug, host, report)
    _kyc_ensure(clients[: len(KYC_PLAN)], staff["compliance"], report)
    _segment_ensure(staff["sales1"], report)
    return report


# --- staff, desk, routing -----------------------------------------------------------------


def _staff_ensure(owner: Any, slug: str, report: Report) -> dict[str, Any]:
    """Each demo staff member invited by the owner, with the demo password set by the link."""
    from brokerdesk.modules.identity.models import User
    from brokerdesk.modules.identity.rbac.services import default_roles_ensure, staff_invite
    from brokerdesk.modules.identity.services import set_password_link_use

    roles = default_roles_ensure()
    found = {}
    for spec in STAFF:
        email = staff_email(spec.key, slug)
        user = User.objects.filter(email=email).first()
        if user is None:
            user, token = staff_invite(
                actor=owner,
                email=email,
                full_name=spec.full_name,
                roles=[str(roles[spec.role].public_id)],
            )
            user = set_password_link_use(token=token, password=DEMO_PASSWORD)
            report.staff += 1
        found[spec.key] = user
    return found


def _desk_ensure(owner: Any, members: list[Any]) -> Any:
    from brokerdesk.modules.identity.rbac.models import Team
    from brokerdesk.modules.identity.rbac.team_services import team_create

    desk = Team.objects.filter(name=SALES_DESK).first()
    if desk is None:
        desk = team_create(
            actor=owner,
            name=SALES_DESK,
            members=[str(m.public_id) for m in members],
            lead=str(members[0].public_id),
        )
    return desk


def _routing_ensure(owner: Any, staff: dict[str, Any], desk: Any, report: Report) -> None:
    """German speakers to Sales 1, the Gulf and Egypt to Sales 2, everyone else round-robin
    within the Sales desk (the fallback)."""
    from brokerdesk.modules.crm.models import RoutingRule, RoutingTarget
    from brokerdesk.modules.crm.routing import crm_settings_get
    from brokerdesk.modules.crm.rules import crm_settings_update, rule_create

    rules = (
        {"name": "German speakers", "languages": ["de"], "owner": staff["sales1"]},
        {"name": "Gulf and Egypt", "countries": ["AE", "SA", "EG"], "owner": staff["sales2"]},
    )
    for rule in rules:
        if RoutingRule.objects.filter(name=rule["name"]).exists():
            continue
        data = {**rule, "target": RoutingTarget.OWNER, "owner": str(rule["owner"].public_id)}
        rule_create(actor=owner, data=data)
        report.rules += 1
    if crm_settings_get().fallback_desk_id != desk.pk:
        crm_settings_update(actor=owner, data={"fallback_desk": str(desk.public_id)})


# --- leads ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LeadSpec:
    email: str
    full_name: str
    country: str
    language: str
    phone: str
    campaign: tuple[str, str, str]
    ip: str


def lead_specs(slug: str) -> list[LeadSpec]:
    """The same list every run (seeded), different per broker."""
    rng = random.Random(f"{SEED}:{slug}")
    specs = []
    for number in range(LEADS_REGISTERED + LEADS_BY_STAFF):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        country, language, prefix = rng.choice(PLACES)
        specs.append(
            LeadSpec(
                email=f"{first}.{last}.{number:02d}@{slug}-leads.example".lower(),
                full_name=f"{first} {last}",
                country=country,
                language=language,
                phone=prefix + "".join(str(rng.randrange(10)) for _ in range(7)),
                campaign=rng.choice(CAMPAIGNS),
                ip=f"203.0.113.{number + 10}",
            )
        )
    return specs


def _leads_ensure(owner: Any, slug: str, host: str, report: Report) -> list[Any]:
    """The registered clients (through the registration service, so routed and sourced like a
    visitor of the Trader's Room), then a few leads staff brought in; returns the clients."""
    from brokerdesk.modules.crm.records import lead_create
    from brokerdesk.modules.crm.source import Source
    from brokerdesk.modules.identity.models import User

    specs = lead_specs(slug)
    existing = dict(
        User.objects.filter(email__in=[s.email for s in specs]).values_list("email", "pk")
    )
    clients = []
    for spec in specs[:LEADS_REGISTERED]:
        user = (
            User.objects.get(pk=existing[spec.email])
            if spec.email in existing
            else _register(spec, host, report)
        )
        clients.append(user)
    for spec in specs[LEADS_REGISTERED:]:
        if spec.email in existing:
            continue
        lead_create(
            actor=owner,
            email=spec.email,
            full_name=spec.full_name,
            phone=spec.phone,
            country=spec.country,
            language=spec.language,
            source=Source(utm_source="expo", utm_medium="event", utm_campaign="dubai-expo"),
        )
        report.leads += 1
    return clients


def _register(spec: LeadSpec, host: str, report: Report) -> Any:
    """One visitor registering, with the first touch their session would carry."""
    from django.test import RequestFactory
    from django.utils import timezone

    from brokerdesk.modules.crm.source import SESSION_KEY, Source
    from brokerdesk.modules.identity.registration import Registration, register

    utm_source, utm_medium, utm_campaign = spec.campaign
    landing = f"http://{host}/?utm_source={utm_source}" if utm_source else ""
    request = RequestFactory().get("/register/", HTTP_HOST=host, REMOTE_ADDR=spec.ip)
    request.LANGUAGE_CODE = spec.language
    source = Source(
        utm_source=utm_source,
        utm_medium=utm_medium,
        utm_campaign=utm_campaign,
        landing_page=landing,
        language=spec.language,
        at=timezone.now().isoformat(),
    )
    request.session = {SESSION_KEY: source.as_dict()} if utm_source else {}  # type: ignore[assignment]
    data = Registration(
        email=spec.email,
        password=DEMO_PASSWORD,
        country=spec.country,
        language=spec.language,
        phone=spec.phone,
    )
    user = register(request=request, data=data)
    if user is None:  # registered meanwhile (another run): the same person
        from brokerdesk.modules.identity.models import User

        return User.objects.get(email=spec.email)
    report.leads += 1
    return user


# --- KYC ------------------------------------------------------------------------------------

# What the first six clients have done: (profile, identity, proof of address, decision).
KYC_PLAN: tuple[tuple[bool, bool, bool, str], ...] = (
    (True, False, False, ""),  # started: details only
    (True, True, False, ""),  # identity document in, proof of address missing
    (True, True, True, ""),  # submitted: pending review
    (True, True, True, ""),
    (True, True, True, "approve"),
    (True, True, True, "request_resubmission"),
)


def _kyc_ensure(clients: list[Any], reviewer: Any, report: Report) -> None:
    from django.db import transaction

    from brokerdesk.modules.kyc.models import KycCase

    for client, plan in zip(clients, KYC_PLAN, strict=False):
        if KycCase.objects.filter(client=client).exists():
            continue
        with transaction.atomic():  # a case is made whole or not at all
            _kyc_case_make(client, plan, reviewer)
        report.kyc_cases += 1


def _kyc_case_make(client: Any, plan: tuple[bool, bool, bool, str], reviewer: Any) -> None:
    from brokerdesk.modules.kyc.cases import case_open, case_transition
    from brokerdesk.modules.kyc.documents import Upload, document_review, document_upload
    from brokerdesk.modules.kyc.models import CaseEvent, DocumentStatus

    with_profile, identity, address, decision = plan
    case = case_open(client=client, actor=client)
    if with_profile:
        _kyc_profile_save(client)
    today = dt.date.today()
    documents = []
    if identity:
        upload = Upload("identity", "passport", _card_image("JPEG", "PASSPORT"), "passport.jpg",
                        expires_on=today.replace(year=today.year + 6))  # fmt: skip
        documents.append(document_upload(client=client, upload=upload, actor=client))
    if address:
        upload = Upload("proof_of_address", "utility_bill", _card_image("PNG", "UTILITY BILL"),
                        "utility-bill.png", issued_on=today - dt.timedelta(days=20))  # fmt: skip
        documents.append(document_upload(client=client, upload=upload, actor=client))
    if not decision:
        return
    case.refresh_from_db()
    if decision == CaseEvent.APPROVE:
        for document in documents:
            document_review(document=document, status=DocumentStatus.APPROVED, actor=reviewer)
        case_transition(case=case, event=CaseEvent.APPROVE, actor=reviewer)
    else:
        feedback = "The bill is older than 3 months; upload a newer one."
        document_review(document=documents[0], status=DocumentStatus.APPROVED, actor=reviewer)
        document_review(
            document=documents[1],
            status=DocumentStatus.RESUBMISSION_NEEDED,
            actor=reviewer,
            feedback=feedback,
        )
        case_transition(
            case=case, event=CaseEvent.REQUEST_RESUBMISSION, actor=reviewer, reason=feedback
        )


def _kyc_profile_save(client: Any) -> None:
    """The details step of the Trader's Room: the same form, the same audit entry."""
    from django.core.exceptions import ValidationError
    from django.utils import timezone

    from brokerdesk.modules.audit.services import audit_record
    from brokerdesk.modules.kyc.forms import ProfileForm
    from brokerdesk.modules.kyc.models import KycProfile

    rng = random.Random(f"{SEED}:{client.email}")
    first, last = rng.choice(FIRST), rng.choice(LAST)
    data = {
        "first_name": first,
        "last_name": last,
        "date_of_birth": dt.date(
            1965 + rng.randrange(35), 1 + rng.randrange(12), 1 + rng.randrange(28)
        ),
        "address_line": f"{1 + rng.randrange(120)} Market Street",
        "city": "Springfield",
        "postal_code": f"{10000 + rng.randrange(89999)}",
        "country": client.country,
        "nationality": client.country,
        "employment_status": "employed",
        "source_of_funds": "salary",
    }
    profile = KycProfile.objects.filter(client=client).first() or KycProfile(client=client)
    form = ProfileForm(data, instance=profile)
    if not form.is_valid():
        raise ValidationError(form.errors)
    profile = form.save(commit=False)
    profile.updated_at = timezone.now()
    profile.completed_at = profile.completed_at or timezone.now()
    profile.save()
    audit_record(actor=client, action="kyc.profile.update", target=client, before=None,
                 after={"fields": sorted(form.changed_data)})  # fmt: skip


def _card_image(fmt: str, title: str) -> bytes:
    """A small picture of a document: a frame, a photo box, text lines (a few kB)."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (320, 200), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((4, 4, 315, 195), outline="navy", width=3)
    draw.rectangle((16, 30, 96, 130), fill="lightsteelblue")
    for row in range(5):
        draw.line((110, 40 + row * 18, 290, 40 + row * 18), fill="gray", width=4)
    draw.text((16, 150), f"{title}  DEMO<<SPECIMEN", fill="black")
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


# --- segment --------------------------------------------------------------------------------


def _segment_ensure(creator: Any, report: Report) -> None:
    from brokerdesk.modules.crm.models import Segment
    from brokerdesk.modules.crm.segments import segment_create

    if Segment.objects.filter(name=SEGMENT_NAME).exists():
        return
    segment_create(actor=creator, name=SEGMENT_NAME, filters={"view": "leads", "language": "de"})
    report.segments += 1


# --- trading (issue 8): an entity, account types on the simulators' groups, demo accounts ----

TRADING_COUNTRIES = ["CY", "DE", "FR", "IT", "ES", "NL", "GB", "AE", "ZA", "MY", "TH", "BR"]
# (name, kind, environment, group on the simulator, leverage choices)
TRADING_TYPES = (
    ("Standard", "standard", "live", "real\\standard-usd", [10, 20, 30]),
    ("Demo Standard", "demo", "demo", "demo\\standard-usd", [10, 30]),
    ("Demo ECN", "demo", "demo", "demo\\ecn-usd", [10, 30]),
)


def trading_demo_ensure(*, broker_name: str, client_email: str) -> int:
    """Account types for the broker's simulators (asked for their groups) and two demo
    accounts for the demo client, opened through the real queue; returns accounts opened.
    Run inside the tenant's context once the simulators answer."""
    from brokerdesk.modules.identity.models import User
    from brokerdesk.modules.trading.account_types import account_type_create
    from brokerdesk.modules.trading.models import AccountType, TradingAccount
    from brokerdesk.modules.trading.services import account_open_request, request_process
    from brokerdesk.tenants.config.models import LegalEntity, TradingServer

    entity, _ = LegalEntity.objects.get_or_create(
        name=f"{broker_name} Markets Ltd",
        defaults={"regulator": "CySEC (demo)", "jurisdiction": "CY",
                  "allowed_countries": TRADING_COUNTRIES, "max_leverage": 30},
    )  # fmt: skip
    servers = {server.environment: server for server in TradingServer.objects.all()}
    for position, (name, kind, environment, group, leverages) in enumerate(TRADING_TYPES):
        if (
            environment not in servers
            or AccountType.objects.filter(legal_entity=entity, name=name).exists()
        ):
            continue
        account_type_create(
            legal_entity=entity,
            data={"name": name, "kind": kind, "server": servers[environment].public_id,
                  "group": group, "leverage_choices": leverages, "position": position},
            actor="demo",
        )  # fmt: skip
    client = User.objects.filter(email=client_email).first()
    if client is None or TradingAccount.objects.filter(client=client).exists():
        return 0
    if not client.country:
        client.country = TRADING_COUNTRIES[0]
        client.save(update_fields=["country"])
    opened = 0
    for account_type in AccountType.objects.filter(legal_entity=entity, kind="demo"):
        request = account_open_request(client=client, account_type=account_type, actor="demo")
        outcome = request_process(request.pk)
        opened += outcome is not None and outcome.status == "done"
    return opened
