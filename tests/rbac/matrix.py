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
# IBs (issue 10).
IB_PAGE = (             302, 403,  200,  403,  403,  403,    403,    200)
IB_MANAGE_REDIRECT = (  302, 403,  302,  403,  403,  403,    403,    302)
IB_STATEMENTS_PAGE = (  302, 403,  200,  403,  403,  200,    403,    200)
IB_API = (              403, 403,  200,  403,  403,  403,    403,    200)
IB_API_BAD = (          403, 403,  400,  403,  403,  403,    403,    400)
IB_STATEMENTS_API = (   403, 403,  200,  403,  403,  200,    403,    200)
NOBODY_API = (          403, 403,  403,  403,  403,  403,    403,    403)
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
    # Correcting a document's expiry date (kyc.review); an empty form is a 400.
    ("POST", "backoffice:kyc-document-expiry", (302, 403, 400, 403, 400, 403, 403, 403)),
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
    # A provider's callbacks: public, authenticated by the signature over the body only, so
    # every actor's unsigned empty POST is a 401 (signed-in or not makes no difference).
    ("POST", "kyc-api:provider-callback", (401, 401, 401, 401, 401, 401, 401, 401)),
    # Document expiry over the API: the expiring list (kyc.view), corrections (kyc.review).
    ("GET", "kyc-api:documents-expiring", (403, 403, 200, 403, 200, 403, 200, 403)),
    ("POST", "kyc-api:document-expiry", (403, 403, 400, 403, 400, 403, 403, 403)),
    # The KYC rules per legal entity are configuration (config.manage); an empty PATCH changes
    # nothing (200), an empty POST names the missing entity (400).
    ("GET", "backoffice:kyc-rules", SUPER_ONLY_PAGE),
    ("POST", "backoffice:kyc-rules-copy", SUPER_ONLY_FORM_POST),
    ("GET", "backoffice:kyc-rules-edit", SUPER_ONLY_PAGE),
    ("POST", "backoffice:kyc-rules-edit", SUPER_ONLY_FORM_POST),
    # Identity-verification provider accounts (config.manage); secrets write-only.
    ("GET", "backoffice:kyc-providers", SUPER_ONLY_PAGE),
    ("POST", "backoffice:kyc-providers", SUPER_ONLY_FORM_POST),
    ("GET", "backoffice:kyc-provider", SUPER_ONLY_PAGE),
    ("POST", "backoffice:kyc-provider", SUPER_ONLY_FORM_POST),
    ("GET", "kyc-api:configurations", SUPER_ONLY_API),
    ("POST", "kyc-api:configurations", SUPER_ONLY_API_BAD),
    ("PATCH", "kyc-api:configuration-state", SUPER_ONLY_API),
    ("PATCH", "kyc-api:configuration-kind", SUPER_ONLY_API),
    # Risk (issue 6 items 5, 6): a case's score and reasons can name screening hits, so they
    # need kyc.view_aml_notes (Super admin, Compliance); the risk rules are configuration.
    ("GET", "kyc-api:case-risk", (403, 403, 200, 403, 200, 403, 403, 403)),
    ("PATCH", "kyc-api:configuration-risk", SUPER_ONLY_API),
    ("PATCH", "kyc-api:configuration-risk-rule", SUPER_ONLY_API),
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
    # --- Trading accounts (issue 8): trading.view / trading.manage (Super admin, Compliance,
    # Finance; never Sales or Support), account types with config.manage ------------------------
    ("GET", "backoffice:trading:requests", (302, 403, 200, 403, 200, 200, 403, 403)),
    # Retrying a request that awaits approval / unblocking an unblocked account: a message.
    ("POST", "backoffice:trading:request-action", (302, 403, 302, 403, 302, 302, 403, 403)),
    ("POST", "backoffice:trading:account-action", (302, 403, 302, 403, 302, 302, 403, 403)),
    ("GET", "backoffice:trading:account-types", SUPER_ONLY_PAGE),
    ("POST", "backoffice:trading:account-types", SUPER_ONLY_FORM_POST),
    ("GET", "backoffice:trading:account-type", SUPER_ONLY_PAGE),
    ("POST", "backoffice:trading:account-type", SUPER_ONLY_FORM_POST),
    ("GET", "trading-api:account-types", SUPER_ONLY_API),
    ("POST", "trading-api:account-types", SUPER_ONLY_API_BAD),
    ("GET", "trading-api:account-type", SUPER_ONLY_API),
    # An empty change changes nothing (and does not ask the platform).
    ("PATCH", "trading-api:account-type", SUPER_ONLY_API),
    ("GET", "trading-api:accounts", (403, 403, 200, 403, 200, 200, 403, 403)),
    ("GET", "trading-api:account", (403, 403, 200, 403, 200, 200, 403, 403)),
    ("POST", "trading-api:account-block", (403, 403, 400, 403, 400, 400, 403, 403)),
    ("POST", "trading-api:account-unblock", (403, 403, 409, 403, 409, 409, 403, 403)),
    ("POST", "trading-api:account-archive", (403, 403, 200, 403, 200, 200, 403, 403)),
    ("GET", "trading-api:requests", (403, 403, 200, 403, 200, 200, 403, 403)),
    ("GET", "trading-api:request", (403, 403, 200, 403, 200, 200, 403, 403)),
    ("POST", "trading-api:request-retry", (403, 403, 409, 403, 409, 409, 403, 403)),
    ("POST", "trading-api:request-cancel", (403, 403, 400, 403, 400, 400, 403, 403)),
    ("POST", "trading-api:request-decision", (403, 403, 400, 403, 400, 400, 403, 403)),
    # The Trader's Room over the API: clients only; the target account and request are
    # another trader's (404); an empty opening is a 400.
    ("GET", "trading-api:my-accounts", (403, 200, 403, 403, 403, 403, 403, 403)),
    ("POST", "trading-api:my-accounts", (403, 400, 403, 403, 403, 403, 403, 403)),
    ("GET", "trading-api:my-account-types", (403, 200, 403, 403, 403, 403, 403, 403)),
    ("GET", "trading-api:my-request", (403, 404, 403, 403, 403, 403, 403, 403)),
    ("POST", "trading-api:my-credentials", (403, 404, 403, 403, 403, 403, 403, 403)),
    ("POST", "trading-api:my-leverage", (403, 404, 403, 403, 403, 403, 403, 403)),
    ("POST", "trading-api:my-password", (403, 404, 403, 403, 403, 403, 403, 403)),
    # The sync (issue 8 item 5): an account's deals and positions, what is out of step, and
    # the reconciliation of platform balance operations — trading.view, clients in scope.
    ("GET", "trading-api:deals", (403, 403, 200, 403, 200, 200, 403, 403)),
    ("GET", "trading-api:positions", (403, 403, 200, 403, 200, 200, 403, 403)),
    ("GET", "trading-api:sync-exceptions", (403, 403, 200, 403, 200, 200, 403, 403)),
    ("GET", "trading-api:reconciliation", (403, 403, 200, 403, 200, 200, 403, 403)),
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
    # --- Payments (issue 9) ----------------------------------------------------------------------
    # The finance queue and deposits: payments.view (Super admin, Finance). Asking the PSP about
    # the target deposit fails (nobody listens at its PSP address): a message and a redirect.
    # Payment methods: config.manage (Super admin); an empty form or body names its fields.
    # A client lists the methods offered to them and their own deposits; the target deposit is
    # another client's (404); a client's deposit without an Idempotency-Key header is a 400.
    ("GET", "backoffice:payments", (302, 403, 200, 403, 403, 200, 403, 403)),
    ("GET", "backoffice:payments:deposit", (302, 403, 200, 403, 403, 200, 403, 403)),
    ("POST", "backoffice:payments:deposit-poll", (302, 403, 302, 403, 403, 302, 403, 403)),
    # Reviewing needs payments.review_deposits; an empty note is a 400.
    ("POST", "backoffice:payments:deposit-review", (302, 403, 400, 403, 403, 400, 403, 403)),
    # Recording a chargeback needs payments.review_deposits too; an empty reason is a 400.
    ("POST", "backoffice:payments:deposit-chargeback", (302, 403, 400, 403, 403, 400, 403, 403)),
    ("POST", "payments-api:deposit-chargeback", (403, 403, 400, 403, 403, 400, 403, 403)),
    # Withdrawals: payments.view reads them, payments.approve_withdrawal decides. The target
    # is completed: approving it is a 400, and so is rejecting without a reason.
    ("GET", "backoffice:payments:withdrawals", (302, 403, 200, 403, 403, 200, 403, 403)),
    ("GET", "backoffice:payments:withdrawal", (302, 403, 200, 403, 403, 200, 403, 403)),
    ("POST", "backoffice:payments:withdrawal-approve", (302, 403, 400, 403, 403, 400, 403, 403)),
    ("POST", "backoffice:payments:withdrawal-reject", (302, 403, 400, 403, 403, 400, 403, 403)),
    ("GET", "payments-api:withdrawals", (403, 200, 200, 403, 403, 200, 403, 403)),
    ("POST", "payments-api:withdrawals", (403, 400, 403, 403, 403, 403, 403, 403)),
    ("GET", "payments-api:withdrawal", (403, 404, 200, 403, 403, 200, 403, 403)),
    ("POST", "payments-api:withdrawal-approve", (403, 403, 400, 403, 403, 400, 403, 403)),
    ("POST", "payments-api:withdrawal-reject", (403, 403, 400, 403, 403, 400, 403, 403)),
    # Reconciliation items: payments.view; running a day again: payments.review_deposits (an
    # empty form has no day: 400).
    ("GET", "backoffice:payments:reconciliation", (302, 403, 200, 403, 403, 200, 403, 403)),
    ("POST", "backoffice:payments:reconciliation", (302, 403, 400, 403, 403, 400, 403, 403)),
    # Resolving an item: payments.review_deposits; an empty reason is a 400.
    (
        "POST",
        "backoffice:payments:reconciliation-resolve",
        (302, 403, 400, 403, 403, 400, 403, 403),
    ),
    # The same in the API: the list needs payments.view, resolving payments.review_deposits.
    ("GET", "payments-api:reconciliation", (403, 403, 200, 403, 403, 200, 403, 403)),
    ("POST", "payments-api:reconciliation-resolve", (403, 403, 400, 403, 403, 400, 403, 403)),
    ("GET", "backoffice:payments:methods", SUPER_ONLY_PAGE),
    ("POST", "backoffice:payments:methods", SUPER_ONLY_FORM_POST),
    ("GET", "backoffice:payments:method", SUPER_ONLY_PAGE),
    ("POST", "backoffice:payments:method", SUPER_ONLY_FORM_POST),
    ("GET", "payments-api:methods", (403, 200, 200, 403, 403, 403, 403, 403)),
    ("POST", "payments-api:methods", SUPER_ONLY_API_BAD),
    ("GET", "payments-api:method", SUPER_ONLY_API),
    ("PATCH", "payments-api:method", SUPER_ONLY_API),
    ("GET", "payments-api:deposits", (403, 200, 200, 403, 403, 200, 403, 403)),
    ("POST", "payments-api:deposits", (403, 400, 403, 403, 403, 403, 403, 403)),
    ("GET", "payments-api:deposit", (403, 404, 200, 403, 403, 200, 403, 403)),
    # Internal transfers: a client lists and makes their own (no Idempotency-Key header: 400);
    # staff with payments.view read every client's, page and API; nobody else.
    ("GET", "backoffice:payments:transfers", (302, 403, 200, 403, 403, 200, 403, 403)),
    ("GET", "payments-api:transfers", (403, 200, 200, 403, 403, 200, 403, 403)),
    ("POST", "payments-api:transfers", (403, 400, 403, 403, 403, 403, 403, 403)),
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
    # --- The policy engine (issue 6): a client's own answers; staff read a client's (clients.view)
    ("GET", "policy-api:mine", (403, 200, 403, 403, 403, 403, 403, 403)),
    ("GET", "policy-api:client", CLIENT_OBJECT_API),
    # --- IBs (issue 10) ---------------------------------------------------------------------
    # partners.view/manage: Super admin and IB managers; partners.request_move adds Sales;
    # partners.pay: Super admin and Finance. Parameterised routes point at an IB's pending
    # move, a draft version, an open October statement, its line and a dispute on it.
    ("GET", "backoffice:ibs", IB_PAGE),
    ("POST", "backoffice:partners:application-approve", IB_MANAGE_REDIRECT),
    ("POST", "backoffice:partners:application-reject", IB_MANAGE_REDIRECT),
    ("GET", "backoffice:partners:moves", (302, 403, 200, 200, 403, 403, 403, 200)),
    ("POST", "backoffice:partners:moves", (302, 403, 400, 400, 403, 403, 403, 400)),
    ("POST", "backoffice:partners:move-approve", IB_MANAGE_REDIRECT),
    ("POST", "backoffice:partners:move-reject", IB_MANAGE_REDIRECT),
    ("GET", "backoffice:partners:plans", IB_PAGE),
    ("POST", "backoffice:partners:plans", (302, 403, 400, 403, 403, 403, 403, 400)),
    ("POST", "backoffice:partners:version-submit", IB_MANAGE_REDIRECT),
    ("POST", "backoffice:partners:version-approve", IB_MANAGE_REDIRECT),
    ("POST", "backoffice:partners:version-reject", IB_MANAGE_REDIRECT),
    ("GET", "backoffice:partners:statements", IB_STATEMENTS_PAGE),
    ("GET", "backoffice:partners:statements-export", IB_STATEMENTS_PAGE),
    ("POST", "backoffice:partners:statement-close", IB_MANAGE_REDIRECT),
    ("POST", "backoffice:partners:statement-pay", (302, 403, 302, 403, 403, 302, 403, 403)),
    ("GET", "backoffice:partners:disputes", IB_PAGE),
    ("GET", "backoffice:partners:dispute", IB_PAGE),
    ("POST", "backoffice:partners:dispute", (302, 403, 400, 403, 403, 403, 403, 400)),
    ("GET", "partners-api:ibs", IB_API),
    ("GET", "partners-api:ib", IB_API),
    ("GET", "partners-api:client-history", IB_API),
    ("GET", "partners-api:moves", (403, 403, 200, 200, 403, 403, 403, 200)),
    ("POST", "partners-api:moves", (403, 403, 400, 400, 403, 403, 403, 400)),
    # Approving the target move applies it (rolled back); rejecting needs a note.
    ("POST", "partners-api:move-approve", IB_API),
    ("POST", "partners-api:move-reject", IB_API_BAD),
    ("GET", "partners-api:plans", IB_API),
    ("POST", "partners-api:plan-versions", IB_API_BAD),
    # The target version is a draft: it can be submitted, not approved or rejected yet.
    ("POST", "partners-api:version-submit", IB_API),
    ("POST", "partners-api:version-approve", IB_API_BAD),
    ("POST", "partners-api:version-reject", IB_API_BAD),
    ("POST", "partners-api:version-what-if", IB_API_BAD),
    ("POST", "partners-api:runs", IB_API_BAD),
    ("GET", "partners-api:statements", IB_STATEMENTS_API),
    ("GET", "partners-api:statements-export", IB_STATEMENTS_API),
    # October has ended, so its open statement closes; only a closed one can be paid.
    ("POST", "partners-api:statement-close", IB_API),
    ("POST", "partners-api:statement-pay", (403, 403, 400, 403, 403, 400, 403, 403)),
    ("GET", "partners-api:line", IB_API),
    ("GET", "partners-api:disputes", IB_API),
    ("POST", "partners-api:dispute-resolve", IB_API_BAD),
    # The programme (ADR 0036): materials, quality, attribution (partners.view to read,
    # partners.manage to write); exchange rates (read: partners.view or partners.pay; record:
    # partners.pay, Finance). An empty upload or rule is 400; the target material has no file.
    ("GET", "backoffice:partners:materials", IB_PAGE),
    ("POST", "backoffice:partners:materials", (302, 403, 400, 403, 403, 403, 403, 400)),
    ("POST", "backoffice:partners:material-activate", IB_MANAGE_REDIRECT),
    ("POST", "backoffice:partners:material-deactivate", IB_MANAGE_REDIRECT),
    ("POST", "backoffice:partners:material-download", IB_MANAGE_REDIRECT),
    ("GET", "backoffice:partners:quality", IB_PAGE),
    ("GET", "backoffice:partners:quality-export", IB_PAGE),
    ("GET", "backoffice:partners:fx-rates", IB_STATEMENTS_PAGE),
    ("POST", "backoffice:partners:fx-rates", (302, 403, 400, 403, 403, 400, 403, 403)),
    ("GET", "backoffice:partners:attribution", IB_PAGE),
    ("POST", "backoffice:partners:attribution", (302, 403, 400, 403, 403, 403, 403, 400)),
    ("GET", "partners-api:materials", IB_API),
    ("POST", "partners-api:materials", IB_API_BAD),
    ("GET", "partners-api:material", IB_API),
    ("PATCH", "partners-api:material", IB_API),
    ("POST", "partners-api:material-link", IB_API),
    ("GET", "partners-api:applications", IB_API),
    # The target application is pending: approving works, rejecting needs a reason.
    ("POST", "partners-api:application-approve", IB_API),
    ("POST", "partners-api:application-reject", IB_API_BAD),
    ("GET", "partners-api:attribution", IB_API),
    ("PATCH", "partners-api:attribution", IB_API),
    ("GET", "partners-api:entity-referrals", IB_API),
    ("PATCH", "partners-api:entity-referrals", IB_API),
    ("GET", "partners-api:fx-rates", IB_STATEMENTS_API),
    ("POST", "partners-api:fx-rates", (403, 403, 400, 403, 403, 400, 403, 403)),
    ("GET", "partners-api:quality", IB_API),
    ("GET", "partners-api:quality-export", IB_API),
    # The client's refer-a-friend programme: the test client's entity does not offer it.
    ("GET", "referrals-api:mine", (403, 200, 403, 403, 403, 403, 403, 403)),
    ("POST", "referrals-api:mine", (403, 400, 403, 403, 403, 403, 403, 403)),
    # The IB's own endpoints: no actor of the matrix is an IB (tests/partners cover IBs).
    ("GET", "partner-api:me", NOBODY_API),
    ("GET", "partner-api:clients", NOBODY_API),
    ("GET", "partner-api:commissions", NOBODY_API),
    ("GET", "partner-api:statements", NOBODY_API),
    ("GET", "partner-api:disputes", NOBODY_API),
    ("POST", "partner-api:disputes", NOBODY_API),
    ("GET", "partner-api:application", NOBODY_API),
    ("POST", "partner-api:application", NOBODY_API),
    ("POST", "partner-api:agreement", NOBODY_API),
    ("GET", "partner-api:links", NOBODY_API),
    ("POST", "partner-api:links", NOBODY_API),
    ("GET", "partner-api:link", NOBODY_API),
    ("PATCH", "partner-api:link", NOBODY_API),
    ("DELETE", "partner-api:link", NOBODY_API),
    ("GET", "partner-api:link-qr-svg", NOBODY_API),
    ("GET", "partner-api:link-qr-png", NOBODY_API),
    ("GET", "partner-api:materials", NOBODY_API),
    ("POST", "partner-api:material-link", NOBODY_API),
]
