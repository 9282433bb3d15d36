"""The test suite: real PostgreSQL and Redis; each pytest-xdist worker gets its own Redis
database and Celery queue (its own database name comes from pytest-django)."""

import os
from urllib.parse import urlsplit, urlunsplit

from brokerdesk.platform.settings.base import *  # noqa: F403
from brokerdesk.platform.settings.base import REDIS_URL as _BASE_REDIS_URL
from brokerdesk.tenants.config.crypto import DEV_KEY, keys_check

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# A fixed public key unless the environment names one (ADR 0013).
SECRET_ENCRYPTION_KEYS = keys_check(SECRET_ENCRYPTION_KEYS or [DEV_KEY])  # noqa: F405
# The default storage stays base's: the tenant S3 storage on moto when S3 is configured.
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

TEST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
_worker_index = int(TEST_WORKER[2:]) if TEST_WORKER[2:].isdigit() else 0


def _redis_db(url: str, db: int) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", parts.query, parts.fragment))


# Database 0 is left to the developer's own stack; workers use 1..15.
REDIS_URL = _redis_db(_BASE_REDIS_URL, 1 + _worker_index % 15)
CACHES["default"]["LOCATION"] = REDIS_URL  # noqa: F405
CELERY_BROKER_URL = REDIS_URL
CELERY_TASK_DEFAULT_QUEUE = f"test-{TEST_WORKER}"

# Each worker its own bucket too: tests that list a prefix must not see another worker's files
# (tests/conftest.py creates it on moto's server).
S3_BUCKET = f"{S3_BUCKET}-{TEST_WORKER}".lower()  # noqa: F405
S3_STORAGE_OPTIONS = {**S3_STORAGE_OPTIONS, "bucket_name": S3_BUCKET}  # noqa: F405
STORAGES = {
    name: (
        {**config, "OPTIONS": S3_STORAGE_OPTIONS}
        if config.get("OPTIONS", {}).get("bucket_name")
        else config
    )
    for name, config in STORAGES.items()
}

# Rate limits high enough that the suite never meets them by accident (counters live in Redis,
# which is not rolled back); tests of the limits set their own low rates.
IDENTITY_RATE_LIMITS = {
    action: {"source": "100000/h", "email": "100000/h"}
    for action in ("register", "password_reset", "verification_resend")
}
# The MT5 simulators (`brokerdesk mt5-sim`) speak plain HTTP on loopback.
TRADING_SERVER_SCHEME = "http"
