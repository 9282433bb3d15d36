"""infra/helm/brokerdesk renders (helmlite, a strict stand-in for `helm template`) into the
objects a deployment needs, wired to each other."""

from __future__ import annotations

import helmlite
import pytest
import yaml
from infra_files import CHART, HELM_TEST_VALUES, helm_manifests, pod_specs

QUEUES = {"default", "money", "commissions", "notifications"}


def _by_kind(manifests, kind):
    return [m for m in manifests if m["kind"] == kind]


def _one(manifests, kind, component=None):
    found = [
        m
        for m in _by_kind(manifests, kind)
        if component is None
        or m["metadata"]["labels"].get("app.kubernetes.io/component") == component
    ]
    assert len(found) == 1, (kind, component, [m["metadata"]["name"] for m in found])
    return found[0]


def test_chart_and_values_load():
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    values = yaml.safe_load((CHART / "values.yaml").read_text())

    assert chart["apiVersion"] == "v2" and chart["name"] == "brokerdesk"
    assert {w["name"] for w in values["workers"]} == QUEUES
    assert values["settingsModule"] == "brokerdesk.platform.settings.production"


def test_every_object_is_named_once_and_every_template_renders():
    manifests = helm_manifests()
    keys = [(m["kind"], m["metadata"]["name"]) for m in manifests]

    assert len(keys) == len(set(keys))
    assert all(m.get("apiVersion") for m in manifests)
    rendered_from = {m["__source__"] for m in manifests}
    templates = {p.relative_to(CHART).as_posix() for p in (CHART / "templates").glob("*.yaml")}
    assert rendered_from == templates


def test_workloads_select_their_own_pods_and_run_as_non_root():
    for manifest in _by_kind(helm_manifests(), "Deployment"):
        selector = manifest["spec"]["selector"]["matchLabels"]
        labels = manifest["spec"]["template"]["metadata"]["labels"]
        assert selector.items() <= labels.items(), manifest["metadata"]["name"]
    components = [
        m["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"]
        for m in _by_kind(helm_manifests(), "Deployment")
    ]
    assert len(components) == len(set(components))
    for where, spec in pod_specs(helm_manifests()):
        assert spec["securityContext"]["runAsNonRoot"] is True, where
        for container in spec["containers"]:
            assert container["securityContext"]["allowPrivilegeEscalation"] is False, where


@pytest.mark.parametrize("existing_secret", [False, True], ids=["chart-secret", "existing-secret"])
def test_every_pod_takes_its_environment_from_objects_that_exist(existing_secret):
    manifests = helm_manifests(existing_secret=existing_secret)
    config_maps = {m["metadata"]["name"] for m in _by_kind(manifests, "ConfigMap")}
    secrets = {m["metadata"]["name"] for m in _by_kind(manifests, "Secret")}
    if existing_secret:
        assert not secrets
        secrets = {"brokerdesk-managed-env"}

    for where, spec in pod_specs(manifests):
        for container in spec["containers"]:
            sources = container["envFrom"]
            assert {
                s["configMapRef"]["name"] for s in sources if "configMapRef" in s
            } <= config_maps
            assert {s["secretRef"]["name"] for s in sources if "secretRef" in s} <= secrets
            assert len(sources) == 2, where


def test_config_map_values_are_strings():
    (config_map,) = _by_kind(helm_manifests(), "ConfigMap")
    assert all(isinstance(v, str) for v in config_map["data"].values()), config_map["data"]


def test_migrations_run_as_a_hook_job_after_the_environment_exists():
    manifests = helm_manifests()
    job = _one(manifests, "Job", "migrate")
    hooks = job["metadata"]["annotations"]
    container = job["spec"]["template"]["spec"]["containers"][0]

    assert container["command"] + container["args"] == ["brokerdesk", "migrate"]
    assert hooks["helm.sh/hook"] == "pre-install,pre-upgrade"
    for kind in ("ConfigMap", "Secret"):
        env_hooks = _one(manifests, kind)["metadata"]["annotations"]
        assert env_hooks["helm.sh/hook"] == hooks["helm.sh/hook"]
        assert int(env_hooks["helm.sh/hook-weight"]) < int(hooks["helm.sh/hook-weight"])
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"


