"""A provider of the Sumsub kind: applicants and web SDK tokens over its signed REST API, and
its signed callbacks mapped onto our case events.

Requests carry ``X-App-Token``, ``X-App-Access-Ts`` (Unix seconds) and ``X-App-Access-Sig``:
the hex HMAC-SHA256, keyed with the secret key, of ts + METHOD + path with query + body.
Callbacks carry ``X-Payload-Digest``: the hex HMAC of the raw body keyed with the webhook
secret, by the algorithm named in ``X-Payload-Digest-Alg`` (HMAC_SHA1_HEX, HMAC_SHA256_HEX or
HMAC_SHA512_HEX). Event mapping (``callback_parse``): applicantPending → submit;
applicantReviewed GREEN → approve, RED with reviewRejectType RETRY → request_resubmission,
RED FINAL → reject; applicantOnHold and the rest change nothing (recorded in the inbox).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import quote, urlencode

import requests
from django.core.cache import cache

from brokerdesk.modules.kyc.models import CaseEvent, KycProfile, ProviderApplicant
from brokerdesk.modules.kyc.providers.base import (
    CallbackFacts,
    ProviderError,
    SdkStep,
    SignatureInvalid,
)

DIGEST_ALGORITHMS = {
    "HMAC_SHA1_HEX": hashlib.sha1,
    "HMAC_SHA256_HEX": hashlib.sha256,
    "HMAC_SHA512_HEX": hashlib.sha512,
}
TOKEN_TTL_S = 600
# A page shows a cached token only while it has most of its life left.
TOKEN_REUSE_S = TOKEN_TTL_S // 2
TIMEOUT_S = 10.0
SECRET_NAMES = ("app_token", "secret_key", "webhook_secret")


def request_signature(secret_key: str, ts: str, method: str, path: str, body: bytes) -> str:
    message = ts.encode() + method.upper().encode() + path.encode() + body
    return hmac.new(secret_key.encode(), message, hashlib.sha256).hexdigest()


def payload_digest(secret: str, body: bytes, algorithm: str = "HMAC_SHA256_HEX") -> str:
    return hmac.new(secret.encode(), body, DIGEST_ALGORITHMS[algorithm]).hexdigest()


class SumsubProvider:
    key = "sumsub"
    uses_uploads = False

    def __init__(self, row: Any) -> None:
        self.row = row
        self._secrets: dict[str, str] | None = None

    # --- secrets: decrypted only here, when a request or a callback needs them ------------
    def _secret(self, name: str) -> str:
        if self._secrets is None:
            token = self.row.secrets
            self._secrets = json.loads(token.reveal()) if token.is_set else {}
        return str(self._secrets.get(name, ""))

    # --- the REST API ---------------------------------------------------------------------
    def _call(self, method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
        body = json.dumps(payload, separators=(",", ":")).encode() if payload is not None else b""
        ts = str(int(time.time()))
        headers = {
            "Accept": "application/json",
            "X-App-Token": self._secret("app_token"),
            "X-App-Access-Ts": ts,
            "X-App-Access-Sig": request_signature(
                self._secret("secret_key"), ts, method, path, body
            ),
        }
        if payload is not None:
            headers["Content-Type"] = "application/json"
        try:
            response = requests.request(
                method,
                self.row.base_url.rstrip("/") + path,
                data=body or None,
                headers=headers,
                timeout=TIMEOUT_S,
            )
        except requests.RequestException as exc:
            raise ProviderError(f"{self.row.name}: {exc.__class__.__name__}") from None
        if response.status_code >= 400:
            raise ProviderError(
                f"{self.row.name}: HTTP {response.status_code} {response.text[:200]}",
            )
        try:
            return response.json()
        except ValueError:
            raise ProviderError(f"{self.row.name}: the answer is not JSON") from None

    def applicant_ensure(self, *, case: Any, client: Any) -> ProviderApplicant:
        """The case's applicant at the provider, created the first time."""
        existing = ProviderApplicant.objects.filter(case=case).first()
        if existing is not None:
            return existing
        external = str(case.public_id)
        profile = KycProfile.objects.filter(client=client).first()
        info = {}
        if profile is not None:
            info = {k: v for k, v in {
                "firstName": profile.first_name, "lastName": profile.last_name,
                "dob": profile.date_of_birth.isoformat() if profile.date_of_birth else "",
            }.items() if v}  # fmt: skip
        payload: dict[str, Any] = {"externalUserId": external, "email": client.email}
        if info:
            payload["fixedInfo"] = info
        path = "/resources/applicants?" + urlencode({"levelName": self.row.level_name})
        try:
            answer = self._call("POST", path, payload)
        except ProviderError as exc:
            if "HTTP 409" not in str(exc):
                raise
            # Created before (a lost answer): the provider knows it by our id.
            answer = self._call(
                "GET", f"/resources/applicants/-;externalUserId={quote(external)}/one"
            )
        applicant_id = str(answer.get("id", ""))
        if not applicant_id:
            raise ProviderError(f"{self.row.name}: no applicant id in the answer")
        applicant, _ = ProviderApplicant.objects.get_or_create(
            case=case,
            defaults={
                "provider": self.row,
                "applicant_id": applicant_id,
                "review_status": str((answer.get("review") or {}).get("reviewStatus", "")),
            },
        )
        return applicant

    def sdk_step(self, *, case: Any, client: Any, fresh: bool = False) -> SdkStep:
        # Page views reuse a token for most of its life, so reloads do not hit the
        # provider's rate limits; the SDK's own refresh asks for a fresh one.
        # Keyed by the account's last change too: a new SDK address or secret shows at once.
        key = f"kyc.sdk.{self.row.public_id}.{self.row.updated_at.timestamp()}.{case.public_id}"
        cached = None if fresh else cache.get(key)
        if isinstance(cached, SdkStep):
            return cached
        applicant = self.applicant_ensure(case=case, client=client)
        answer = self._call(
            "POST",
            "/resources/accessTokens/sdk",
            {"userId": str(case.public_id), "levelName": self.row.level_name,
             "ttlInSecs": TOKEN_TTL_S},
        )  # fmt: skip
        token = str(answer.get("token", ""))
        if not token:
            raise ProviderError(f"{self.row.name}: no access token in the answer")
        step = SdkStep(
            provider=self.key,
            applicant_id=applicant.applicant_id,
            access_token=token,
            sdk_url=self.row.sdk_url,
            expires_in_s=TOKEN_TTL_S,
        )
        cache.set(key, step, TOKEN_REUSE_S)
        return step

    # --- callbacks ------------------------------------------------------------------------
    def callback_verify(self, *, body: bytes, headers: dict[str, str]) -> None:
        algorithm = headers.get("x-payload-digest-alg", "")
        digest = headers.get("x-payload-digest", "")
        secret = self._secret("webhook_secret")
        if algorithm not in DIGEST_ALGORITHMS:
            raise SignatureInvalid("unknown or missing X-Payload-Digest-Alg")
        if not digest or not secret:
            raise SignatureInvalid("missing X-Payload-Digest")
        expected = payload_digest(secret, body, algorithm)
        if not hmac.compare_digest(expected, digest.strip().lower()):
            raise SignatureInvalid("X-Payload-Digest does not match")

    def callback_parse(self, *, body: bytes) -> CallbackFacts:
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise ValueError("the callback is not JSON") from None
        if not isinstance(data, dict):
            raise ValueError("the callback is not a JSON object")
        event_type = str(data.get("type", ""))
        applicant_id = str(data.get("applicantId", ""))
        if not event_type or not applicant_id:
            raise ValueError("the callback names no type or applicant")
        result = data.get("reviewResult") or {}
        if not isinstance(result, dict):
            raise ValueError("reviewResult is not an object")
        events: tuple[str, ...] = ()
        reason_code = reason = ""
        if event_type == "applicantPending":
            events = (CaseEvent.SUBMIT,)
        elif event_type == "applicantReviewed":
            answer = result.get("reviewAnswer")
            labels = [str(x) for x in result.get("rejectLabels") or []][:10]
            if answer == "GREEN":
                events = (CaseEvent.APPROVE,)
            elif answer == "RED":
                final = result.get("reviewRejectType") == "FINAL"
                events = (CaseEvent.REJECT,) if final else (CaseEvent.REQUEST_RESUBMISSION,)
                reason_code = "provider_final" if final else "provider_retry"
                reason = "; ".join(
                    part for part in (", ".join(labels), str(result.get("clientComment") or ""))
                    if part
                )[:500]  # fmt: skip
            else:
                raise ValueError("applicantReviewed without GREEN or RED")
        return CallbackFacts(
            event_type=event_type[:64],
            applicant_id=applicant_id[:64],
            external_user_id=str(data.get("externalUserId", ""))[:64],
            event_at=_created_at(data),
            events=events,
            reason_code=reason_code,
            reason=reason,
            review_status=str(data.get("reviewStatus", ""))[:32],
        )


def _created_at(data: dict[str, Any]) -> dt.datetime | None:
    """The provider's creation time of the callback (UTC), used to spot stale ones."""
    for key, fmt in (("createdAtMs", "%Y-%m-%d %H:%M:%S.%f"), ("createdAt", "%Y-%m-%d %H:%M:%S")):
        value = data.get(key)
        if isinstance(value, str):
            try:
                return dt.datetime.strptime(value[:26], fmt).replace(tzinfo=dt.UTC)
            except ValueError:
                continue
    return None
