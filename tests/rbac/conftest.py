"""Fixtures for the permission tests: a user per default role and the objects routes need."""

from __future__ import annotations

import pytest

from support.rbac_actors import Actors, actors_make


@pytest.fixture
def actors(db, test_tenant) -> Actors:
    return actors_make(test_tenant.get_primary_domain().domain)
