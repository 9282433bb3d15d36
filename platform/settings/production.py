"""Production: every secret from the environment, HTTPS only; passes `check --deploy` cleanly."""

from brokerdesk.platform.settings.base import *  # noqa: F403
from brokerdesk.platform.settings.env import env_bool, env_int, env_list, env_str
from brokerdesk.tenants.config.crypto import keys_check

DEBUG = False
SECRET_KEY = env_str("SECRET_KEY")
# Required, and never the public development key (ADR 0013).
SECRET_ENCRYPTION_KEYS = keys_check(env_list("BROKERDESK_SECRET_KEYS"), allow_dev_key=False)
PUBLIC_URL_SCHEME = "https"
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = True
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_SECURE = True
X_FRAME_OPTIONS = "DENY"
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 587, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
