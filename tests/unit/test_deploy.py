"""The deploy/ artefacts: they parse, name only settings that exist, agree with each other, and
pass the tools that can check them here (systemd-analyze, systemd-sysusers).

Environment names are derived from `syncd.settings.Settings` (`SYNCD_<FIELD>` for top-level
fields, `SYNCD_<SECTION>_<FIELD>` inside nested models), so a renamed setting breaks these
tests instead of silently breaking a deployment. Values are checked by loading them through
`load_settings()`, the same path the daemon takes. Docker and Kubernetes cannot run here: the
Dockerfile, compose file and manifests are checked by reading them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, get_args

import pytest
import yaml
from pydantic import BaseModel, SecretStr

from syncd.settings import LiveVoxSettings, Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
UNIT = DEPLOY / "systemd" / "syncd.service"
ENV_EXAMPLE = DEPLOY / "systemd" / "syncd.env.example"
SYSUSERS = DEPLOY / "systemd" / "syncd.sysusers.conf"
ADMIN_SCRIPT = DEPLOY / "systemd" / "syncd-admin"
DOCKERFILE = DEPLOY / "container" / "Dockerfile"
DOCKERIGNORE = DEPLOY / "container" / "Dockerfile.dockerignore"
COMPOSE = DEPLOY / "compose" / "compose.yaml"
K8S = DEPLOY / "k8s"
DASHBOARD = DEPLOY / "grafana" / "syncd-dashboard.json"
OPERATIONS = ROOT / "docs" / "operations.md"

# The configuration names DESIGN.md promises operators.
CONTRACT_ENV_NAMES = {
    "SYNCD_CONFIG",
    "SYNCD_DATABASE_URL",
    "SYNCD_LIVEVOX_BASE_URL",
    "SYNCD_LIVEVOX_ACCESS_TOKEN",
    "SYNCD_LIVEVOX_CLIENT_NAME",
    "SYNCD_LIVEVOX_USERNAME",
    "SYNCD_LIVEVOX_PASSWORD",
    "SYNCD_ADMIN_BIND",
    "SYNCD_ADMIN_TOKEN",
    "SYNCD_SYNC_INTERVAL",
}
# Not settings, but read by syncd: the systemd credentials directory (see syncd.settings).
OTHER_SYNCD_ENV = {"CREDENTIALS_DIRECTORY", "PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE", "PATH"}

# The Prometheus series the dashboard may use, with their labels (the daemon's contract).
METRICS: dict[str, set[str]] = {
    "syncd_runs_total": {"kind", "status"},
    "syncd_rows_pulled_total": set(),
    "syncd_changes_pushed_total": {"operation", "outcome"},
    "syncd_outbox_depth": {"state"},
    "syncd_dead_letters": set(),
    "syncd_sync_lag_seconds": set(),
    "syncd_livevox_request_seconds": {"endpoint", "status"},
}
HISTOGRAMS = {"syncd_livevox_request_seconds"}
TARGET_LABELS = {"job", "instance"}  # added by Prometheus to every series
PROMQL_WORDS = {
    "sum", "max", "min", "avg", "count", "rate", "increase", "histogram_quantile", "clamp_min",
    "by", "without", "on", "ignoring", "and", "or", "unless", "label_values",
}  # fmt: skip

CLI_COMMANDS = {
    "emulator", "db upgrade", "sync", "run", "resync", "status", "audit", "demo",
    "config check",
}  # fmt: skip

_SYNCD_NAME = re.compile(r"\bSYNCD_[A-Z0-9_]*[A-Z0-9](?![A-Za-z0-9_*<])")


# ---------------------------------------------------------------------------- helpers


def settings_env_names() -> set[str]:
    """Every environment name the configuration model reads."""
    names = {"SYNCD_CONFIG"}
    for name, field in Settings.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names |= {f"SYNCD_{name}_{sub}".upper() for sub in annotation.model_fields}
        else:
            names.add(f"SYNCD_{name}".upper())
    return names


def _is_secret(annotation: Any) -> bool:
    return annotation is SecretStr or SecretStr in get_args(annotation)


def secret_env_names() -> set[str]:
    """Names of the settings that are secrets: SecretStr fields, and the database URL."""
    names = {"SYNCD_DATABASE_URL"}
    for name, field in Settings.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names |= {
                f"SYNCD_{name}_{sub}".upper()
                for sub, subfield in annotation.model_fields.items()
                if _is_secret(subfield.annotation)
            }
        elif _is_secret(annotation):
            names.add(f"SYNCD_{name}".upper())
    return names


def syncd_names_in(value: Any) -> set[str]:
    """SYNCD_* names in every key and string of a parsed YAML/JSON document."""
    found: set[str] = set()
    if isinstance(value, str):
        found |= set(_SYNCD_NAME.findall(value))
    elif isinstance(value, dict):
        for key, item in value.items():
            found |= syncd_names_in(key) | syncd_names_in(item)
    elif isinstance(value, list):
        for item in value:
            found |= syncd_names_in(item)
    return found


def load_yaml_documents(path: Path) -> list[Any]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


def k8s_objects() -> dict[str, dict[str, Any]]:
    """Every Kubernetes object under deploy/k8s, by kind (one of each)."""
    objects: dict[str, dict[str, Any]] = {}
    for path in sorted(K8S.glob("*.yaml")):
        for doc in load_yaml_documents(path):
            assert doc["kind"] not in objects, f"two {doc['kind']} objects"
            objects[doc["kind"]] = doc
    return objects


def parse_unit(text: str) -> dict[str, list[tuple[str, str]]]:
    """A systemd unit as (key, value) pairs per section; repeated keys are kept in order."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        assert not line.endswith("\\"), f"line {number}: continuation lines are not expected"
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
            continue
        key, sep, value = line.partition("=")
        assert sep and current is not None, f"line {number} is not key=value in a section"
        current.append((key.strip(), value.strip()))
    return sections


