"""What the partners module refuses: a stable code and a message for people."""

from __future__ import annotations

from typing import Any


class PartnerError(Exception):
    """A refused change; nothing was written. ``field`` names the input at fault, if any."""

    code = "partners_error"

    def __init__(self, message: Any, *, field: str = "", code: str = "") -> None:
        super().__init__(str(message))
        self.message = str(message)
        self.field = field
        if code:
            self.code = code

    def as_dict(self) -> dict[str, list[str]]:
        return {self.field or "detail": [self.message]}
