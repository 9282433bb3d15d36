from django.apps import AppConfig


class ThemesConfig(AppConfig):
    """White-label templates and static assets; no business logic."""

    name = "brokerdesk.themes"
    label = "themes"
