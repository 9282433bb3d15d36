from django.db import connection

from brokerdesk.modules.identity.models import User


def test_db_tests_run_on_the_test_tenant(db, test_tenant):
    assert connection.schema_name == test_tenant.schema_name
    assert User.objects.filter(email="owner@test.example", is_superuser=True).exists()
