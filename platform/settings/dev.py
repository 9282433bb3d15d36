"""Local development and the demo."""

from brokerdesk.platform.settings.base import *  # noqa: F403
from brokerdesk.platform.settings.env import env_bool
from brokerdesk.tenants.config.crypto import DEV_KEY, keys_check

DEBUG = env_bool("DEBUG", True)
# Without BROKERDESK_SECRET_KEYS, secrets use a fixed public development key (ADR 0013).
SECRET_ENCRYPTION_KEYS = keys_check(SECRET_ENCRYPTION_KEYS or [DEV_KEY])  # noqa: F405
# The MT5 simulators (`brokerdesk mt5-sim`) speak plain HTTP on loopback.
TRADING_SERVER_SCHEME = "http"
