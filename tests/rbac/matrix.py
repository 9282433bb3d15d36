"""The role × endpoint matrix: WRITTEN BY HAND, never generated from the code it checks.

Every Back Office route (URL name) and every /api/v1/ endpoint (method + URL name) with the
status each actor gets. test_matrix.py walks the URL resolvers and fails when a route (or an
API method) is missing here, when a row names a route that no longer exists, or when an
answer differs. A later module adds its rows in the same change as its routes.

Requests: GET with no query; POST/PATCH with an empty body (form for pages, JSON for the
API), so a permitted write gets its field messages (400) or changes nothing that matters —
each case runs in its own rolled-back transaction. Parameterised routes point at objects of
the test tenant (see test_matrix.TARGETS).

Columns, in order: anonymous, client (a trader), then one staff member per default role.
Why the numbers: anonymous visitors of pages go to the login (302) and get 403 from the API
(session authentication sends no challenge); a trader is not staff: Back Office pages send
them to the login (302) where the face decides, permission-gated pages and the API say 403;
a staff member without the code gets 403; 405 is a permitted actor using the wrong method.
"""

from __future__ import annotations

COLUMNS = (
    "anonymous",
    "client",
    "super_admin",
    "sales",
    "compliance",
    "finance",
    "support",
    "ib_manager",
)

# fmt: off
#                       anon client super sales compl finance support ib_mgr
STAFF_PAGE = (          302, 302,  200,  200,  200,  200,    200,    200)
SUPER_ONLY_PAGE = (     302, 403,  200,  403,  403,  403,    403,    403)
SUPER_ONLY_FORM_POST = (302, 403,  400,  403,  403,  403,    403,    403)
SUPER_ONLY_REDIRECT = ( 302, 403,  302,  403,  403,  403,    403,    403)
SUPER_ONLY_API = (      403, 403,  200,  403,  403,  403,    403,    403)
SUPER_ONLY_API_BAD = (  403, 403,  400,  403,  403,  403,    403,    403)
STAFF_API = (           403, 403,  200,  200,  200,  200,    200,    200)
SUPER_ONLY_API_GONE = ( 403, 403,  204,  403,  403,  403,    403,    403)
ALL_API_BAD = (         400, 400,  400,  400,  400,  400,    400,    400)
SIGNED_IN_API = (       403, 200,  200,  200,  200,  200,    200,    200)
# CRM (issue 5): clients.view pages and objects; the target client is not Sales' own (404).
CLIENTS_PAGE = (        302, 403,  200,  200,  200,  200,    200,    200)
CLIENT_OBJECT_PAGE = (  302, 403,  200,  404,  200,  200,    200,    200)
CLIENT_OBJECT_API = (   403, 403,  200,  404,  200,  200,    200,    200)
# fmt: on

