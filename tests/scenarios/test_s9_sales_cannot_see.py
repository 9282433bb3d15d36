"""S9: Sales cannot open finance details, AML notes or approve anything — through pages, the
API or direct URLs — each refusal a clean 403/404, and nothing changes.

Covers what exists so far: the permission-gated pages and endpoints (settings, staff, roles,
audit, the permission codes, a client's devices outside Sales' own clients) and the field
visibility every later finance/KYC serializer and template goes through. Each later issue
adds its own endpoints here (withdrawal approval, client finance tab, KYC AML notes).
"""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from brokerdesk.modules.audit.models import AuditEntry
from brokerdesk.modules.crm.models import (
    ClientRecord,
    CrmSettings,
    DuplicateFlag,
    LeadImport,
    Note,
    RoutingRule,
    Segment,
)
from brokerdesk.modules.identity.models import User, UserKind
from brokerdesk.modules.identity.rbac.checks import permission_check
from brokerdesk.modules.identity.rbac.models import Role, Team
from brokerdesk.modules.identity.rbac.services import default_roles_ensure
from brokerdesk.modules.identity.rbac.visibility import fields_visible_filter
from brokerdesk.modules.identity.tokens.models import ApiToken
from brokerdesk.modules.identity.tokens.services import api_token_create
from brokerdesk.modules.identity.totp import totp_device
from brokerdesk.modules.identity.totp_models import StaffTotpDevice
from brokerdesk.modules.kyc.models import (
    KycApproval,
    KycCase,
    KycConfiguration,
    KycDocument,
    KycProvider,
    KycState,
    RiskAssessment,
    RiskPolicy,
    RiskRule,
    ScreeningResult,
)
from brokerdesk.modules.payments.models import PaymentMethod
from brokerdesk.modules.trading.models import AccountRequest, AccountType, TradingAccount
from brokerdesk.tenants.config.models import LegalEntity, PspCredential, TradingServer
from support.config_canary import config_canary
from support.crm import crm_targets
from support.kyc_canary import kyc_canary
from support.ledger import ledger_route_targets, ledger_snapshot
from support.partners_canary import partners_targets
from support.payments import money_snapshot, payments_route_targets
from support.rbac_actors import sign_in, user_make
from support.trading_canary import trading_route_targets

REFUSED = {403, 404}


@pytest.fixture
def world(db, test_tenant, client):
    roles = default_roles_ensure()
    sales = user_make("sales@s9.example", roles=[roles["sales"]])
    colleague = user_make("finance@s9.example", roles=[roles["finance"]])
    trader = user_make("trader@s9.example", kind=UserKind.CLIENT)
    custom = Role.objects.create(name="Night desk", codes=["clients.view"], scope="own")
    team = Team.objects.create(name="Finance desk")
    team.members.add(colleague)
    # The colleague has an authenticator, so a reset would show in the snapshot.
    device = totp_device(colleague)
    device.confirmed_at = timezone.now()
    device.save()
    token, _ = api_token_create(actor=colleague, name="Finance export", codes=["payments.view"])
    _, ids = config_canary("test", "S9")
    ids.update(kyc_canary("test", "S9")[1])
    # Another owner's client, a duplicate flag, a colleague's segment and a routing rule.
    ids.update(crm_targets(colleague))
    ids.update(ledger_route_targets(trader))  # issue 7: a posted adjustment of the trader
    ids.update(trading_route_targets(trader))  # issue 8: the trader's trading account
    ids.update(payments_route_targets(trader))  # issue 9: a method, a pending deposit
    ids.update(partners_targets("test", "S9", colleague))  # issue 10: IB objects
    client.defaults["HTTP_HOST"] = test_tenant.get_primary_domain().domain
    return {
        "client": sign_in(client, sales),
        "sales": sales,
        "colleague": colleague,
        "trader": trader,
        "custom": custom,
        "token": token,
        "roles": roles,
        "ids": ids,
        "team": team,
    }


