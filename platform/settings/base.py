"""Settings shared by every environment; values come from the environment (README lists them)."""

from __future__ import annotations

from pathlib import Path

from celery.schedules import crontab

from brokerdesk.platform.settings.env import (
    env_bool,
    env_choice,
    env_database,
    env_int,
    env_list,
    env_rate,
    env_redis_url,
    env_str,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = Path(env_str("BROKERDESK_DATA_DIR", str(REPO_ROOT / ".data")))

SECRET_KEY = env_str("SECRET_KEY", "dev-only-insecure-key-change-me-0123456789-abcdefghijklmnop")
# Keys that encrypt tenant secrets at rest, comma-separated, the first encrypts (ADR 0013).
# dev/test fall back to a fixed public key; production requires them.
SECRET_ENCRYPTION_KEYS = env_list("BROKERDESK_SECRET_KEYS", [])
DEBUG = env_bool("DEBUG", False)
PLATFORM_DOMAIN = env_str("PLATFORM_DOMAIN", "localhost").lower()
# Hosts are validated by the tenant domain lookup (unknown host → 404), see ADR 0009.
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["*"])
PUBLIC_URL_SCHEME = env_choice("PUBLIC_URL_SCHEME", ("http", "https"), "http")
PUBLIC_URL_PORT = env_int("PUBLIC_URL_PORT", 0, minimum=0)

# --- Apps: the frozen list (docs/adr/0005-apps-and-labels.md) -------------------------------
SHARED_APPS = [
    "django_tenants",
    "brokerdesk.tenants.apps.TenantsConfig",
    "brokerdesk.platform.apps.PlatformConfig",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    # Swagger UI assets served from our own static files, never a CDN (ADR 0016).
    "drf_spectacular_sidecar",
    # Operators are users of the public schema; see ADR 0004.
    "brokerdesk.modules.identity.apps.IdentityConfig",
    "brokerdesk.themes.apps.ThemesConfig",
]
TENANT_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "brokerdesk.tenants.config.apps.TenantConfigConfig",
    "brokerdesk.modules.identity.apps.IdentityConfig",
    "brokerdesk.modules.audit.apps.AuditConfig",
    "brokerdesk.modules.crm.apps.CrmConfig",
    "brokerdesk.modules.kyc.apps.KycConfig",
    "brokerdesk.modules.policy.apps.PolicyConfig",
    "brokerdesk.modules.trading.apps.TradingConfig",
    "brokerdesk.modules.ledger.apps.LedgerConfig",
    "brokerdesk.modules.payments.apps.PaymentsConfig",
    "brokerdesk.modules.partners.apps.PartnersConfig",
    "brokerdesk.modules.support.apps.SupportConfig",
    "brokerdesk.modules.notifications.apps.NotificationsConfig",
    "brokerdesk.modules.reporting.apps.ReportingConfig",
    "brokerdesk.modules.portal.apps.PortalConfig",
    "brokerdesk.modules.backoffice.apps.BackofficeConfig",
    "brokerdesk.modules.partner_portal.apps.PartnerPortalConfig",
]
INSTALLED_APPS = list(SHARED_APPS) + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "tenants.Tenant"
TENANT_DOMAIN_MODEL = "tenants.Domain"
AUTH_USER_MODEL = "identity.User"
PUBLIC_SCHEMA_NAME = "public"
# New tenants are cloned from this schema (ADR 0006); `brokerdesk migrate` keeps it current.
TENANT_TEMPLATE_SCHEMA = "tenant_template"
TENANT_SCHEMA_PREFIX = "t_"
TENANT_MULTIPROCESSING_MAX_PROCESSES = env_int("MIGRATE_PROCESSES", 2, minimum=1)
DATABASE_ROUTERS = ("django_tenants.routers.TenantSyncRouter",)

MIDDLEWARE = [
    "brokerdesk.tenants.middleware.TenantMiddleware",
    # NUL characters in query or form fields: 400 before anything stores or filters them.
    "brokerdesk.platform.middleware.NullCharacterMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Staff without a verified second factor get nothing but the TOTP step (identity/totp.py).
    "brokerdesk.modules.identity.totp.StaffSecondFactorMiddleware",
    # Request address, user agent and id for the audit rows the view writes (ADR 0015).
    "brokerdesk.modules.audit.services.AuditContextMiddleware",
    # A Trader's Room visitor's first campaign/referral touch, kept for registration (CRM).
    "brokerdesk.modules.crm.source.FirstTouchMiddleware",
    # Every referral touch of the session, for the "last touch" attribution rule (partners).
    "brokerdesk.modules.partners.attribution.ReferralTouchMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "brokerdesk.platform.urls_tenant"
PUBLIC_SCHEMA_URLCONF = "brokerdesk.platform.urls_public"
WSGI_APPLICATION = "brokerdesk.platform.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "brokerdesk.themes.context_processors.theme",
            ],
        },
    }
]

