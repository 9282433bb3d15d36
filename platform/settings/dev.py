"""Local development and the demo."""

from brokerdesk.platform.settings.base import *  # noqa: F403
from brokerdesk.platform.settings.env import env_bool

DEBUG = env_bool("DEBUG", True)