def _snapshot() -> dict[str, object]:
    """Everything a refused request might have changed."""
    return {
        "users": sorted(User.objects.values_list("email", "is_active", "full_name")),
        "roles": sorted(Role.objects.values_list("name", "scope", "codes")),
        "memberships": sorted(Role.members.through.objects.values_list("role_id", "user_id")),
        "teams": sorted(Team.objects.values_list("name", "lead_id")),
        "team_members": sorted(Team.members.through.objects.values_list("team_id", "user_id")),
        "second_factors": sorted(StaffTotpDevice.objects.values_list("user_id", "confirmed_at")),
        "entities": sorted(LegalEntity.objects.values_list("name", "updated_at")),
        "servers": sorted(TradingServer.objects.values_list("name", "updated_at")),
        "psps": sorted(PspCredential.objects.values_list("name", "updated_at")),
        "audit": AuditEntry.objects.count(),
        "tokens": sorted(ApiToken.objects.values_list("name", "codes", "revoked_at")),
        "kyc_cases": sorted(KycCase.objects.values_list("public_id", "state__key", "assigned_to")),
        "kyc_documents": sorted(
            KycDocument.objects.values_list("public_id", "status", "expires_on")
        ),
        "screenings": ScreeningResult.objects.count(),
        "kyc_states": sorted(KycState.objects.values_list("pk", "allowed_actions")),
        "kyc_risk_policies": sorted(
            RiskPolicy.objects.values_list(
                "pk", "auto_approve_enabled", "auto_approve_below", "second_review_from"
            )
        ),
        "kyc_risk_rules": sorted(RiskRule.objects.values_list("pk", "enabled", "weight", "flags")),
        "kyc_approvals": KycApproval.objects.count(),
        "kyc_assessments": RiskAssessment.objects.count(),
        "kyc_verification": sorted(
            KycConfiguration.objects.values_list("pk", "provider_id", "expiry_warning_days")
        ),
        "kyc_providers": sorted(KycProvider.objects.values_list("name", "base_url", "secrets")),
        # CRM (issue 5): owners, stages, notes, merges, duplicates, segments, routing.
        "crm_records": sorted(
            ClientRecord.objects.values_list(
                "email", "owner_id", "desk_id", "stage", "merged_into_id"
            )
        ),
        "crm_notes": Note.objects.count(),
        "crm_flags": sorted(DuplicateFlag.objects.values_list("pk", "status")),
        "crm_segments": sorted(Segment.objects.values_list("name", "filters")),
        "crm_rules": sorted(RoutingRule.objects.values_list("name", "position", "countries")),
        "crm_settings": list(CrmSettings.objects.values_list("fallback_owner_id", "dormancy_days")),
        "ledger": ledger_snapshot(),  # issue 7: accounts, transfers, entries, adjustments
        "crm_imports": sorted(LeadImport.objects.values_list("pk", "status", "dry_run")),
        # Trading (issue 8): accounts (block, status), types, requests.
        "trading_accounts": sorted(
            TradingAccount.objects.values_list(
                "login", "status", "is_blocked", "block_reason", "leverage"
            )
        ),
        "trading_types": sorted(AccountType.objects.values_list("name", "group", "active")),
        "trading_requests": sorted(AccountRequest.objects.values_list("pk", "status")),
        # Payments (issue 9): deposits, their statuses and ledger effects; payment methods.
        "payments": money_snapshot(),
        "methods": sorted(PaymentMethod.objects.values_list("name", "min_minor", "is_active")),
        "partners": _partners_snapshot(),  # issue 10
    }


def _partners_snapshot() -> dict[str, object]:
    from brokerdesk.modules.partners.models import (
        AttributionSettings,
        ClientAssignment,
        CommissionLine,
        Dispute,
        EntityReferralSettings,
        FxRate,
        MarketingMaterial,
        Partner,
        PlanVersion,
        ReassignmentRequest,
        ReferralLink,
        Statement,
    )

    return {
        "assignments": sorted(ClientAssignment.objects.values_list("pk", "superseded_at")),
        "moves": sorted(ReassignmentRequest.objects.values_list("pk", "status")),
        "versions": sorted(PlanVersion.objects.values_list("pk", "status")),
        "statements": sorted(Statement.objects.values_list("pk", "status", "total_minor")),
        "lines": sorted(CommissionLine.objects.values_list("pk", "amount_minor")),
        "disputes": sorted(Dispute.objects.values_list("pk", "status")),
        "partners": sorted(Partner.objects.values_list("pk", "status")),
        "materials": sorted(MarketingMaterial.objects.values_list("pk", "is_active", "title")),
        "fx_rates": sorted(FxRate.objects.values_list("pk", "rate")),
        "attribution": sorted(AttributionSettings.objects.values_list("rule", "window_days")),
        "entity_referrals": sorted(
            EntityReferralSettings.objects.values_list(
                "pk", "rule", "window_days", "friends_enabled"
            )
        ),
        "links": sorted(ReferralLink.objects.values_list("pk", "campaign", "archived_at")),
    }