# --- Database ---------------------------------------------------------------------------------
_db = env_database("DATABASE_URL")
DATABASES = {
    "default": {
        "ENGINE": "django_tenants.postgresql_backend",
        "NAME": _db.name,
        "USER": _db.user,
        "PASSWORD": _db.password,
        "HOST": _db.host,
        "PORT": _db.port,
        # Persistent connections: the probe measured 7.8x the throughput of reconnecting.
        "CONN_MAX_AGE": env_int("DB_CONN_MAX_AGE", 600, minimum=0),
        "CONN_HEALTH_CHECKS": True,
        "TEST": {"NAME": env_str("TEST_DATABASE_NAME", f"test_{_db.name}")},
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis, cache, Celery ---------------------------------------------------------------------
REDIS_URL = env_redis_url("REDIS_URL")
CACHES = {
    "default": {
        # Keys are "<schema>:<prefix>:<version>:<key>"; clear() empties one schema (ADR 0012).
        "BACKEND": "brokerdesk.tenants.cache.TenantRedisCache",
        "LOCATION": REDIS_URL,
        "KEY_FUNCTION": "django_tenants.cache.make_key",
        "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
    }
}
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = False
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_DEFAULT_QUEUE", "default")
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TENANT_CACHE_SECONDS = 30
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Periodic jobs run once per active tenant: each entry calls the fan-out on the public schema
# with the tenant task's name, then that task's args and kwargs (ADR 0012).
CELERY_BEAT_SCHEDULE = {
    "tenants-heartbeat": {
        "task": "tenants.for_each_active_tenant",
        "schedule": 600.0,
        "args": ("tenants.ping_tenant",),
    },
    # Each tenant's audit chain head, copied outside its schema (ADR 0018).
    "audit-anchors": {
        "task": "tenants.for_each_active_tenant",
        "schedule": float(env_int("AUDIT_ANCHOR_INTERVAL_S", 3600, minimum=60)),
        "args": ("tenants.audit_anchor",),
    },
    # Dormant and churned clients (crm/lifecycle.py), once an hour in every tenant.
    "crm-dormancy": {
        "task": "tenants.for_each_active_tenant",
        "schedule": 3600.0,
        "args": ("crm.dormancy_evaluate",),
    },
    # KYC document expiry: warnings before, re-restriction on the day (kyc/expiry.py). Hourly,
    # so each tenant's business day starts within the hour; each warning and expiry is once.
    "kyc-expiry": {
        "task": "tenants.for_each_active_tenant",
        "schedule": 3600.0,
        "args": ("kyc.expiry_run",),
    },
    # Provider callbacks left unprocessed in the inbox (kyc/providers/inbox.py).
    "kyc-provider-callbacks": {
        "task": "tenants.for_each_active_tenant",
        "schedule": 300.0,
        "args": ("kyc.provider_callbacks_process",),
    },
    # Trading requests still queued (a platform that was down): retried, never lost.
    "trading-requests-sweep": {
        "task": "tenants.for_each_active_tenant",
        "schedule": 30.0,
        "args": ("trading.requests_sweep",),
    },
    # Trading sync (modules/trading/deals.py, sync.py, balance.py): deals by watermark,
    # balances and positions, balance operations whose outcome is not known yet.
    "trading-deals-import": {
        "task": "tenants.for_each_active_tenant",
        "schedule": float(env_int("TRADING_DEALS_IMPORT_INTERVAL_S", 60, minimum=5)),
        "args": ("trading.deals_import_all",),
    },
    "trading-accounts-refresh": {
        "task": "tenants.for_each_active_tenant",
        "schedule": float(env_int("TRADING_ACCOUNTS_REFRESH_INTERVAL_S", 300, minimum=10)),
        "args": ("trading.accounts_refresh",),
    },
    "trading-operations-settle": {
        "task": "tenants.for_each_active_tenant",
        "schedule": 60.0,
        "args": ("trading.operations_settle",),
    },
    # KYC cases submitted while the broker was unreachable: scored and decided (kyc/decisions).
    "kyc-unscored": {
        "task": "tenants.for_each_active_tenant",
        "schedule": 60.0,
        "args": ("kyc.cases_unscored_assess",),
    },
    # Deposits left pending: ask the PSP (payments/deposits.py), every minute in every tenant.
    "payments-poll": {
        "task": "tenants.for_each_active_tenant",
        "schedule": float(env_int("PAYMENTS_POLL_INTERVAL_S", 60, minimum=5)),
        "args": ("payments.deposits_poll",),
    },
    # Yesterday's PSP settlement files against deposits and the ledger, and every live
    # trading account's platform balance and balance operations against the ledger, once a day.
    "payments-reconciliation": {
        "task": "tenants.for_each_active_tenant",
        "schedule": crontab(hour=2, minute=30),
        "args": ("payments.reconciliation_run",),
    },
}
# Deposits pending longer than this are asked about; without a callback, Finance sees
# "callback missing". PAYMENTS_CALLBACK_BASE_URL: where PSPs reach this server when the
# tenant's own address is not reachable from them (the sandbox on loopback).
PAYMENTS_POLL_AFTER_S = env_int("PAYMENTS_POLL_AFTER_S", 120, minimum=0)
PAYMENTS_CALLBACK_MISSING_AFTER_S = env_int("PAYMENTS_CALLBACK_MISSING_AFTER_S", 300, minimum=0)
PAYMENTS_CALLBACK_BASE_URL = env_str("PAYMENTS_CALLBACK_BASE_URL", "")

# Trading servers are reached over HTTPS; the simulators of the tests and the demo speak plain
# HTTP on loopback (dev and test settings say so).
TRADING_SERVER_SCHEME = env_choice("TRADING_SERVER_SCHEME", ("http", "https"), "https")
# The web terminal a trader opens from the accounts page ({login} and {server} filled in).
TRADING_WEB_TERMINAL_URL = env_str(
    "TRADING_WEB_TERMINAL_URL", "https://trade.mql5.com/trade?servers={server}&login={login}"
)
# How long a web request waits on a trading server before saying "try again later".
TRADING_SERVER_TIMEOUT_S = env_int("TRADING_SERVER_TIMEOUT_S", 10, minimum=1)
# Deal import (ADR 0028): how far back a re-read starts before the watermark, the span of
# one bulk read, and how much history a server's first import takes.
TRADING_DEALS_OVERLAP_S = env_int("TRADING_DEALS_OVERLAP_S", 300, minimum=0)
TRADING_DEALS_WINDOW_S = env_int("TRADING_DEALS_WINDOW_S", 3600, minimum=60)
TRADING_DEALS_HISTORY_DAYS = env_int("TRADING_DEALS_HISTORY_DAYS", 30, minimum=1)
# A balance operation whose answer was lost is looked up for this long before one resend.
TRADING_SETTLE_WINDOW_S = env_int("TRADING_SETTLE_WINDOW_S", 60, minimum=1)
TRADING_SETTLE_RETRY_S = env_int("TRADING_SETTLE_RETRY_S", 5, minimum=1)

# --- Storage (S3 over HTTP; moto's server locally) -------------------------------------------
S3_ENDPOINT_URL = env_str("S3_ENDPOINT_URL", "")
S3_BUCKET = env_str("S3_BUCKET", "") or "brokerdesk"
S3_URL_TTL_S = env_int("S3_URL_TTL_S", 600, minimum=1)
# Files go to S3 once an endpoint or a bucket is named; keys are tenants/<schema>/… (ADR 0012).
S3_CONFIGURED = bool(S3_ENDPOINT_URL or env_str("S3_BUCKET", ""))
S3_STORAGE_OPTIONS = {
    "bucket_name": S3_BUCKET,
    "endpoint_url": S3_ENDPOINT_URL or None,
    # Endpoints other than AWS's (moto, MinIO) are addressed by path, not by bucket host name.
    "addressing_style": "path" if S3_ENDPOINT_URL else None,
    "signature_version": "s3v4",
    "default_acl": None,  # private objects: reads go through signed URLs only
    "querystring_auth": True,
    "querystring_expire": S3_URL_TTL_S,
    "file_overwrite": False,
}
MEDIA_ROOT = DATA_DIR / "media"
MULTITENANT_RELATIVE_MEDIA_ROOT = "tenants/%s"
STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STORAGES = {
    "default": (
        {"BACKEND": "brokerdesk.tenants.storage.TenantS3Storage", "OPTIONS": S3_STORAGE_OPTIONS}
        if S3_CONFIGURED
        # Without S3, still one folder per schema: <data>/media/tenants/<schema>/.
        else {"BACKEND": "django_tenants.files.storage.TenantFileSystemStorage"}
    ),
    # The platform's own files (public schema only on S3): storages["platform"].
    "platform": (
        {"BACKEND": "brokerdesk.tenants.storage.PlatformS3Storage", "OPTIONS": S3_STORAGE_OPTIONS}
        if S3_CONFIGURED
        else {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": DATA_DIR / "media" / "platform"},
        }
    ),
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# --- Auth, i18n, time -------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Argon2id first: new passwords and every sign-in with an older hash end up argon2.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
# Session and CSRF cookies are host-only (no Domain attribute): a broker's cookie is never sent
# to another broker's host, not even a sibling under the same platform domain.
SESSION_COOKIE_DOMAIN = None
CSRF_COOKIE_DOMAIN = None
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# Login throttling (identity/lockout.py): 5 failures for one e-mail address, or 20 from one
# address, within the window lock that key for LOGIN_LOCK_S.
LOGIN_ACCOUNT_FAILURE_LIMIT = env_int("LOGIN_ACCOUNT_FAILURE_LIMIT", 5, minimum=1)
LOGIN_SOURCE_FAILURE_LIMIT = env_int("LOGIN_SOURCE_FAILURE_LIMIT", 20, minimum=1)
LOGIN_FAILURE_WINDOW_S = env_int("LOGIN_FAILURE_WINDOW_S", 15 * 60, minimum=1)
LOGIN_LOCK_S = env_int("LOGIN_LOCK_S", 15 * 60, minimum=1)
# A header a trusted proxy sets to the client's country (e.g. "X-Country"); empty: locations
# beyond "local network" are unknown (no GeoIP database ships with Brokerdesk).
LOGIN_COUNTRY_HEADER = env_str("LOGIN_COUNTRY_HEADER", "")
# What an anonymous visitor can make the broker send (identity/ratelimits.py): registrations,
# password reset requests and verification re-sends, each counted per source address and per
# e-mail address ("<count>/<period>", period s, m, h or d). Over the limit: 429.
RATE_LIMIT_PER_SOURCE = env_rate("RATE_LIMIT_PER_SOURCE", "30/h")
RATE_LIMIT_PER_EMAIL = env_rate("RATE_LIMIT_PER_EMAIL", "5/h")
IDENTITY_RATE_LIMITS = {
    action: {"source": RATE_LIMIT_PER_SOURCE, "email": RATE_LIMIT_PER_EMAIL}
    for action in ("register", "password_reset", "verification_resend")
}
# A password reset request is never answered sooner than this, whether or not the address
# has an account: the answer's timing must not tell (identity/registration.py).
PASSWORD_RESET_ANSWER_FLOOR_MS = env_int("PASSWORD_RESET_ANSWER_FLOOR_MS", 300, minimum=0)
EMAIL_VERIFY_LINK_TTL_S = env_int("EMAIL_VERIFY_LINK_TTL_S", 72 * 3600, minimum=60)
PASSWORD_RESET_LINK_TTL_S = env_int("PASSWORD_RESET_LINK_TTL_S", 3600, minimum=60)
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("de", "Deutsch"), ("ar", "العربية")]
# One catalog for the templates and the faces; compiled .mo files are committed (no gettext
# at run time). The chosen language is remembered for a year, not just the browser session.
LOCALE_PATHS = [REPO_ROOT / "themes" / "locale"]
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
SET_PASSWORD_LINK_TTL_S = env_int("SET_PASSWORD_LINK_TTL_S", 72 * 3600, minimum=60)

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = DATA_DIR / "mail"
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", f"no-reply@{PLATFORM_DOMAIN}")

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Every tenant API view: a bearer API token first (401 when it is bad), else the session
    # (ADR 0020). tests/rbac/test_api_tokens.py checks that no /api/v1/ view drops the token.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "brokerdesk.modules.identity.tokens.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
}
SPECTACULAR_SETTINGS = {"TITLE": "Brokerdesk API", "VERSION": "1"}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"tenant_context": {"()": "django_tenants.log.TenantContextFilter"}},
    "formatters": {
        "tenant": {"format": "%(asctime)s %(levelname)s [%(schema_name)s] %(name)s: %(message)s"}
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["tenant_context"],
            "formatter": "tenant",
        }
    },
    "root": {
        "handlers": ["console"],
        "level": env_choice("LOG_LEVEL", ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"), "INFO"),
    },
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
