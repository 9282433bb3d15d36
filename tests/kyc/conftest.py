"""Fixtures for the KYC tests: the default configuration, a client, the S3 bucket."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from django.conf import settings

from brokerdesk.modules.identity.models import UserKind
from brokerdesk.modules.kyc.configuration import configuration_defaults_ensure
from support.rbac_actors import user_make

sys.path.insert(0, str(Path(__file__).resolve().parent))
from support_kyc import profile_fill, s3_client  # noqa: E402


@pytest.fixture(scope="session")
def s3_bucket() -> str:
    """The bucket on moto's server (created when missing); S3 tests need S3_ENDPOINT_URL."""
    if not settings.S3_ENDPOINT_URL:
        pytest.fail("S3 tests need S3_ENDPOINT_URL (`brokerdesk test` starts moto's server)")
    try:
        s3_client().create_bucket(Bucket=settings.S3_BUCKET)
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
            raise
    return settings.S3_BUCKET


@pytest.fixture
def kyc_defaults(db):
    return configuration_defaults_ensure()


@pytest.fixture
def trader(kyc_defaults):
    user = user_make("jane@kyc.example", kind=UserKind.CLIENT)
    user.full_name = "Jane Trader"
    user.country = "CY"
    user.save()
    return user


@pytest.fixture
def trader_with_profile(trader):
    profile_fill(trader)
    return trader