def _requests(world) -> list[tuple[str, str, dict]]:
    ids = world["ids"]
    staff = {"public_id": world["colleague"].public_id}
    role = {"public_id": world["custom"].public_id}
    super_admin = {"public_id": world["roles"]["super_admin"].public_id}
    own = {"public_id": world["sales"].public_id}
    token = {"public_id": world["token"].public_id}
    grab_super = {"roles": [str(world["roles"]["super_admin"].public_id)]}
    team = {"public_id": world["team"].public_id}
    return [
        # Pages (direct URLs included: object pages by id).
        ("get", reverse("backoffice:settings:index"), {}),
        ("get", reverse("backoffice:settings:psps"), {}),
        ("get", reverse("backoffice:settings:psp-edit", kwargs=ids["psp"]), {}),
        ("post", reverse("backoffice:settings:server-edit", kwargs=ids["server"]), {"name": "x"}),
        ("post", reverse("backoffice:settings:document-remove", kwargs=ids["document"]), {}),
        ("get", reverse("backoffice:staff:list"), {}),
        ("post", reverse("backoffice:staff:invite"), {"email": "new@s9.example"}),
        ("post", reverse("backoffice:staff:edit", kwargs=own), grab_super),
        ("post", reverse("backoffice:staff:deactivate", kwargs=staff), {}),
        ("get", reverse("backoffice:roles:list"), {}),
        ("post", reverse("backoffice:roles:create"), {"name": "Mine", "codes": ["payments.adjust"]}),
        ("post", reverse("backoffice:roles:edit", kwargs=role), {"name": "x", "scope": "all"}),
        ("get", reverse("backoffice:audit:list"), {}),
        ("get", reverse("identity:client-devices", kwargs={"public_id": world["trader"].public_id}), {}),
        ("get", reverse("backoffice:tokens:list"), {}),
        ("post", reverse("backoffice:tokens:list"), {"name": "Mine", "codes": ["clients.view"]}),
        ("post", reverse("backoffice:tokens:revoke", kwargs=token), {}),
        # API.
        ("get", reverse("config-api:psp-credentials"), {}),
        ("get", reverse("config-api:psp-credential", kwargs=ids["psp"]), {}),
        ("patch", reverse("config-api:trading-server", kwargs=ids["server"]), {"name": "x"}),
        ("get", reverse("staff-api:list"), {}),
        ("post", reverse("staff-api:list"), {"email": "new@s9.example"}),
        ("patch", reverse("staff-api:detail", kwargs=own), grab_super),
        ("post", reverse("staff-api:deactivate", kwargs=staff), {}),
        ("get", reverse("roles-api:list"), {}),
        ("post", reverse("roles-api:list"), {"name": "Mine", "codes": ["payments.adjust"]}),
        ("patch", reverse("roles-api:detail", kwargs=super_admin), {"scope": "own"}),
        ("get", reverse("permissions-api:list"), {}),
        ("get", reverse("audit-api:list"), {}),
        # Teams (moving people changes what team-scoped roles reach) and resetting a
        # colleague's second factor: staff.manage only.
        ("get", reverse("backoffice:teams:list"), {}),
        ("post", reverse("backoffice:teams:create"), {"name": "Sales A", "members": [str(world["sales"].public_id)]}),
        ("post", reverse("backoffice:teams:edit", kwargs=team), {"name": "x", "members": [str(world["sales"].public_id)]}),
        ("post", reverse("backoffice:teams:delete", kwargs=team), {}),
        ("get", reverse("backoffice:staff:reset-second-factor", kwargs=staff), {}),
        ("post", reverse("backoffice:staff:reset-second-factor", kwargs=staff), {"reason": "lost"}),
        ("get", reverse("teams-api:list"), {}),
        ("post", reverse("teams-api:list"), {"name": "Sales A"}),
        ("get", reverse("teams-api:detail", kwargs=team), {}),
        ("patch", reverse("teams-api:detail", kwargs=team), {"members": [str(world["sales"].public_id)]}),
        ("delete", reverse("teams-api:detail", kwargs=team), {}),
        ("post", reverse("staff-api:reset-second-factor", kwargs=staff), {"reason": "lost"}),
        ("get", reverse("tokens-api:list"), {}),
        ("post", reverse("tokens-api:list"), {"name": "Mine", "codes": ["clients.view"]}),
        ("get", reverse("tokens-api:detail", kwargs=token), {}),
        ("post", reverse("tokens-api:revoke", kwargs=token), {}),
        # KYC: the queue, a case, its documents' links, decisions and screening (AML).
        ("get", reverse("backoffice:kyc"), {}),
        ("get", reverse("backoffice:kyc-case", kwargs=ids["kyc_case"]), {}),
        ("post", reverse("backoffice:kyc-case-decide", kwargs=ids["kyc_case"]), {"event": "approve"}),
        ("post", reverse("backoffice:kyc-document-view", kwargs=ids["kyc_document"]), {}),
        ("post", reverse("backoffice:kyc-document-review", kwargs=ids["kyc_document"]), {"status": "approved"}),
        # Document expiry (kyc.review to correct a date, kyc.view to see the expiring list).
        ("post", reverse("backoffice:kyc-document-expiry", kwargs=ids["kyc_document"]), {"expires_on": "2030-01-01"}),
        ("get", reverse("backoffice:kyc") + "?expiring=1", {}),
        ("get", reverse("kyc-api:documents-expiring"), {}),
        ("post", reverse("kyc-api:document-expiry", kwargs=ids["kyc_document"]), {"expires_on": "2030-01-01"}),
        # Provider accounts and which rules use one (config.manage).
        ("get", reverse("backoffice:kyc-providers"), {}),
        ("post", reverse("backoffice:kyc-providers"), {"name": "Mine", "kind": "sumsub", "base_url": "https://x.example", "level_name": "l"}),
        ("get", reverse("backoffice:kyc-provider", kwargs=ids["kyc_provider"]), {}),
        ("post", reverse("backoffice:kyc-provider", kwargs=ids["kyc_provider"]), {"name": "Mine", "kind": "sumsub", "base_url": "https://x.example", "level_name": "l"}),
        ("post", reverse("backoffice:kyc-rules-edit", kwargs=ids["kyc_configuration"]), {"row": "verification", "expiry_warning_days": "1"}),
        ("get", reverse("kyc-api:cases"), {}),
        ("get", reverse("kyc-api:case", kwargs=ids["kyc_case"]), {}),
        ("post", reverse("kyc-api:case-decision", kwargs=ids["kyc_case"]), {"event": "approve"}),
        ("post", reverse("kyc-api:case-assign", kwargs=ids["kyc_case"]), {}),
        ("post", reverse("backoffice:kyc-case-assign", kwargs=ids["kyc_case"]), {}),
        ("get", reverse("kyc-api:case-screening", kwargs=ids["kyc_case"]), {}),
        ("post", reverse("kyc-api:case-screening", kwargs=ids["kyc_case"]), {}),
        ("post", reverse("kyc-api:document-link", kwargs=ids["kyc_document"]), {}),
        ("post", reverse("kyc-api:document-review", kwargs=ids["kyc_document"]), {"status": "approved"}),
        ("get", reverse("kyc-api:configurations"), {}),
        ("get", reverse("backoffice:kyc-rules"), {}),
        ("post", reverse("backoffice:kyc-rules-edit", kwargs=ids["kyc_configuration"]),
         {"row": "state:pending_review", "label": "x", "client_message": "x", "allowed_actions": ["withdraw"]}),
        ("patch", reverse("kyc-api:configuration-state", kwargs=ids["kyc_state"]), {"allowed_actions": ["withdraw"]}),
        # KYC risk (issue 6 items 5, 6): scores and reasons (AML), the risk rules, approvals.
        ("get", reverse("kyc-api:case-risk", kwargs=ids["kyc_case"]), {}),
        ("patch", reverse("kyc-api:configuration-risk", kwargs=ids["kyc_configuration"]), {"auto_approve_below": 100, "second_review_from": 100}),
        ("patch", reverse("kyc-api:configuration-risk-rule", kwargs=ids["kyc_risk_rule"]), {"enabled": False}),
        ("post", reverse("backoffice:kyc-rules-edit", kwargs=ids["kyc_configuration"]),
         {"row": "rule:screening", "weight": "0"}),
        ("post", reverse("kyc-api:case-decision", kwargs=ids["kyc_case"]), {"event": "approve", "reason": "mine"}),
        # CRM (issue 5): another owner's client through pages, the API and direct URLs (404);
        # reassignment, merges, duplicates, routing and others' segments (403).
        *_crm_requests(world),
    ]  # fmt: skip