def unit_values(section: list[tuple[str, str]], key: str) -> list[str]:
    return [value for k, value in section if k == key]


def duration_seconds(text: str) -> float:
    """'6min', '2min 30s', '360', '6m', '90s' -> seconds (systemd and Go duration subsets)."""
    units = {"": 1, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600}
    total = 0.0
    parts = re.findall(r"(\d+(?:\.\d+)?)\s*([a-z]*)", text.strip())
    assert parts, f"not a duration: {text!r}"
    for number, unit in parts:
        assert unit in units, f"unknown duration unit in {text!r}"
        total += float(number) * units[unit]
    return total


def shutdown_budget_seconds() -> float:
    """How long SIGTERM may take: one batch retrying to its deadline plus one request."""
    defaults = LiveVoxSettings()
    return defaults.retry_deadline_seconds + defaults.timeout_seconds


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """No SYNCD_* or credentials from the machine running the tests; no config file."""
    for name in list(os.environ):
        if name.startswith("SYNCD_") or name == "CREDENTIALS_DIRECTORY":
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # the default config/syncd.toml must not be picked up
    return monkeypatch


def resolve_compose_value(value: str) -> str:
    """`${NAME:-default}` -> default: the value compose uses when NAME is unset."""
    resolved = re.sub(r"\$\{[A-Z0-9_]+:-([^}]*)\}", r"\1", value)
    assert "$" not in resolved, f"unsupported interpolation in {value!r}"
    return resolved


# ---------------------------------------------------------------------------- the model


def test_the_contract_names_exist_in_the_config_model() -> None:
    assert settings_env_names() >= CONTRACT_ENV_NAMES


def test_secret_settings_are_the_expected_ones() -> None:
    # If a new secret setting appears, the unit, the k8s Secret and the docs need it too.
    assert secret_env_names() == {
        "SYNCD_DATABASE_URL",
        "SYNCD_LIVEVOX_ACCESS_TOKEN",
        "SYNCD_LIVEVOX_PASSWORD",
        "SYNCD_ADMIN_TOKEN",
    }


# ---------------------------------------------------------------------------- YAML


@pytest.mark.parametrize(
    "path", sorted(DEPLOY.rglob("*.yaml")), ids=lambda p: str(p.relative_to(DEPLOY))
)
def test_every_yaml_file_parses_into_mappings(path: Path) -> None:
    documents = load_yaml_documents(path)
    assert documents, f"{path} has no document"
    assert all(isinstance(doc, dict) for doc in documents)


