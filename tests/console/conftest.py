from __future__ import annotations

import pyotp
import pytest
from django.db import connection

from brokerdesk.platform.console.operators import operator_create, totp_device

PASSWORD = "operator passphrase 42"


@pytest.fixture
def operator(public_db):
    return operator_create(email="ops@brokerdesk.example", password=PASSWORD)


def current_code(user) -> str:
    connection.set_schema_to_public()
    return pyotp.TOTP(totp_device(user).secret.reveal()).now()


@pytest.fixture
def console(client, operator):
    """A client signed in as an operator who passed the second factor."""
    client.defaults["HTTP_HOST"] = "localhost"
    response = client.post("/console/login/", {"username": operator.email, "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/console/otp/"
    response = client.post("/console/otp/", {"code": current_code(operator)})
    assert response.status_code == 302 and response["Location"] == "/console/"
    return client