ROWS: list[tuple[str, str, tuple[int, ...]]] = [
    # --- Back Office: sign-in and the dashboard ---------------------------------------------
    ("GET", "backoffice:home", STAFF_PAGE),
    # A signed-in staff member is sent on to the dashboard; others see the form.
    ("GET", "backoffice:login", (200, 200, 302, 302, 302, 302, 302, 302)),
    ("POST", "backoffice:logout", (302, 302, 302, 302, 302, 302, 302, 302)),
    # The second factor step: others go to the login; a verified session goes on (302).
    ("GET", "backoffice:otp", (302, 302, 302, 302, 302, 302, 302, 302)),
    ("POST", "backoffice:otp", (302, 302, 302, 302, 302, 302, 302, 302)),
    # What was e-mailed to a client (clients.view_emails: Super admin, Compliance, Support).
    ("GET", "backoffice:emails:list", (302, 403, 200, 403, 200, 403, 200, 403)),
    # A client's devices (clients.view; Sales only for their own clients: this one is not).
    ("GET", "identity:client-devices", (302, 302, 200, 404, 200, 200, 200, 200)),
    # Placeholder sections (every staff member until their modules gate them).
    ("GET", "backoffice:payments", STAFF_PAGE),
    ("GET", "backoffice:ibs", STAFF_PAGE),
    ("GET", "backoffice:reports", STAFF_PAGE),
    # --- Back Office: settings (config.manage) ------------------------------------------------
    ("GET", "backoffice:settings:index", SUPER_ONLY_PAGE),
    ("GET", "backoffice:settings:branding", SUPER_ONLY_PAGE),
    ("GET", "backoffice:settings:entities", SUPER_ONLY_PAGE),
    ("GET", "backoffice:settings:entity-create", SUPER_ONLY_PAGE),
    ("POST", "backoffice:settings:entity-create", SUPER_ONLY_FORM_POST),
    ("GET", "backoffice:settings:entity-edit", SUPER_ONLY_PAGE),
    ("POST", "backoffice:settings:document-add", SUPER_ONLY_FORM_POST),
    ("POST", "backoffice:settings:document-remove", SUPER_ONLY_REDIRECT),
    ("GET", "backoffice:settings:servers", SUPER_ONLY_PAGE),
    ("GET", "backoffice:settings:server-create", SUPER_ONLY_PAGE),
    ("GET", "backoffice:settings:server-edit", SUPER_ONLY_PAGE),
    ("GET", "backoffice:settings:psps", SUPER_ONLY_PAGE),
    ("GET", "backoffice:settings:psp-create", SUPER_ONLY_PAGE),
    ("GET", "backoffice:settings:psp-edit", SUPER_ONLY_PAGE),
    # --- Back Office: staff (staff.manage) and roles (roles.manage) ---------------------------
    ("GET", "backoffice:staff:list", SUPER_ONLY_PAGE),
    ("GET", "backoffice:staff:invite", SUPER_ONLY_PAGE),
    ("POST", "backoffice:staff:invite", SUPER_ONLY_FORM_POST),
    ("GET", "backoffice:staff:edit", SUPER_ONLY_PAGE),
    ("POST", "backoffice:staff:edit", SUPER_ONLY_REDIRECT),
    ("GET", "backoffice:staff:deactivate", (302, 403, 405, 403, 403, 403, 403, 403)),
    ("POST", "backoffice:staff:deactivate", SUPER_ONLY_REDIRECT),
    ("GET", "backoffice:roles:list", SUPER_ONLY_PAGE),
    ("GET", "backoffice:roles:create", SUPER_ONLY_PAGE),
    ("POST", "backoffice:roles:create", SUPER_ONLY_FORM_POST),
    ("GET", "backoffice:roles:edit", SUPER_ONLY_PAGE),
    ("POST", "backoffice:roles:edit", SUPER_ONLY_FORM_POST),
    # --- API: configuration (config.manage) ---------------------------------------------------
    ("GET", "config-api:branding", SUPER_ONLY_API),
    ("PATCH", "config-api:branding", SUPER_ONLY_API),
    ("GET", "config-api:legal-entities", SUPER_ONLY_API),
    ("POST", "config-api:legal-entities", SUPER_ONLY_API_BAD),
    ("GET", "config-api:legal-entity", SUPER_ONLY_API),
    ("PATCH", "config-api:legal-entity", SUPER_ONLY_API),
    ("GET", "config-api:trading-servers", SUPER_ONLY_API),
    ("POST", "config-api:trading-servers", SUPER_ONLY_API_BAD),
    ("GET", "config-api:trading-server", SUPER_ONLY_API),
    ("PATCH", "config-api:trading-server", SUPER_ONLY_API),
    ("GET", "config-api:psp-credentials", SUPER_ONLY_API),
    ("POST", "config-api:psp-credentials", SUPER_ONLY_API_BAD),
    ("GET", "config-api:psp-credential", SUPER_ONLY_API),
    ("PATCH", "config-api:psp-credential", SUPER_ONLY_API),
    # --- API: staff (staff.manage), roles and permission codes (roles.manage) -----------------
    ("GET", "staff-api:list", SUPER_ONLY_API),
    ("POST", "staff-api:list", SUPER_ONLY_API_BAD),
    ("GET", "staff-api:detail", SUPER_ONLY_API),
    ("PATCH", "staff-api:detail", SUPER_ONLY_API),
    ("POST", "staff-api:deactivate", SUPER_ONLY_API),
    ("GET", "roles-api:list", SUPER_ONLY_API),
    ("POST", "roles-api:list", SUPER_ONLY_API_BAD),
    ("GET", "roles-api:detail", SUPER_ONLY_API),
    ("PATCH", "roles-api:detail", SUPER_ONLY_API),
    ("GET", "permissions-api:list", SUPER_ONLY_API),
    # --- Back Office and API: the audit log (audit.view: Super admin, Compliance) -------------
    ("GET", "backoffice:audit:list", (302, 403, 200, 403, 200, 403, 403, 403)),
    ("GET", "audit-api:list", (403, 403, 200, 403, 200, 403, 403, 403)),
    # --- Teams, one's own recovery codes, a colleague's second factor reset (issue 4: sec) -----
    # Teams (staff.manage). The target team is empty, so deleting it succeeds (302 / 204);
    # an empty form or body is a 400 (a name is required).
    ("GET", "backoffice:teams:list", SUPER_ONLY_PAGE),
    ("GET", "backoffice:teams:create", SUPER_ONLY_PAGE),
    ("POST", "backoffice:teams:create", SUPER_ONLY_FORM_POST),
    ("GET", "backoffice:teams:edit", SUPER_ONLY_PAGE),
    ("POST", "backoffice:teams:edit", SUPER_ONLY_FORM_POST),
    ("GET", "backoffice:teams:delete", (302, 403, 405, 403, 403, 403, 403, 403)),
    ("POST", "backoffice:teams:delete", SUPER_ONLY_REDIRECT),
    ("GET", "teams-api:list", SUPER_ONLY_API),
    ("POST", "teams-api:list", SUPER_ONLY_API_BAD),
    ("GET", "teams-api:detail", SUPER_ONLY_API),
    ("PATCH", "teams-api:detail", SUPER_ONLY_API),
    ("DELETE", "teams-api:detail", SUPER_ONLY_API_GONE),
    # Sign-in security: every staff member's own recovery codes; a trader goes to the login.
    # An empty POST lacks the TOTP code (400).
    ("GET", "backoffice:security", STAFF_PAGE),
    ("POST", "backoffice:security", (302, 302, 400, 400, 400, 400, 400, 400)),
    # A colleague's second factor reset (staff.manage); an empty form lacks the reason (400).
    ("GET", "backoffice:staff:reset-second-factor", SUPER_ONLY_PAGE),
    ("POST", "backoffice:staff:reset-second-factor", SUPER_ONLY_FORM_POST),
    ("POST", "staff-api:reset-second-factor", SUPER_ONLY_API_BAD),
    # --- KYC (modules/kyc) ----------------------------------------------------------------------
    # Reading cases and documents: kyc.view (Super admin, Compliance, Support). Deciding:
    # kyc.review (Super admin, Compliance). Screening hits: kyc.view_aml_notes (Super admin,
    # Compliance) — never Support or Sales. Cases have no sales owner yet, so scopes other than
    # "all" reach none of them (404). An empty decision is a 400 with its field messages.
    ("GET", "backoffice:kyc", (302, 403, 200, 403, 200, 403, 200, 403)),
    ("GET", "backoffice:kyc-case", (302, 403, 200, 403, 200, 403, 200, 403)),
    ("POST", "backoffice:kyc-case-decide", (302, 403, 400, 403, 400, 403, 403, 403)),
    # "Assign to me" (kyc.review): the reviewer takes the case and goes back to it.
    ("POST", "backoffice:kyc-case-assign", (302, 403, 302, 403, 302, 403, 403, 403)),
    # Minting a signed link redirects (302) to it; each is an audit row.
    ("POST", "backoffice:kyc-document-view", (302, 403, 302, 403, 302, 403, 302, 403)),
    ("POST", "backoffice:kyc-document-review", (302, 403, 400, 403, 400, 403, 403, 403)),
    # The file route without S3: an invalid or foreign token is a 404 for whoever may look.
    ("GET", "backoffice:kyc-document-file", (302, 403, 404, 403, 404, 403, 404, 403)),
    ("GET", "kyc-api:cases", (403, 403, 200, 403, 200, 403, 200, 403)),
    ("GET", "kyc-api:case", (403, 403, 200, 403, 200, 403, 200, 403)),
    ("POST", "kyc-api:case-decision", (403, 403, 400, 403, 400, 403, 403, 403)),
    ("POST", "kyc-api:case-assign", (403, 403, 200, 403, 200, 403, 403, 403)),
    ("GET", "kyc-api:case-screening", (403, 403, 200, 403, 200, 403, 403, 403)),
    ("POST", "kyc-api:case-screening", (403, 403, 201, 403, 201, 403, 403, 403)),
    ("POST", "kyc-api:document-link", (403, 403, 201, 403, 201, 403, 201, 403)),
    ("POST", "kyc-api:document-review", (403, 403, 400, 403, 400, 403, 403, 403)),
    # The KYC rules per legal entity are configuration (config.manage); an empty PATCH changes
    # nothing (200), an empty POST names the missing entity (400).
    ("GET", "backoffice:kyc-rules", SUPER_ONLY_PAGE),
    ("POST", "backoffice:kyc-rules-copy", SUPER_ONLY_FORM_POST),
    ("GET", "backoffice:kyc-rules-edit", SUPER_ONLY_PAGE),
    ("POST", "backoffice:kyc-rules-edit", SUPER_ONLY_FORM_POST),
    ("GET", "kyc-api:configurations", SUPER_ONLY_API),
    ("POST", "kyc-api:configurations", SUPER_ONLY_API_BAD),
    ("PATCH", "kyc-api:configuration-state", SUPER_ONLY_API),
    ("PATCH", "kyc-api:configuration-kind", SUPER_ONLY_API),
    # --- CRM (issue 5): lists, the client 360, notes, reassignment, duplicates, segments ------
    # clients.view: every default staff role; Sales only for their own clients (the target
    # client has no owner: 404). clients.edit: Super admin and Sales; clients.assign,
    # clients.merge and config.manage (routing): Super admin only.
    ("GET", "backoffice:clients", CLIENTS_PAGE),
    ("GET", "backoffice:crm:leads", CLIENTS_PAGE),
    ("GET", "backoffice:crm:detail", CLIENT_OBJECT_PAGE),
    ("GET", "backoffice:crm:timeline", CLIENT_OBJECT_PAGE),
    ("POST", "backoffice:crm:note-add", (302, 403, 400, 404, 403, 403, 403, 403)),
    ("POST", "backoffice:crm:assign", SUPER_ONLY_FORM_POST),
    ("POST", "backoffice:crm:merge", SUPER_ONLY_FORM_POST),
    ("GET", "backoffice:crm:duplicates", SUPER_ONLY_PAGE),
    ("POST", "backoffice:crm:duplicate-dismiss", SUPER_ONLY_REDIRECT),
    # Saving a segment with no name says so and goes back to the list (302) for all staff;
    # deleting another's segment needs config.manage.
    ("POST", "backoffice:crm:segment-create", (302, 403, 302, 302, 302, 302, 302, 302)),
    ("POST", "backoffice:crm:segment-delete", SUPER_ONLY_REDIRECT),
    ("GET", "backoffice:crm:routing", SUPER_ONLY_PAGE),
    ("POST", "backoffice:crm:routing", SUPER_ONLY_FORM_POST),
    ("GET", "backoffice:crm:routing-edit", SUPER_ONLY_PAGE),
    ("POST", "backoffice:crm:routing-edit", SUPER_ONLY_FORM_POST),
    ("POST", "backoffice:crm:routing-move", SUPER_ONLY_FORM_POST),
    ("POST", "backoffice:crm:routing-delete", SUPER_ONLY_REDIRECT),
    ("GET", "backoffice:crm:settings", SUPER_ONLY_PAGE),
    ("POST", "backoffice:crm:settings", SUPER_ONLY_FORM_POST),
    ("GET", "crm-api:leads", STAFF_API),
    ("POST", "crm-api:leads", (403, 403, 400, 400, 403, 403, 403, 403)),
    ("GET", "crm-api:clients", STAFF_API),
    ("GET", "crm-api:client", CLIENT_OBJECT_API),
    ("GET", "crm-api:notes", CLIENT_OBJECT_API),
    ("POST", "crm-api:notes", (403, 403, 400, 404, 403, 403, 403, 403)),
    ("GET", "crm-api:timeline", CLIENT_OBJECT_API),
    ("POST", "crm-api:assign", SUPER_ONLY_API_BAD),
    ("POST", "crm-api:merge", SUPER_ONLY_API_BAD),
    ("GET", "crm-api:duplicates", SUPER_ONLY_API),
    ("POST", "crm-api:duplicate-dismiss", SUPER_ONLY_API),
    ("GET", "crm-api:segments", STAFF_API),
    ("POST", "crm-api:segments", (403, 403, 400, 400, 400, 400, 400, 400)),
    ("GET", "crm-api:segment", STAFF_API),
    ("PATCH", "crm-api:segment", SUPER_ONLY_API),
    ("DELETE", "crm-api:segment", (403, 403, 204, 403, 403, 403, 403, 403)),
    ("GET", "crm-api:segment-clients", STAFF_API),
    ("GET", "crm-api:routing-rules", SUPER_ONLY_API),
    ("POST", "crm-api:routing-rules", SUPER_ONLY_API_BAD),
    ("GET", "crm-api:routing-rule", SUPER_ONLY_API),
    ("PATCH", "crm-api:routing-rule", SUPER_ONLY_API),
    ("DELETE", "crm-api:routing-rule", (403, 403, 204, 403, 403, 403, 403, 403)),
    ("POST", "crm-api:routing-rule-move", SUPER_ONLY_API_BAD),
    ("GET", "crm-api:settings", SUPER_ONLY_API),
    ("PATCH", "crm-api:settings", SUPER_ONLY_API),
    # --- Ledger (issue 7) ------------------------------------------------------------------------
    # Balances and movements: clients.view_finance (Super admin, Finance). Adjustments and their
    # reasons: payments.view_adjustments (Super admin, Finance, Support). Making, deciding and
    # reversing: payments.adjust (Super admin, Finance); Support's attempts are refused (403)
    # and logged (S5). Nobody edits an adjustment: POST to its page, PATCH/PUT/DELETE → 403.
    # The target adjustment is posted, so approve/reject say 400 ("only one waiting …") and
    # reverse without a reason says 400.
    ("GET", "backoffice:ledger:index", (302, 403, 200, 403, 403, 200, 403, 403)),
    ("GET", "backoffice:ledger:client", (302, 403, 200, 403, 403, 200, 200, 403)),
    ("GET", "backoffice:ledger:adjustments", (302, 403, 200, 403, 403, 200, 200, 403)),
    ("GET", "backoffice:ledger:adjustment-create", (302, 403, 405, 403, 403, 405, 403, 403)),
    ("POST", "backoffice:ledger:adjustment-create", (302, 403, 400, 403, 403, 400, 403, 403)),
    ("GET", "backoffice:ledger:adjustment", (302, 403, 200, 403, 403, 200, 200, 403)),
    ("POST", "backoffice:ledger:adjustment", (302, 403, 403, 403, 403, 403, 403, 403)),
    ("POST", "backoffice:ledger:adjustment-approve", (302, 403, 400, 403, 403, 400, 403, 403)),
    ("POST", "backoffice:ledger:adjustment-reject", (302, 403, 400, 403, 403, 400, 403, 403)),
    ("POST", "backoffice:ledger:adjustment-reverse", (302, 403, 400, 403, 403, 400, 403, 403)),
    ("GET", "ledger-api:wallets", (403, 403, 200, 403, 403, 200, 403, 403)),
    ("GET", "ledger-api:movements", (403, 403, 200, 403, 403, 200, 403, 403)),
    ("GET", "ledger-api:adjustments", (403, 403, 200, 403, 403, 200, 200, 403)),
    ("POST", "ledger-api:adjustments", (403, 403, 400, 403, 403, 400, 403, 403)),
    ("GET", "ledger-api:adjustment", (403, 403, 200, 403, 403, 200, 200, 403)),
    ("PATCH", "ledger-api:adjustment", (403, 403, 403, 403, 403, 403, 403, 403)),
    ("PUT", "ledger-api:adjustment", (403, 403, 403, 403, 403, 403, 403, 403)),
    ("DELETE", "ledger-api:adjustment", (403, 403, 403, 403, 403, 403, 403, 403)),
    ("POST", "ledger-api:adjustment-approve", (403, 403, 400, 403, 403, 400, 403, 403)),
    ("POST", "ledger-api:adjustment-reject", (403, 403, 400, 403, 403, 400, 403, 403)),
    ("POST", "ledger-api:adjustment-reverse", (403, 403, 400, 403, 403, 400, 403, 403)),
    # --- CRM lead import (issue 5): clients.import, Super admin only (never Sales) -----------
    # An empty upload form or body names the missing file (400); the target is a finished dry
    # run, which Super admin may run for real (302 to the new import).
    ("GET", "backoffice:crm:imports", SUPER_ONLY_PAGE),
    ("POST", "backoffice:crm:imports", SUPER_ONLY_FORM_POST),
    ("GET", "backoffice:crm:import-template", SUPER_ONLY_PAGE),
    ("GET", "backoffice:crm:import", SUPER_ONLY_PAGE),
    ("POST", "backoffice:crm:import-run", SUPER_ONLY_REDIRECT),
    ("GET", "backoffice:crm:import-report", SUPER_ONLY_PAGE),
    ("GET", "crm-api:imports", SUPER_ONLY_API),
    ("POST", "crm-api:imports", SUPER_ONLY_API_BAD),
    ("GET", "crm-api:import", SUPER_ONLY_API),
    ("GET", "crm-api:import-report", SUPER_ONLY_API),
    # --- API: its description and browsable UI (any active staff) -----------------------------
    ("GET", "api-schema", STAFF_API),
    ("GET", "api-docs", STAFF_API),
    # --- API tokens (tokens.manage: Super admin), Back Office and API (ADR 0020) --------------
    ("GET", "backoffice:tokens:list", SUPER_ONLY_PAGE),
    # An empty form: field messages (400).
    ("POST", "backoffice:tokens:list", SUPER_ONLY_FORM_POST),
    ("GET", "backoffice:tokens:revoke", (302, 403, 405, 403, 403, 403, 403, 403)),
    ("POST", "backoffice:tokens:revoke", SUPER_ONLY_REDIRECT),
    ("GET", "tokens-api:list", SUPER_ONLY_API),
    ("POST", "tokens-api:list", SUPER_ONLY_API_BAD),
    ("GET", "tokens-api:detail", SUPER_ONLY_API),
    ("POST", "tokens-api:revoke", SUPER_ONLY_API),
    # --- API: the Trader's Room identity flows and the signed-in user's profile ---------------
    # Anyone may try these; an empty body gets field messages (400). A signed-in client is
    # told to sign out before registering another account (403).
    ("POST", "auth-api:register", (400, 403, 400, 400, 400, 400, 400, 400)),
    ("POST", "auth-api:verify-email", ALL_API_BAD),
    ("POST", "auth-api:login", ALL_API_BAD),
    ("POST", "auth-api:password-reset", ALL_API_BAD),
    ("POST", "auth-api:password-reset-confirm", ALL_API_BAD),
    ("POST", "auth-api:logout", (204, 204, 204, 204, 204, 204, 204, 204)),
    # Only a signed-in, unverified client has a link to re-send (202).
    ("POST", "auth-api:verify-email-resend", (403, 202, 403, 403, 403, 403, 403, 403)),
    # The staff second factor: staff only (these sessions are past it already: 200; an
    # empty code is a 400).
    ("GET", "auth-api:second-factor", (403, 403, 200, 200, 200, 200, 200, 200)),
    ("POST", "auth-api:second-factor", (403, 403, 400, 400, 400, 400, 400, 400)),
    # One's own profile and devices: anyone signed in (an empty PATCH changes nothing).
    ("GET", "me-api:detail", SIGNED_IN_API),
    ("PATCH", "me-api:detail", SIGNED_IN_API),
    ("GET", "me-api:devices", SIGNED_IN_API),
]
