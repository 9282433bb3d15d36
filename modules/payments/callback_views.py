"""The PSP callback endpoint: /payments/callback/<provider>/<credential id>/ on the tenant's host.

No session, no CSRF token, no API token: the PSP proves itself by its signature, which
``deposits.callback_receive`` checks after storing the raw request.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from brokerdesk.modules.payments.deposits import callback_receive

BODY_MAX = 256 * 1024


@csrf_exempt
@require_POST
def psp_callback(request: HttpRequest, provider: str, credential: Any) -> HttpResponse:
    body = request.body
    if len(body) > BODY_MAX:
        return HttpResponse(status=413)
    answer = callback_receive(provider=provider, credential_id=credential, body=body,
                              headers=request.headers)  # fmt: skip
    return HttpResponse(answer.body, status=answer.status, content_type=answer.content_type)