def _crm_requests(world) -> list[tuple[str, str, dict]]:
    ids = world["ids"]
    theirs = ids["crm_client"]
    own = {"owner": str(world["sales"].public_id), "reason": "mine now"}
    return [
        ("get", reverse("backoffice:crm:detail", kwargs=theirs), {}),
        ("get", reverse("backoffice:crm:timeline", kwargs=theirs), {}),
        ("post", reverse("backoffice:crm:note-add", kwargs=theirs), {"text": "hi"}),
        ("post", reverse("backoffice:crm:assign", kwargs=theirs), own),
        ("post", reverse("backoffice:crm:merge", kwargs=theirs), {"merge": theirs["public_id"]}),
        ("get", reverse("backoffice:crm:duplicates"), {}),
        ("post", reverse("backoffice:crm:duplicate-dismiss", kwargs=ids["crm_flag"]), {}),
        ("post", reverse("backoffice:crm:segment-delete", kwargs=ids["crm_segment"]), {}),
        ("get", reverse("backoffice:crm:routing"), {}),
        ("post", reverse("backoffice:crm:routing"), {"name": "grab", "target": "owner", "owner": own["owner"]}),
        ("get", reverse("backoffice:crm:routing-edit", kwargs=ids["crm_rule"]), {}),
        ("post", reverse("backoffice:crm:routing-move", kwargs=ids["crm_rule"]), {"position": "1"}),
        ("post", reverse("backoffice:crm:routing-delete", kwargs=ids["crm_rule"]), {}),
        ("get", reverse("backoffice:crm:settings"), {}),
        ("post", reverse("backoffice:crm:settings"), {"fallback_owner": own["owner"], "dormancy_days": "1", "churn_days": "1"}),
        ("get", reverse("crm-api:client", kwargs=theirs), {}),
        ("get", reverse("crm-api:notes", kwargs=theirs), {}),
        ("post", reverse("crm-api:notes", kwargs=theirs), {"text": "hi"}),
        ("get", reverse("crm-api:timeline", kwargs=theirs), {}),
        ("get", reverse("policy-api:client", kwargs=theirs), {}),
        ("post", reverse("crm-api:assign", kwargs=theirs), own),
        ("post", reverse("crm-api:merge", kwargs=theirs), {"merge": theirs["public_id"]}),
        ("get", reverse("crm-api:duplicates"), {}),
        ("post", reverse("crm-api:duplicate-dismiss", kwargs=ids["crm_flag"]), {}),
        ("patch", reverse("crm-api:segment", kwargs=ids["crm_segment"]), {"name": "mine"}),
        ("delete", reverse("crm-api:segment", kwargs=ids["crm_segment"]), {}),
        ("get", reverse("crm-api:routing-rules"), {}),
        ("post", reverse("crm-api:routing-rules"), {"name": "grab", "target": "owner", "owner": own["owner"]}),
        ("patch", reverse("crm-api:routing-rule", kwargs=ids["crm_rule"]), {"owner": own["owner"]}),
        ("delete", reverse("crm-api:routing-rule", kwargs=ids["crm_rule"]), {}),
        ("post", reverse("crm-api:routing-rule-move", kwargs=ids["crm_rule"]), {"position": 1}),
        ("get", reverse("crm-api:settings"), {}),
        ("patch", reverse("crm-api:settings"), {"fallback_owner": own["owner"]}),
        # The lead import (clients.import): Sales holds clients.edit but never imports.
        ("get", reverse("backoffice:crm:imports"), {}),
        ("post", reverse("backoffice:crm:imports"), {"mode": "import"}),
        ("get", reverse("backoffice:crm:import-template"), {}),
        ("get", reverse("backoffice:crm:import", kwargs=ids["crm_import"]), {}),
        ("post", reverse("backoffice:crm:import-run", kwargs=ids["crm_import"]), {}),
        ("get", reverse("backoffice:crm:import-report", kwargs=ids["crm_import"]), {}),
        ("get", reverse("crm-api:imports"), {}),
        ("post", reverse("crm-api:imports"), {"dry_run": False}),
        ("get", reverse("crm-api:import", kwargs=ids["crm_import"]), {}),
        ("get", reverse("crm-api:import-report", kwargs=ids["crm_import"]), {}),
        # Ledger (issue 7): Sales never sees money, adjustments or their reasons, and moves none.
        *_ledger_requests(world),
        # Trading (issue 8): Sales sees no trading account, balance or queue, and blocks none.
        *_trading_requests(world),
        # Payments (issue 9): no finance queue, deposit, status query or payment method.
        *_payments_requests(world),
        # IBs (issue 10): Sales may ask to move its own clients, nothing else.
        *_partners_requests(world),
    ]  # fmt: skip


