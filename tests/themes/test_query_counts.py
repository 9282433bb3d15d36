"""The three faces' home pages run a fixed number of queries (no N+1 as modules fill them)."""

from __future__ import annotations

import pytest

# who: (home, queries), with the brand cached. Anonymous: the tenant's domain (after django-
# tenants' SET search_path to public). Signed in: also the session and the user, each after
# a SET search_path to the tenant. Staff also load their role codes once per request (the
# navigation asks the permission check; ADR 0016). A client's dashboard also reads their KYC
# case with its state once, after its SET search_path (the Verification card). Nothing else
# may add to that.
HOMES = {
    "anonymous": ("/", 2),
    "client": ("/", 8),
    "staff": ("/backoffice/", 8),
    "ib": ("/partners/", 6),
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
