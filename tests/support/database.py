"""The test database as a DATABASE_URL, for the processes a test starts (workers, servers)."""

from __future__ import annotations

from django.conf import settings


def database_url() -> str:
    """The current database (this worker's test database), host or socket directory alike."""
    db = settings.DATABASES["default"]
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    if db["HOST"].startswith("/"):
        return f"postgresql://{auth}@/{db['NAME']}?host={db['HOST']}"
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgresql://{auth}@{db['HOST']}{port}/{db['NAME']}"