def _trading_requests(world) -> list[tuple[str, str, dict]]:
    ids = world["ids"]
    account, request, kind = ids["trading-account"], ids["trading-request"], ids["trading-type"]
    return [
        ("get", reverse("backoffice:trading:requests"), {}),
        (
            "post",
            reverse("backoffice:trading:request-action", kwargs={**request, "action": "approve"}),
            {},
        ),
        (
            "post",
            reverse("backoffice:trading:account-action", kwargs={**account, "action": "block"}),
            {"reason": "Sales tries"},
        ),
        (
            "post",
            reverse("backoffice:trading:account-action", kwargs={**account, "action": "archive"}),
            {},
        ),
        ("get", reverse("backoffice:trading:account-types"), {}),
        ("get", reverse("backoffice:trading:account-type", kwargs=kind), {}),
        ("post", reverse("backoffice:trading:account-type", kwargs=kind), {"name": "x"}),
        ("get", reverse("trading-api:accounts"), {}),
        ("get", reverse("trading-api:accounts"), {"client": str(world["trader"].public_id)}),
        ("get", reverse("trading-api:account", kwargs=account), {}),
        ("post", reverse("trading-api:account-block", kwargs=account), {"reason": "Sales"}),
        ("post", reverse("trading-api:account-archive", kwargs=account), {}),
        ("get", reverse("trading-api:requests"), {}),
        ("get", reverse("trading-api:request", kwargs=request), {}),
        ("post", reverse("trading-api:request-decision", kwargs=request), {"approve": True}),
        ("get", reverse("trading-api:account-types"), {}),
        ("patch", reverse("trading-api:account-type", kwargs=kind), {"active": False}),
        # The sync: deals, positions, what is out of step, reconciliation.
        ("get", reverse("trading-api:deals", kwargs=account), {}),
        ("get", reverse("trading-api:positions", kwargs=account), {}),
        ("get", reverse("trading-api:sync-exceptions"), {}),
        ("get", reverse("trading-api:reconciliation"), {}),
    ]


