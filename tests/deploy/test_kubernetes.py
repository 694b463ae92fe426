"""The Kubernetes manifests in deploy/kubernetes, checked against the Kubernetes API
schemas (kubernetes-validate ships them, so this runs offline) and against crmseg's
own exit codes, config loader and container image."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from sync.cli_common import (
    EXIT_CRM,
    EXIT_FAILURE,
    EXIT_LOCKED,
    EXIT_MASS_CHANGE,
    EXIT_PARTIAL,
    EXIT_USAGE,
)
from sync.config import CrmConfig, load_config
from tests.deploy.conftest import DEPLOY
from tests.deploy.test_systemd import run_time_limit_seconds, stop_timeout_seconds

K8S = DEPLOY / "kubernetes"
MANIFESTS = sorted(K8S.glob("*.yaml")) + sorted((K8S / "examples").glob("*.yaml"))
#: podFailurePolicy is GA from 1.31 (and CronJob timeZone from 1.27): the oldest
#: release the manifests must load on, and the newest whose schemas are shipped.
VERSIONS = ["1.31.0", kubernetes_validate.latest_version()]


def _load(path: Path) -> dict[str, Any]:
    documents = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
    assert len(documents) == 1, f"{path}: one resource per file"
    return documents[0]


def cronjob() -> dict[str, Any]:
    return _load(K8S / "cronjob.yaml")


def job_spec() -> dict[str, Any]:
    return cronjob()["spec"]["jobTemplate"]["spec"]


def pod_spec() -> dict[str, Any]:
    return job_spec()["template"]["spec"]


def _container() -> dict[str, Any]:
    (container,) = pod_spec()["containers"]
    return container


def test_the_expected_manifests_are_shipped():
    kinds = {_load(path)["kind"] for path in MANIFESTS}
    assert kinds == {"CronJob", "PersistentVolumeClaim", "ConfigMap", "Secret"}


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_manifest_is_valid_against_the_kubernetes_schema(path: Path, version: str):
    kubernetes_validate.validate(_load(path), version, strict=True)


def test_schema_check_rejects_a_misspelt_field_so_the_check_above_can_fail():
    broken = cronjob()
    broken["spec"]["concurrencyPolcy"] = broken["spec"].pop("concurrencyPolicy")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, VERSIONS[-1], strict=True)


def test_one_run_at_a_time_and_a_late_start_is_skipped_not_piled_up():
    spec = cronjob()["spec"]
    assert spec["concurrencyPolicy"] == "Forbid"
    assert 0 < spec["startingDeadlineSeconds"] < 24 * 3600
    assert spec["timeZone"] == "Etc/UTC"


def test_retries_follow_crmseg_exit_codes():
    job = job_spec()
    assert pod_spec()["restartPolicy"] == "Never"  # podFailurePolicy needs it
    assert job["backoffLimit"] <= 1
    rules = job["podFailurePolicy"]["rules"]
    # A disrupted pod (eviction, preemption, drain) is started again without counting.
    assert rules[0]["action"] == "Ignore"
    assert rules[0]["onPodConditions"] == [{"type": "DisruptionTarget", "status": "True"}]
    fail_job = [r["onExitCodes"] for r in rules if r["action"] == "FailJob"]
    assert all(r["containerName"] == _container()["name"] for r in fail_job)
    assert all(r["operator"] == "In" for r in fail_job)
    # Codes a retry cannot fix end the Job at once: no tight loop on a held lock (3).
    assert [set(r["values"]) for r in fail_job] == [
        {EXIT_USAGE, EXIT_LOCKED, EXIT_MASS_CHANGE, EXIT_CRM},
        {EXIT_PARTIAL},
    ]
    # Ignore on an exit code would retry forever, uncounted.
    assert all("onExitCodes" not in r for r in rules if r["action"] == "Ignore")
    # An unexpected failure and a clean stop outside a disruption count (one retry).
    ending = {v for r in fail_job for v in r["values"]}
    assert EXIT_FAILURE not in ending and 128 + signal.SIGTERM not in ending


def test_grace_period_and_deadline_are_the_ones_the_systemd_service_uses():
    request_timeout = CrmConfig.model_fields["timeout_seconds"].default
    assert pod_spec()["terminationGracePeriodSeconds"] >= 2 * request_timeout
    # One clean-stop budget and one run-time limit, however crmseg is scheduled.
    assert pod_spec()["terminationGracePeriodSeconds"] == stop_timeout_seconds()
    assert job_spec()["activeDeadlineSeconds"] == run_time_limit_seconds()


def test_token_comes_from_the_secret_and_is_never_inline():
    container = _container()
    secret = _load(K8S / "examples" / "secret.yaml")
    assert container["envFrom"] == [{"secretRef": {"name": secret["metadata"]["name"]}}]
    assert "env" not in container
    assert set(secret["stringData"]) == {"HUBSPOT_ACCESS_TOKEN"}
    assert secret["stringData"]["HUBSPOT_ACCESS_TOKEN"].startswith("REPLACE")


def test_config_map_is_the_shipped_config_and_keeps_the_state_on_the_volume(tmp_path: Path):
    config_map = _load(K8S / "configmap.yaml")
    text = config_map["data"]["crmseg.toml"]
    assert text == (DEPLOY / "crmseg.toml").read_text(encoding="utf-8")
    (tmp_path / "crmseg.toml").write_text(text, encoding="utf-8")
    state = load_config(tmp_path / "crmseg.toml").state.path

    spec, container = pod_spec(), _container()
    volumes = {v["name"]: v for v in spec["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    pvc = _load(K8S / "pvc.yaml")
    state_volume = volumes[mounts[str(state.parent)]]
    assert state_volume["persistentVolumeClaim"]["claimName"] == pvc["metadata"]["name"]
    assert pvc["spec"]["accessModes"] == ["ReadWriteOnce"]

    args = container["args"]
    config_path = Path(args[args.index("--config") + 1])
    assert args[0] == "sync"
    config_volume = volumes[mounts[str(config_path.parent)]]
    assert config_volume["configMap"]["name"] == config_map["metadata"]["name"]
    assert config_path.name in config_map["data"]


def test_pod_runs_unprivileged_with_a_read_only_root():
    context = pod_spec()["securityContext"]
    assert context["runAsNonRoot"] is True
    assert context["runAsUser"] > 0
    # The state volume is made writable for the pod's group.
    assert context["fsGroup"] == context["runAsGroup"]
    assert context["seccompProfile"] == {"type": "RuntimeDefault"}
    container_context = _container()["securityContext"]
    assert container_context["readOnlyRootFilesystem"] is True
    assert container_context["allowPrivilegeEscalation"] is False
    assert container_context["capabilities"]["drop"] == ["ALL"]
    # With a read-only root, /tmp (the demo's and Python's temporary files) is a volume.
    assert "/tmp" in {m["mountPath"] for m in _container()["volumeMounts"]}


def _mebibytes(quantity: str) -> float:
    units = {"Mi": 1, "Gi": 1024}
    return float(quantity[:-2]) * units[quantity[-2:]]


def test_resources_cover_the_benchmarked_peak_with_headroom():
    resources = _container()["resources"]
    # benchmarks/RESULTS.md: 291 MiB peak RSS for 100,000 contacts and 500,000 deals,
    # CPU time about equal to wall time (one core busy).
    peak_100k = 291
    assert _mebibytes(resources["requests"]["memory"]) >= peak_100k
    assert _mebibytes(resources["limits"]["memory"]) >= 3 * peak_100k
    assert resources["requests"]["cpu"] == "1"
    assert "cpu" not in resources.get("limits", {})
