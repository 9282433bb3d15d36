"""Helpers of the KYC tests (imported as `support_kyc`: pytest runs with importlib)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import boto3
from botocore.config import Config
from django.conf import settings
from django.utils import timezone

from brokerdesk.modules.kyc.models import KycProfile

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus"
OFAC = HERE / "data" / "ofac"


def corpus_manifest() -> dict[str, dict[str, str]]:
    return json.loads((CORPUS / "manifest.json").read_text())


def corpus_file(name: str, folder: str = "valid") -> bytes:
    return (CORPUS / folder / name).read_bytes()


def s3_client():
    config = Config(s3={"addressing_style": "path"}, signature_version="s3v4")
    return boto3.client("s3", endpoint_url=settings.S3_ENDPOINT_URL, config=config)


def profile_fill(client, **changes) -> KycProfile:
    values = {
        "first_name": "Jane",
        "last_name": "Trader",
        "date_of_birth": dt.date(1985, 3, 14),
        "address_line": "1 Harbour Road",
        "city": "Limassol",
        "postal_code": "3030",
        "country": "CY",
        "nationality": "CY",
        "employment_status": "employed",
        "source_of_funds": "salary",
        "completed_at": timezone.now(),
        **changes,
    }
    profile, _ = KycProfile.objects.update_or_create(client=client, defaults=values)
    return profile


def recent(days: int = 10) -> dt.date:
    return timezone.localdate() - dt.timedelta(days=days)


def in_years(years: int = 5) -> dt.date:
    return timezone.localdate() + dt.timedelta(days=365 * years)