def _payments_requests(world) -> list[tuple[str, str, dict]]:
    deposit, method = world["ids"]["deposit"], world["ids"]["payment_method"]
    withdrawal = world["ids"]["withdrawal"]
    reconciliation_item = world["ids"]["reconciliation_item"]
    change = {"name": "Sales method", "min_amount": "1.00"}
    return [
        ("get", reverse("backoffice:payments"), {}),
        ("get", reverse("backoffice:payments:deposit", kwargs=deposit), {}),
        ("post", reverse("backoffice:payments:deposit-poll", kwargs=deposit), {}),
        ("post", reverse("backoffice:payments:deposit-review", kwargs=deposit),
         {"decision": "credit", "note": "Sales tries"}),
        ("post", reverse("backoffice:payments:deposit-chargeback", kwargs=deposit),
         {"reason": "Sales tries"}),
        ("post", reverse("payments-api:deposit-chargeback", kwargs=deposit),
         {"reason": "Sales tries"}),
        ("get", reverse("backoffice:payments:methods"), {}),
        ("post", reverse("backoffice:payments:methods"), change),
        ("get", reverse("backoffice:payments:method", kwargs=method), {}),
        ("post", reverse("backoffice:payments:method", kwargs=method), change),
        ("get", reverse("payments-api:methods"), {}),
        ("post", reverse("payments-api:methods"), change),
        ("get", reverse("payments-api:method", kwargs=method), {}),
        ("patch", reverse("payments-api:method", kwargs=method), change),
        ("get", reverse("payments-api:deposits"), {}),
        ("post", reverse("payments-api:deposits"), {"method": method["public_id"],
                                                    "amount": "10.00", "currency": "USD"}),
        ("get", reverse("payments-api:deposit", kwargs=deposit), {}),
        ("get", reverse("backoffice:payments:reconciliation"), {}),
        ("post", reverse("backoffice:payments:reconciliation"), {"day": "2026-11-20"}),
        ("post", reverse("backoffice:payments:reconciliation-resolve",
                         kwargs=reconciliation_item), {"note": "Sales tries"}),
        ("get", reverse("payments-api:reconciliation"), {}),
        ("post", reverse("payments-api:reconciliation-resolve", kwargs=reconciliation_item),
         {"note": "Sales tries"}),
        # Withdrawals: Sales neither reads nor approves one.
        ("get", reverse("backoffice:payments:withdrawals"), {}),
        ("get", reverse("backoffice:payments:withdrawal", kwargs=withdrawal), {}),
        ("post", reverse("backoffice:payments:withdrawal-approve", kwargs=withdrawal), {}),
        ("post", reverse("backoffice:payments:withdrawal-reject", kwargs=withdrawal),
         {"reason": "Sales tries"}),
        ("get", reverse("payments-api:withdrawals"), {}),
        ("post", reverse("payments-api:withdrawals"), {"method": method["public_id"],
                                                       "amount": "10.00", "currency": "USD"}),
        ("get", reverse("payments-api:withdrawal", kwargs=withdrawal), {}),
        ("post", reverse("payments-api:withdrawal-approve", kwargs=withdrawal), {}),
        ("post", reverse("payments-api:withdrawal-reject", kwargs=withdrawal), {"reason": "x"}),
        # Internal transfers: Sales neither reads a client's nor makes one.
        ("get", reverse("backoffice:payments:transfers"), {"client": world["trader"].email}),
        ("get", reverse("payments-api:transfers"), {}),
        ("post", reverse("payments-api:transfers"), {"source": "wallet", "target": "1",
                                                     "amount": "10.00", "currency": "USD"}),
    ]  # fmt: skip


def _partners_requests(world) -> list[tuple[str, str, dict]]:
    ids = world["ids"]
    period = {"start_month": "2026-10"}
    return [
        ("get", reverse("backoffice:ibs"), {}),
        ("post", reverse("backoffice:partners:application-approve",
                         kwargs=ids["ib-application"]), {}),
        ("get", reverse("backoffice:partners:plans"), {}),
        ("post", reverse("backoffice:partners:plans"), {"plan": ids["ib-plan"]["public_id"]}),
        ("post", reverse("backoffice:partners:move-approve", kwargs=ids["ib-move"]), {}),
        ("post", reverse("backoffice:partners:version-submit", kwargs=ids["ib-version"]), {}),
        ("get", reverse("backoffice:partners:statements"), {}),
        ("get", reverse("backoffice:partners:statements-export"), {}),
        ("post", reverse("backoffice:partners:statement-close", kwargs=ids["ib-statement"]), {}),
        ("post", reverse("backoffice:partners:statement-pay", kwargs=ids["ib-statement"]), {}),
        ("get", reverse("backoffice:partners:disputes"), {}),
        ("get", reverse("backoffice:partners:dispute", kwargs=ids["ib-dispute"]), {}),
        ("post", reverse("backoffice:partners:dispute", kwargs=ids["ib-dispute"]),
         {"decision": "accept", "resolution": "x"}),
        ("get", reverse("partners-api:ibs"), {}),
        ("get", reverse("partners-api:ib", kwargs=ids["ib-partner"]), {}),
        ("get", reverse("partners-api:client-history", kwargs=ids["ib-client"]), {}),
        ("post", reverse("partners-api:move-approve", kwargs=ids["ib-move"]), {}),
        ("get", reverse("partners-api:plans"), {}),
        ("post", reverse("partners-api:version-submit", kwargs=ids["ib-version"]), {}),
        ("post", reverse("partners-api:version-what-if", kwargs=ids["ib-version"]), period),
        ("post", reverse("partners-api:runs"), period),
        ("get", reverse("partners-api:statements"), {}),
        ("get", reverse("partners-api:statements-export"), {}),
        ("post", reverse("partners-api:statement-close", kwargs=ids["ib-statement"]), {}),
        ("post", reverse("partners-api:statement-pay", kwargs=ids["ib-statement"]), {}),
        ("get", reverse("partners-api:line", kwargs=ids["ib-line"]), {}),
        ("get", reverse("partners-api:disputes"), {}),
        ("post", reverse("partners-api:dispute-resolve", kwargs=ids["ib-dispute"]),
         {"accept": True, "resolution": "x"}),
        ("get", reverse("partner-api:clients"), {}),
        ("get", reverse("partner-api:commissions"), {}),
        # The programme (ADR 0036): materials, quality, rates, attribution, IB endpoints.
        ("get", reverse("backoffice:partners:materials"), {}),
        ("post", reverse("backoffice:partners:materials"), {"title": "Sales banner"}),
        ("post", reverse("backoffice:partners:material-deactivate", kwargs=ids["ib-material"]), {}),
        ("post", reverse("backoffice:partners:material-download", kwargs=ids["ib-material"]), {}),
        ("get", reverse("backoffice:partners:quality"), {}),
        ("get", reverse("backoffice:partners:quality-export"), {}),
        ("get", reverse("backoffice:partners:fx-rates"), {}),
        ("post", reverse("backoffice:partners:fx-rates"), {"base": "EUR", "quote": "USD",
                                                           "rate": "1.1", "source": "Sales"}),
        ("get", reverse("backoffice:partners:attribution"), {}),
        ("post", reverse("backoffice:partners:attribution"), {"rule": "last", "window_days": 1}),
        ("get", reverse("partners-api:materials"), {}),
        ("get", reverse("partners-api:material", kwargs=ids["ib-material"]), {}),
        ("patch", reverse("partners-api:material", kwargs=ids["ib-material"]),
         {"is_active": False}),
        ("post", reverse("partners-api:material-link", kwargs=ids["ib-material"]), {}),
        ("get", reverse("partners-api:applications"), {}),
        ("post", reverse("partners-api:application-approve", kwargs=ids["ib-application"]), {}),
        ("get", reverse("partners-api:attribution"), {}),
        ("patch", reverse("partners-api:attribution"), {"rule": "last"}),
        ("get", reverse("partners-api:entity-referrals", kwargs=ids["ib-entity"]), {}),
        ("patch", reverse("partners-api:entity-referrals", kwargs=ids["ib-entity"]),
         {"friends_enabled": False}),
        ("get", reverse("partners-api:fx-rates"), {}),
        ("post", reverse("partners-api:fx-rates"), {"base": "EUR", "quote": "USD", "rate": "1.1",
                                                    "effective_at": "2026-10-01T00:00:00Z",
                                                    "source": "Sales"}),
        ("get", reverse("partners-api:quality"), {}),
        ("get", reverse("partners-api:quality-export"), {}),
        ("get", reverse("partner-api:links"), {}),
        ("get", reverse("partner-api:link-qr-png", kwargs=ids["ib-link"]), {}),
        ("get", reverse("partner-api:materials"), {}),
        ("post", reverse("partner-api:material-link", kwargs=ids["ib-material"]), {}),
        ("get", reverse("referrals-api:mine"), {}),
    ]  # fmt: skip


