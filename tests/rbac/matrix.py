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
    ("GET", "backoffice:clients", STAFF_PAGE),
    ("GET", "backoffice:kyc", STAFF_PAGE),
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
    # --- API: its description and browsable UI (any active staff) -----------------------------
    ("GET", "api-schema", STAFF_API),
    ("GET", "api-docs", STAFF_API),
]
