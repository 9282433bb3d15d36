"""infra/compose.yaml loads, has every service with healthchecks, and starts them in order."""

from __future__ import annotations

import re

from infra_files import (
    PROJECT_IMAGE,
    compose,
    compose_interpolate,
    project_services,
    registry_host,
)

SERVICES = {"postgres", "redis", "s3", "s3-bucket", "migrate", "web", "worker", "beat"}
ONE_SHOTS = {"migrate", "s3-bucket"}


def test_compose_has_the_services_with_plain_image_names():
    services = compose()["services"]

    assert set(services) == SERVICES
    assert services["postgres"]["image"] == "postgres:15"
    assert services["redis"]["image"].startswith("redis:")
    for name, service in services.items():
        assert registry_host(service["image"]) is None, (name, service["image"])
    assert set(project_services()) == {"migrate", "web", "worker", "beat"}
    assert project_services()["web"]["build"] == {"context": "..", "dockerfile": "infra/Dockerfile"}


def test_postgres_raises_max_locks_per_transaction_for_many_schemas():
    command = " ".join(compose()["services"]["postgres"]["command"])
    (locks,) = re.findall(r"max_locks_per_transaction=(\d+)", command)

    # pg_dump failed past ~212 tenants at the default 64 (probe §3e); the rule of thumb gives
    # ≥ ~600 for 1,000 tenants of 59 tables with max_connections 100.
    assert int(locks) >= 1024


def test_long_running_services_have_healthchecks_and_one_shots_do_not_restart():
    services = compose()["services"]
    for name in SERVICES - ONE_SHOTS - {"beat"}:
        test = services[name]["healthcheck"]["test"]
        assert test[0] in {"CMD", "CMD-SHELL"}, name
        compose_interpolate(" ".join(test))
    for name in ONE_SHOTS:
        assert services[name]["restart"] == "no", name


def test_web_healthcheck_asks_healthz_with_the_platform_host():
    service = project_services()["web"]
    check = " ".join(service["healthcheck"]["test"])
    platform_domain = service["environment"]["PLATFORM_DOMAIN"]

    assert "/healthz" in check and f"'Host': '{platform_domain}'" in check


def test_dependencies_wait_for_health_or_completion():
    services = compose()["services"]
    for name, service in services.items():
        for dependency, condition in (service.get("depends_on") or {}).items():
            assert dependency in services, (name, dependency)
            condition = condition["condition"]
            if condition == "service_healthy":
                assert "healthcheck" in services[dependency], (name, dependency)
            else:
                assert condition == "service_completed_successfully", (name, dependency)
                assert dependency in ONE_SHOTS, (name, dependency)
    for name in ("web", "worker", "beat"):
        assert services[name]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully"
        )
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_worker_consumes_the_queue_tasks_are_sent_to():
    worker = project_services()["worker"]
    queues = worker["command"][worker["command"].index("--queues") + 1].split(",")
    default_queue = worker["environment"].get("CELERY_DEFAULT_QUEUE", "default")

    assert default_queue in queues
    assert PROJECT_IMAGE == worker["image"]