def test_sales_asks_to_move_only_its_own_clients(world):
    """Sales holds partners.request_move for its own clients: another owner's client is
    refused with a message, and nothing changes."""
    before = _snapshot()
    answer = world["client"].post(
        reverse("partners-api:moves"),
        data={"client": world["ids"]["ib-client"]["public_id"],
              "new_ib": world["ids"]["ib-partner"]["public_id"], "effective_date": "2026-12-01",
              "mode": "future", "reason": "Sales tries"},
        content_type="application/json",
    )  # fmt: skip
    assert answer.status_code == 400 and "client" in answer.json()
    assert _snapshot() == before


def _ledger_requests(world) -> list[tuple[str, str, dict]]:
    trader = {"public_id": world["trader"].public_id}
    adjustment = world["ids"]["adjustment"]
    create = {
        "client": str(world["trader"].public_id),
        "currency": "USD",
        "direction": "credit",
        "amount": "10.00",
        "reason": "Sales tries",
    }
    return [
        ("get", reverse("backoffice:ledger:index"), {}),
        ("get", reverse("backoffice:ledger:client", kwargs=trader), {}),
        ("get", reverse("backoffice:ledger:adjustments"), {}),
        ("post", reverse("backoffice:ledger:adjustment-create"), {**create, "token": "s9"}),
        ("get", reverse("backoffice:ledger:adjustment", kwargs=adjustment), {}),
        ("post", reverse("backoffice:ledger:adjustment", kwargs=adjustment), {"reason": "x"}),
        ("post", reverse("backoffice:ledger:adjustment-approve", kwargs=adjustment), {}),
        ("post", reverse("backoffice:ledger:adjustment-reject", kwargs=adjustment), {"note": "x"}),
        ("post", reverse("backoffice:ledger:adjustment-reverse", kwargs=adjustment), {"reason": "x"}),
        ("get", reverse("ledger-api:wallets", kwargs=trader), {}),
        ("get", reverse("ledger-api:movements", kwargs=trader), {}),
        ("get", reverse("ledger-api:adjustments"), {}),
        ("post", reverse("ledger-api:adjustments"), create),
        ("get", reverse("ledger-api:adjustment", kwargs=adjustment), {}),
        ("patch", reverse("ledger-api:adjustment", kwargs=adjustment), {"reason": "x"}),
        ("delete", reverse("ledger-api:adjustment", kwargs=adjustment), {}),
        ("post", reverse("ledger-api:adjustment-approve", kwargs=adjustment), {}),
        ("post", reverse("ledger-api:adjustment-reverse", kwargs=adjustment), {"reason": "x"}),
    ]  # fmt: skip


def test_sales_is_refused_everywhere_and_nothing_changes(world):
    before = _snapshot()
    client = world["client"]
    answers = []
    for method, url, data in _requests(world):
        if url.startswith("/api/"):
            response = getattr(client, method)(url, data=data, content_type="application/json")
        else:
            response = getattr(client, method)(url, data=data)
        answers.append((method.upper(), url, response.status_code))
    assert [a for a in answers if a[2] not in REFUSED] == []
    assert _snapshot() == before


