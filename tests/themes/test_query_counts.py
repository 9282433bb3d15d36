"""The three faces' home pages run a fixed number of queries (no N+1 as modules fill them)."""

from __future__ import annotations

import pytest

# who: (home, queries), with the brand cached. Anonymous: the tenant's domain (after django-
# tenants' SET search_path to public). Signed in: also the session and the user, each after
# a SET search_path to the tenant. Staff also load their role codes once per request (the
# navigation asks the permission check; ADR 0016). A client's dashboard also asks the policy
# engine once for all six actions (the Verification and "What you can do now" cards): the KYC
# case with its state and configuration, the profile's country, the legal entity, and —
# before a case exists — the configuration and its initial state. An IB's home also reads the
# IB's partner profile once (issue 10; with its SET search_path: +2). The client's dashboard
# tiles (issue 9) read the wallets, the live accounts' equity, and the deposits, withdrawals
# and transfers once each (newest and still open together): 5 queries, each with its SET
# search_path, +10 (+2 more for the balance line once the client has a wallet). Nothing else
# may add to that.
HOMES = {
    "anonymous": ("/", 2),
    "client": ("/", 28),
    "staff": ("/backoffice/", 8),
    "ib": ("/partners/", 8),
}


@pytest.mark.parametrize("who", HOMES)
def test_a_face_home_runs_a_fixed_number_of_queries(
    tenant_client, users, django_assert_num_queries, who
):
    path, queries = HOMES[who]
    if who != "anonymous":
        tenant_client.force_login(users[who])
    tenant_client.get(path)  # caches the brand, as any earlier request would have

    with django_assert_num_queries(queries):
        response = tenant_client.get(path)

    assert response.status_code == 200