def test_web_probes_ask_healthz_on_the_platform_host():
    web = _one(helm_manifests(), "Deployment", "web")
    (container,) = web["spec"]["template"]["spec"]["containers"]

    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        get = container[probe]["httpGet"]
        headers = {h["name"]: h["value"] for h in get["httpHeaders"]}
        assert get["path"] == "/healthz" and get["port"] == "http", probe
        assert headers["Host"] == HELM_TEST_VALUES["platformDomain"], probe
        # The production settings redirect plain HTTP unless the proxy says it was HTTPS.
        assert headers["X-Forwarded-Proto"] == "https", probe
    assert container["command"] == ["gunicorn"]


def test_service_pdb_and_ingress_route_to_the_web_pods():
    manifests = helm_manifests()
    web = _one(manifests, "Deployment", "web")
    pod_labels = web["spec"]["template"]["metadata"]["labels"]
    service = _one(manifests, "Service", "web")
    pdb = _one(manifests, "PodDisruptionBudget", "web")
    ingress = _one(manifests, "Ingress", "web")
    domain = HELM_TEST_VALUES["platformDomain"]

    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert pdb["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    hosts = [rule["host"] for rule in ingress["spec"]["rules"]]
    assert hosts == [domain, f"*.{domain}", "portal.acme-fx.example"]
    for rule in ingress["spec"]["rules"]:
        backend = rule["http"]["paths"][0]["backend"]["service"]
        assert backend["name"] == service["metadata"]["name"]
        assert backend["port"]["number"] == service["spec"]["ports"][0]["port"]
    assert set(ingress["spec"]["tls"][0]["hosts"]) == {domain, f"*.{domain}"}


def test_one_worker_deployment_per_queue_and_exactly_one_beat():
    manifests = helm_manifests()
    consumed = {}
    for name in QUEUES:
        worker = _one(manifests, "Deployment", f"worker-{name}")
        (container,) = worker["spec"]["template"]["spec"]["containers"]
        argv = container["command"] + container["args"]
        assert argv[:2] == ["brokerdesk", "worker"]
        consumed[name] = argv[argv.index("--queues") + 1]
    assert consumed == {q: q for q in QUEUES}

    beat = _one(manifests, "Deployment", "beat")
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"]["type"] == "Recreate"


def test_missing_required_secret_refuses_to_render():
    values = helmlite.deep_merge(HELM_TEST_VALUES, {"secret": {"DATABASE_URL": ""}})
    with pytest.raises(helmlite.TemplateError, match="secret.DATABASE_URL is required"):
        helmlite.render_chart(CHART, values)


def test_helmlite_is_strict_about_missing_values_and_unknown_functions(tmp_path):
    chart = tmp_path / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: c\nversion: 0.1.0\n")
    (chart / "values.yaml").write_text("image: {repository: x}\n")
    (chart / "templates" / "a.yaml").write_text("image: {{ .Values.image.repositry }}\n")
    with pytest.raises(helmlite.TemplateError, match="missing value"):
        helmlite.render_chart(chart)
    (chart / "templates" / "a.yaml").write_text(
        "image: {{ .Values.image.repository | frobnicate }}\n"
    )
    with pytest.raises(helmlite.TemplateError, match="not supported"):
        helmlite.render_chart(chart)
    (chart / "templates" / "a.yaml").write_text(
        "{{- range $i, $q := .Values.qs }}\n- {{ $i }}: {{ $q | quote }}\n{{- end }}\n"
    )
    assert (
        helmlite.render_chart(chart, {"qs": ["a", "b"]})["templates/a.yaml"]
        == '\n- 0: "a"\n- 1: "b"\n'
    )