def test_a_token_owned_by_sales_sees_no_more_than_sales(world, test_tenant):
    """Even a token that names finance codes (say, granted while Sales held them) acts with
    only what Sales holds now: every finance, configuration and audit read is refused."""
    from django.test import Client

    _, secret = api_token_create(
        actor=world["sales"], name="Sales CRM sync", codes=["clients.view"]
    )
    ApiToken.objects.filter(name="Sales CRM sync").update(
        codes=["clients.view", "config.manage", "audit.view", "payments.view"]
    )
    before = _snapshot()
    client = Client(
        HTTP_HOST=test_tenant.get_primary_domain().domain, HTTP_AUTHORIZATION=f"Bearer {secret}"
    )
    answers = [
        client.get(reverse("config-api:psp-credentials")).status_code,
        client.get(reverse("config-api:psp-credential", kwargs=world["ids"]["psp"])).status_code,
        client.get(reverse("audit-api:list")).status_code,
        client.get(reverse("staff-api:list")).status_code,
        client.get(reverse("tokens-api:list")).status_code,
        client.post(
            reverse("tokens-api:list"), data={}, content_type="application/json"
        ).status_code,
        client.get(reverse("backoffice:settings:psps")).status_code,
    ]
    assert answers == [403, 403, 403, 403, 403, 403, 302]
    assert _snapshot() == before


def test_sales_holds_no_finance_aml_or_approval_code(world):
    sales = world["sales"]
    codes = [
        "clients.view_finance",
        "kyc.view_aml_notes",
        "kyc.review",
        "payments.view",
        "payments.approve_withdrawal",
        "payments.adjust",
        "payments.view_adjustments",
        "partners.manage",
        "config.manage",
        "staff.manage",
        "roles.manage",
        "audit.view",
        "tokens.manage",
        "trading.view",
        "trading.manage",
    ]
    assert {code: permission_check(sales, code) for code in codes} == dict.fromkeys(codes, False)


def test_finance_details_and_aml_notes_are_hidden_from_sales(world):
    record = {"email": "t@x.example", "balance": "10.00", "aml_notes": "PEP match", "name": "T"}
    assert fields_visible_filter(world["sales"], record) == {"email": "t@x.example", "name": "T"}
    assert fields_visible_filter(world["colleague"], record) == {
        "email": "t@x.example",
        "balance": "10.00",
        "name": "T",
    }


def test_support_sees_kyc_but_never_screening_hits_or_aml_endpoints(world, client):
    roles = world["roles"]
    support = user_make("support@s9.example", roles=[roles["support"]])
    http = sign_in(client, support)
    case = world["ids"]["kyc_case"]
    before = _snapshot()

    detail = http.get(reverse("kyc-api:case", kwargs=case))
    page = http.get(reverse("backoffice:kyc-case", kwargs=case))
    refused = [
        http.get(reverse("kyc-api:case-screening", kwargs=case)).status_code,
        http.post(reverse("kyc-api:case-screening", kwargs=case)).status_code,
        http.post(reverse("kyc-api:case-decision", kwargs=case), data={"event": "approve"},
                  content_type="application/json").status_code,
    ]  # fmt: skip

    refused.append(http.get(reverse("kyc-api:case-risk", kwargs=case)).status_code)
    queue = http.get(reverse("backoffice:kyc"), {"state": "not_started"})

    assert (detail.status_code, page.status_code, queue.status_code) == (200, 200, 200)
    assert "screening_results" not in detail.json() and "risk" not in detail.json()
    assert "S9 LISTED" not in page.content.decode()
    assert "S9 LISTED" not in queue.content.decode() and "data-reason" not in queue.content.decode()
    assert refused == [403, 403, 403, 403]
    assert _snapshot() == before


def test_sales_lists_and_searches_show_only_their_own_clients(world):
    client = world["client"]
    theirs = world["ids"]["crm_client"]["public_id"]
    pages = [
        client.get(reverse("backoffice:clients"), {"stages": ["registered", "funded"]}),
        client.get(reverse("backoffice:crm:leads"), {"q": theirs}),
        client.get(reverse("crm-api:leads"), {"q": "crm.target"}),
        client.get(reverse("crm-api:segment-clients", kwargs=world["ids"]["crm_segment"])),
    ]
    assert [p.status_code for p in pages] == [200, 200, 200, 200]
    # The search box echoes the id typed; no row, link or API result names that client.
    assert not [p for p in pages if f'data-client="{theirs}"' in p.content.decode()]
    assert not [p for p in pages if f"/clients/{theirs}/" in p.content.decode()]
    assert [p.json()["count"] for p in pages[2:]] == [0, 0]


def test_the_back_office_shows_sales_no_link_to_what_they_cannot_open(world):
    response = world["client"].get(reverse("backoffice:home"))
    assert response.status_code == 200
    page = response.content.decode()
    names = ("backoffice:settings:index", "backoffice:staff:list", "backoffice:roles:list",
             "backoffice:kyc", "backoffice:ledger:index", "backoffice:ledger:adjustments",
             "backoffice:trading:requests")  # fmt: skip
    for name in names:
        assert f'href="{reverse(name)}"' not in page