def test_deploy_files_name_only_settings_that_exist() -> None:
    valid = settings_env_names()
    offenders: dict[str, set[str]] = {}
    for path in sorted(DEPLOY.rglob("*.yaml")):
        unknown = set().union(*(syncd_names_in(doc) for doc in load_yaml_documents(path)))
        if unknown - valid:
            offenders[str(path.relative_to(ROOT))] = unknown - valid
    text_files = [UNIT, ENV_EXAMPLE, DOCKERFILE, ADMIN_SCRIPT, OPERATIONS]
    for path in text_files:
        names = set(_SYNCD_NAME.findall(path.read_text()))
        if names - valid:
            offenders[str(path.relative_to(ROOT))] = names - valid
    assert not offenders, f"names the config model does not read: {offenders}"


# ---------------------------------------------------------------------------- compose


def compose_services() -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = yaml.safe_load(COMPOSE.read_text())["services"]
    return services


def test_compose_runs_postgres_15_the_emulator_and_the_daemon() -> None:
    services = compose_services()
    assert services["postgres"]["image"] == "postgres:15"
    emulator = services["emulator"]
    assert emulator["command"] == ["emulator", "--host", "0.0.0.0", "--contacts", "5000"]
    syncd = services["syncd"]
    assert syncd["image"] == emulator["image"]
    script = syncd["entrypoint"][-1]
    assert re.fullmatch(r"syncd db upgrade && exec syncd run", script), script
    assert syncd["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert syncd["depends_on"]["emulator"]["condition"] == "service_healthy"
    for name, service in services.items():
        assert "healthcheck" in service or name == "syncd", f"{name} has no healthcheck"
    assert duration_seconds(syncd["stop_grace_period"]) >= shutdown_budget_seconds()
    build = syncd["build"]
    assert (COMPOSE.parent / build["context"] / build["dockerfile"]).resolve() == DOCKERFILE


def test_compose_environment_loads_as_valid_settings(clean_env: pytest.MonkeyPatch) -> None:
    environment = compose_services()["syncd"]["environment"]
    assert set(environment) <= settings_env_names() | OTHER_SYNCD_ENV
    for name, value in environment.items():
        clean_env.setenv(name, resolve_compose_value(str(value)))
    settings = load_settings()
    assert settings.livevox.base_url == "http://emulator:8089"
    assert settings.admin_bind == "0.0.0.0:8787"
    assert settings.database_url is not None and "@postgres:5432/" in settings.database_url


# ---------------------------------------------------------------------------- Kubernetes


def test_k8s_objects_reference_each_other() -> None:
    objects = k8s_objects()
    deployment, service = objects["Deployment"], objects["Service"]
    config_map, secret = objects["ConfigMap"], objects["Secret"]
    pod = deployment["spec"]["template"]
    pod_labels = pod["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert service["spec"]["selector"].items() <= pod_labels.items()

    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    assert volumes["config"]["configMap"]["name"] == config_map["metadata"]["name"]
    assert volumes["secrets"]["secret"]["secretName"] == secret["metadata"]["name"]

    (container,) = pod["spec"]["containers"]
    (init,) = pod["spec"]["initContainers"]
    assert container["args"] == ["run"]
    assert init["args"] == ["db", "upgrade"]
    for c in (container, init):
        env = {e["name"]: e["value"] for e in c["env"]}
        mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
        assert env["SYNCD_CONFIG"] == f"{mounts['config']}/syncd.toml"
        assert env["CREDENTIALS_DIRECTORY"] == mounts["secrets"]
        assert c["securityContext"]["readOnlyRootFilesystem"] is True
        assert c["securityContext"]["allowPrivilegeEscalation"] is False
        assert c["image"] == "syncd"
    assert "syncd.toml" in config_map["data"]
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True

    port_names = {p["name"] for p in container["ports"]}
    (service_port,) = service["spec"]["ports"]
    assert service_port["targetPort"] in port_names
    assert service["metadata"]["annotations"]["prometheus.io/scrape"] == "true"
    assert int(service["metadata"]["annotations"]["prometheus.io/port"]) == service_port["port"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"]["port"] in port_names
    assert "limits" in container["resources"] and "requests" in container["resources"]
    grace = pod["spec"]["terminationGracePeriodSeconds"]
    assert grace >= shutdown_budget_seconds()


def test_kustomization_lists_everything_but_the_example_secret() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    resources = set(kustomization["resources"])
    assert all((K8S / name).is_file() for name in resources)
    on_disk = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert resources == on_disk - {"secret.example.yaml"}
    assert [image["name"] for image in kustomization["images"]] == ["syncd"]


def test_k8s_secret_holds_exactly_the_secret_settings() -> None:
    secret = k8s_objects()["Secret"]
    assert set(secret["stringData"]) == secret_env_names()


def write_kubelet_secret_volume(directory: Path, data: dict[str, str]) -> None:
    """The layout kubelet gives a Secret volume: ..data -> timestamped dir; keys symlinked."""
    payload = directory / "..2024_01_01_00_00_00.000000001"
    payload.mkdir(parents=True)
    for key, value in data.items():
        (payload / key).write_text(value)
    (directory / "..data").symlink_to(payload.name)
    for key in data:
        (directory / key).symlink_to(f"..data/{key}")


def test_k8s_config_and_secret_load_as_valid_settings(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    objects = k8s_objects()
    config = tmp_path / "syncd.toml"
    config.write_text(objects["ConfigMap"]["data"]["syncd.toml"])
    secrets = tmp_path / "secrets"
    write_kubelet_secret_volume(secrets, objects["Secret"]["stringData"])
    (container,) = objects["Deployment"]["spec"]["template"]["spec"]["containers"]
    for entry in container["env"]:
        clean_env.setenv(entry["name"], entry["value"])
    # The pod's paths, pointed at the local copies.
    clean_env.setenv("SYNCD_CONFIG", str(config))
    clean_env.setenv("CREDENTIALS_DIRECTORY", str(secrets))

    settings = load_settings()
    assert settings.admin_bind == "0.0.0.0:8787"
    assert settings.database_url == objects["Secret"]["stringData"]["SYNCD_DATABASE_URL"]
    assert settings.livevox.password.get_secret_value() == "CHANGE-ME"
    assert settings.livevox.api_version == "v6.0"


# ---------------------------------------------------------------------------- systemd


def unit_service() -> list[tuple[str, str]]:
    return parse_unit(UNIT.read_text())["Service"]


HARDENING = {
    "Type": "notify",
    "User": "syncd",
    "StateDirectory": "syncd",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "NoNewPrivileges": "yes",
    "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes",
    "ProtectKernelLogs": "yes",
    "ProtectControlGroups": "yes",
    "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6",
    "RestrictNamespaces": "yes",
    "RestrictSUIDSGID": "yes",
    "CapabilityBoundingSet": "",
    "LockPersonality": "yes",
    "MemoryDenyWriteExecute": "yes",
    "Restart": "on-failure",
    "EnvironmentFile": "-/etc/syncd/syncd.env",
    "ExecStartPre": "/opt/syncd/bin/syncd db upgrade",
    "ExecStart": "/opt/syncd/bin/syncd run",
}


@pytest.mark.parametrize("key", sorted(HARDENING))
def test_unit_sets(key: str) -> None:
    assert unit_values(unit_service(), key) == [HARDENING[key]]


def test_unit_filters_system_calls_and_watches_the_daemon() -> None:
    service = unit_service()
    assert unit_values(service, "SystemCallFilter")[0] == "@system-service"
    assert not unit_values(service, "DynamicUser")
    assert duration_seconds(unit_values(service, "WatchdogSec")[0]) > 0
    assert duration_seconds(unit_values(service, "TimeoutStopSec")[0]) >= shutdown_budget_seconds()


def test_unit_loads_every_secret_as_a_credential_named_after_its_variable() -> None:
    credentials = dict(v.split(":", 1) for v in unit_values(unit_service(), "LoadCredential"))
    assert set(credentials) == secret_env_names()
    for name, source in credentials.items():
        assert source == f"/etc/syncd/credentials/{name}"


def test_unit_environment_names_exist() -> None:
    names = {v.split("=", 1)[0] for v in unit_values(unit_service(), "Environment")}
    assert names <= settings_env_names() | OTHER_SYNCD_ENV


def env_file_assignments(path: Path) -> dict[str, str]:
    assignments: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            name, sep, value = line.partition("=")
            assert sep, f"not KEY=value: {line!r}"
            assignments[name] = value
    return assignments


def test_env_example_holds_no_secret_and_loads_as_valid_settings(
    clean_env: pytest.MonkeyPatch,
) -> None:
    assignments = env_file_assignments(ENV_EXAMPLE)
    assert not set(assignments) & secret_env_names()
    commented = {m.group(1) for m in re.finditer(r"^#(SYNCD_\w+)=", ENV_EXAMPLE.read_text(), re.M)}
    assert not commented & secret_env_names()
    for name, value in assignments.items():
        clean_env.setenv(name, value)
    settings = load_settings()
    assert settings.admin_bind == assignments["SYNCD_ADMIN_BIND"]


def systemd_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not on PATH (Debian/Ubuntu package: systemd)")
    return path


def systemd_version(analyze: str) -> int:
    out = subprocess.run([analyze, "--version"], capture_output=True, text=True, check=True)
    return int(re.match(r"systemd (\d+)", out.stdout).group(1))  # type: ignore[union-attr]


@pytest.fixture
def verifiable_unit(tmp_path: Path) -> Path:
    """A copy of the unit whose ExecStart binary exists: verify refuses missing commands, and
    /opt/syncd is not installed on a test machine."""
    fake = tmp_path / "bin" / "syncd"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(0o755)
    unit = tmp_path / "syncd.service"
    unit.write_text(UNIT.read_text().replace("/opt/syncd/bin/syncd", str(fake)))
    return unit


def test_unit_passes_systemd_analyze_verify(verifiable_unit: Path) -> None:
    analyze = systemd_tool("systemd-analyze")
    command = [analyze, "verify", "--man=no"]
    if systemd_version(analyze) >= 250:
        # Only our unit's problems fail the test, not those of the host's other units.
        command.append("--recursive-errors=no")
    result = subprocess.run(
        [*command, str(verifiable_unit)],
        capture_output=True,
        text=True,
        env={**os.environ, "SYSTEMD_LOG_LEVEL": "warning"},  # warnings in the message below
        timeout=60,
    )
    ours = [line for line in result.stderr.splitlines() if "syncd.service" in line]
    assert result.returncode == 0 and not ours, result.stderr


def test_unit_exposure_stays_low(verifiable_unit: Path) -> None:
    analyze = systemd_tool("systemd-analyze")
    if systemd_version(analyze) < 250:
        pytest.skip("systemd-analyze security --offline needs systemd 250")
    # --threshold is in tenths: fail above an exposure of 2.0 ("OK" in systemd's scale).
    result = subprocess.run(
        [analyze, "security", "--offline=yes", "--threshold=20", "--no-pager",
         str(verifiable_unit)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_sysusers_entry_is_valid(tmp_path: Path) -> None:
    sysusers = systemd_tool("systemd-sysusers")
    (tmp_path / "etc").mkdir()
    result = subprocess.run(
        [sysusers, f"--root={tmp_path}", "--dry-run", str(SYSUSERS)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Creating user 'syncd'" in result.stdout + result.stderr


def test_admin_script_passes_credentials_without_overriding_the_environment(
    tmp_path: Path,
) -> None:
    etc = tmp_path / "etc"
    (etc / "credentials").mkdir(parents=True)
    (etc / "syncd.env").write_text("SYNCD_ADMIN_BIND=127.0.0.1:9999\n")
    (etc / "credentials" / "SYNCD_LIVEVOX_PASSWORD").write_text("from-credential\n")
    (etc / "credentials" / "SYNCD_ADMIN_TOKEN").write_text("credential-token")
    (etc / "credentials" / "SYNCD_x;touch pwned").write_text("ignored")
    script = ADMIN_SCRIPT.read_text()
    assert "exec runuser -u syncd -- /opt/syncd/bin/syncd" in script
    script = (
        script.replace("/etc/syncd/credentials", str(etc / "credentials"))
        .replace("/etc/syncd/syncd.env", str(etc / "syncd.env"))
        .replace("cd /opt/syncd/app", f"cd {tmp_path}")
        .replace("exec runuser -u syncd -- /opt/syncd/bin/syncd", "exec env")
    )
    (tmp_path / "admin.sh").write_text(script)
    result = subprocess.run(
        ["sh", str(tmp_path / "admin.sh")],
        capture_output=True,
        text=True,
        env={"PATH": os.environ["PATH"], "SYNCD_ADMIN_TOKEN": "from-environment"},
        timeout=30,
        check=True,
    )
    env = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    assert env["SYNCD_LIVEVOX_PASSWORD"] == "from-credential"
    assert env["SYNCD_ADMIN_TOKEN"] == "from-environment"
    assert env["SYNCD_ADMIN_BIND"] == "127.0.0.1:9999"
    assert env["SYNCD_CONFIG"] == "/etc/syncd/syncd.toml"
    assert not (tmp_path / "pwned").exists()


# ---------------------------------------------------------------------------- container


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = pending + line
        pending = ""
        keyword, _, arguments = full.partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
    return instructions


def final_stage() -> list[tuple[str, str]]:
    instructions = dockerfile_instructions()
    last_from = max(i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM")
    return instructions[last_from:]


def test_image_runs_syncd_as_a_non_root_user_on_python_311_slim() -> None:
    instructions = dockerfile_instructions()
    args = dict(a.split("=", 1) for k, a in instructions if k == "ARG" and "=" in a)
    stage = final_stage()
    base = stage[0][1].split()[0]
    assert base.replace("${PYTHON_IMAGE}", args["PYTHON_IMAGE"]) == "python:3.11-slim"
    by_keyword = {k: a for k, a in stage}
    assert json.loads(by_keyword["ENTRYPOINT"]) == ["syncd"]
    assert json.loads(by_keyword["CMD"]) == ["run"]
    user = by_keyword["USER"].replace("${APP_UID}", args["APP_UID"])
    assert all(part.isdigit() and int(part) > 0 for part in user.split(":"))
    assert "SYNCD_ADMIN_BIND=0.0.0.0:8787" in by_keyword["ENV"].split()
    assert re.search(r"\bCMD \[", by_keyword["HEALTHCHECK"])
    assert "/healthz" in by_keyword["HEALTHCHECK"]


def test_dockerignore_lets_every_copied_path_through() -> None:
    allowed = {
        line[1:].rstrip("/")
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.startswith("!")
    }
    copied = [
        arguments.split()[:-1]
        for keyword, arguments in dockerfile_instructions()
        if keyword == "COPY" and not arguments.startswith("--from")
    ]
    assert copied
    for sources in copied:
        assert set(sources) <= allowed, f"COPY {sources} is filtered out by {DOCKERIGNORE.name}"


@contextmanager
def healthz_answering(status: int) -> Iterator[int]:
    """A local HTTP server whose /healthz answers `status`; yields its port."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(status if self.path == "/healthz" else 404)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.mark.parametrize(("status", "healthy"), [(200, True), (503, False)])
def test_image_healthcheck_follows_healthz(status: int, healthy: bool) -> None:
    healthcheck = dict(final_stage())["HEALTHCHECK"]
    command = json.loads(healthcheck[healthcheck.index("CMD") + 3 :].strip())
    assert command[0] == "python"
    with healthz_answering(status) as port:
        result = subprocess.run(
            [sys.executable, *command[1:]],
            capture_output=True,
            env={**os.environ, "SYNCD_ADMIN_BIND": f"0.0.0.0:{port}"},
            timeout=30,
        )
    assert (result.returncode == 0) is healthy, result.stderr


# ---------------------------------------------------------------------------- dashboard


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def all_panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from all_panels(panel.get("panels", []))


def dashboard_queries() -> list[str]:
    board = dashboard()
    queries = [t["expr"] for p in all_panels(board["panels"]) for t in p.get("targets", [])]
    for variable in board["templating"]["list"]:
        query = variable.get("query")
        if variable["type"] == "query":
            queries.append(query["query"] if isinstance(query, dict) else query)
    return queries


def metric_labels(name: str) -> set[str] | None:
    """Labels a series may carry, or None when the name is not one of ours."""
    if name in METRICS:
        return METRICS[name] | TARGET_LABELS
    base, _, suffix = name.rpartition("_")
    if base in HISTOGRAMS and suffix in {"bucket", "count", "sum"}:
        extra = {"le"} if suffix == "bucket" else set()
        return METRICS[base] | TARGET_LABELS | extra
    return None


def check_query(query: str) -> list[str]:
    """Problems in one PromQL query: unknown metrics, or labels a series does not have."""
    problems = []
    stripped = re.sub(r'"(?:[^"\\]|\\.)*"', '""', query)
    stripped = re.sub(r"\$\{?\w+\}?", "", stripped)
    stripped = re.sub(r"\[[^\]]*\]", "", stripped)
    series = set(re.findall(r"\bsyncd_\w+", stripped))
    labels_of_query: set[str] = set()
    for name in series:
        labels = metric_labels(name)
        if labels is None:
            problems.append(f"unknown metric {name}")
            continue
        labels_of_query |= labels
    for name, matchers in re.findall(r"\b(syncd_\w+)\{([^}]*)\}", stripped):
        used = set(re.findall(r"(\w+)\s*(?:=~|!~|!=|=)", matchers))
        if used - (metric_labels(name) or set()):
            problems.append(f"{name} has no label {sorted(used - (metric_labels(name) or set()))}")
    for grouping in re.findall(r"\b(?:by|without)\s*\(([^)]*)\)", stripped):
        grouped = {label.strip() for label in grouping.split(",") if label.strip()}
        if grouped - labels_of_query:
            problems.append(f"grouping by absent labels {sorted(grouped - labels_of_query)}")
    identifiers = set(re.findall(r"(?<![\w.])[A-Za-z_:][\w:]*", stripped))
    vocabulary = PROMQL_WORDS | labels_of_query | series
    problems += [f"unexpected identifier {word}" for word in sorted(identifiers - vocabulary)]
    if stripped.count("(") != stripped.count(")"):
        problems.append("unbalanced parentheses")
    return problems


def test_dashboard_uses_only_the_daemon_metrics() -> None:
    problems = {q: p for q in dashboard_queries() if (p := check_query(q))}
    assert not problems


def test_dashboard_query_check_catches_mistakes() -> None:
    assert check_query("sum(rate(syncd_runs_total[5m]))") == []
    assert check_query("up")
    assert check_query("sum(rate(syncd_rows_pulled{job='x'}[5m]))")
    assert check_query('syncd_dead_letters{state="x"}')
    assert check_query("sum by (endpoint) (syncd_runs_total)")
    assert check_query("sum(rate(syncd_runs_total[5m])")


def test_dashboard_shows_every_metric_and_the_promised_panels() -> None:
    board = dashboard()
    queries = " ".join(dashboard_queries())
    for name in METRICS:
        assert re.search(rf"\b{name}(_bucket|_count|_sum)?\b", queries), f"{name} is not shown"
    for q in ("0.5", "0.95", "0.99"):
        assert f"histogram_quantile({q}," in queries
    panels = list(all_panels(board["panels"]))
    titles = " | ".join(p["title"].lower() for p in panels)
    for wanted in (
        "runs by status", "lag", "push rate by outcome", "outbox depth", "dead letters",
        "latency", "error rate",
    ):  # fmt: skip
        assert wanted in titles, f"no panel for {wanted!r}"
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids))
    for panel in panels:
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
            assert panel["targets"], panel["title"]


# ---------------------------------------------------------------------------- docs


def commands_in_guide(text: str) -> set[str]:
    """`syncd <command>` in inline code and on the command lines of code blocks."""
    command = r"(?:/opt/syncd/bin/)?syncd(?:-admin)? ([a-z]+(?: upgrade| check)?)(?=[\s`]|$)"
    found = set(re.findall(rf"`{command}", text))
    in_block = False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            in_block = not in_block
        elif in_block and not line.lstrip().startswith("#"):
            # A command word: first on the line (after sudo), after `--`, or after `exec X`.
            start = r"(?:^\s*(?:sudo\s+)?|--\s+|\bexec\s+\S+\s+)"
            found |= set(re.findall(rf"{start}{command}", line))
    return found


def test_operations_guide_names_only_contract_commands_and_metrics() -> None:
    text = OPERATIONS.read_text()
    mentioned = commands_in_guide(text)
    assert {"db upgrade", "run", "status", "audit", "resync"} <= mentioned
    assert mentioned <= CLI_COMMANDS, mentioned - CLI_COMMANDS
    for name in set(re.findall(r"\bsyncd_[a-z_]+\b", text)):
        assert metric_labels(name) is not None or name in {
            "syncd_analyst",  # the read-only database role, not a metric
        }, f"the guide names an unknown metric {name}"
