"""docker-compose.yml cannot run here (no Docker engine), so it is checked as data: every service,
what it waits for, the environment the app reads, no secret literals, ports from variables, and
every search attribute created on start. With Debian's docker-compose on PATH, also
`docker-compose config -q` with deploy/ci.env's dummy values."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from config import Landlord, Settings, WorkerTuning
from workflows.search_attributes import ALL

REPO = Path(__file__).resolve().parent.parent
COMPOSE_FILE = REPO / "docker-compose.yml"
CI_ENV = REPO / "deploy" / "ci.env"

SERVICES = {
    "postgresql",
    "temporal-schema",
    "temporal",
    "temporal-init",
    "temporal-ui",
    "worker",
    "admin",
}
# Read by the admin app only; the worker need not have them.
ADMIN_ONLY = {"ADMIN_SECRET_KEY", "ADMIN_HOST", "ADMIN_PORT"}
WORKER_ONLY = {  # the worker's Prometheus endpoint (and health check), and its tuning
    "METRICS_ADDRESS",
    *(f"WORKER_{field.upper()}" for field in WorkerTuning.model_fields),
}
# Read by the app's codec too (the payload keys).
EXTRA_APP_ENV = {"PAYLOAD_KEYS"}
# published on ${BIND_ADDRESS} (loopback by default) at a port from a variable
PUBLISHED = re.compile(r"\$\{BIND_ADDRESS:-127\.0\.0\.1\}:\$\{[A-Z_]+_PORT:-\d+\}")
SECRET_NAME = re.compile(r"(_KEY$|_KEYS$|PASSWORD|PWD|SECRET|TOKEN)")
REQUIRED_REF = re.compile(r"^\$\{([A-Z][A-Z0-9_]*):\?[^}]+\}$")
VAR_REF = re.compile(r"\$\{([A-Z][A-Z0-9_]*)(?::?([-?])([^}]*))?\}")


def interpolate(value: str) -> str:
    """A compose value with every ${X:-default} as its default and every required ${X:?...} as
    a dummy, as with an .env holding only the secrets."""
    return VAR_REF.sub(lambda m: m[3] if m[2] == "-" else "dummy", value)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    return compose["services"]


def env_of(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    assert isinstance(env, dict), "write environment as a mapping"
    return {k: "" if v is None else str(v) for k, v in env.items()}


def depends(service: dict[str, Any]) -> dict[str, str]:
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return dict.fromkeys(deps, "service_started")
    return {name: (spec or {}).get("condition", "service_started") for name, spec in deps.items()}


def app_env_vars() -> set[str]:
    """Every variable the settings read (one a field, so a new setting shows up here), and the
    landlord's details."""
    nested = ("landlord", "worker")
    names = {field.upper() for field in Settings.model_fields if field not in nested}
    names |= {f"LANDLORD_{field.upper()}" for field in Landlord.model_fields}
    names |= {f"WORKER_{field.upper()}" for field in WorkerTuning.model_fields}
    assert {"TEMPORAL_ADDRESS", "DATABASE_URL", "ADMIN_SECRET_KEY"} <= names
    return names | EXTRA_APP_ENV


def test_every_service_is_there(services: dict[str, Any]) -> None:
    assert set(services) >= SERVICES


def test_dependencies(services: dict[str, Any]) -> None:
    assert depends(services["temporal-schema"]) == {"postgresql": "service_healthy"}
    assert depends(services["temporal"]) == {
        "postgresql": "service_healthy",
        "temporal-schema": "service_completed_successfully",
    }
    assert depends(services["temporal-init"]) == {"temporal": "service_healthy"}
    assert depends(services["temporal-ui"]).get("temporal") in {
        "service_healthy",
        "service_started",
    }
    for name in ("worker", "admin"):
        deps = depends(services[name])
        assert deps["postgresql"] == "service_healthy", name
        assert deps["temporal"] in {"service_healthy", "service_started"}, name
        # search attributes exist before any workflow upserts them
        assert deps["temporal-init"] == "service_completed_successfully", name
    assert "pg_isready" in str(services["postgresql"]["healthcheck"]["test"])
    assert services["temporal"]["healthcheck"]["test"]


def test_images_are_official_and_pinned_by_variables(services: dict[str, Any]) -> None:
    expected = {
        "postgresql": "postgres:${POSTGRESQL_VERSION:-",
        "temporal-schema": "temporalio/admin-tools:${TEMPORAL_ADMINTOOLS_VERSION:-",
        "temporal": "temporalio/server:${TEMPORAL_VERSION:-",
        "temporal-init": "temporalio/admin-tools:${TEMPORAL_ADMINTOOLS_VERSION:-",
        "temporal-ui": "temporalio/ui:${TEMPORAL_UI_VERSION:-",
    }
    for name, prefix in expected.items():
        assert services[name]["image"].startswith(prefix), name
    for name in ("worker", "admin"):
        assert services[name]["build"] == ".", name


def test_temporal_uses_postgresql(services: dict[str, Any]) -> None:
    env = env_of(services["temporal"])
    assert env["DB"] == "postgres12"
    assert env["POSTGRES_SEEDS"] == "postgresql"
    assert env["POSTGRES_PWD"] == env_of(services["postgresql"])["POSTGRES_PASSWORD"]
    config = env["DYNAMIC_CONFIG_FILE_PATH"].removeprefix("config/dynamicconfig/")
    assert (REPO / "deploy" / "temporal" / "dynamicconfig" / config).is_file()


def test_worker_and_admin_environment(services: dict[str, Any]) -> None:
    wanted = app_env_vars()
    worker, admin = env_of(services["worker"]), env_of(services["admin"])
    assert wanted - WORKER_ONLY <= set(admin), sorted(wanted - WORKER_ONLY - set(admin))
    assert wanted - ADMIN_ONLY <= set(worker), sorted(wanted - ADMIN_ONLY - set(worker))
    assert services["worker"]["command"] == ["python", "-m", "worker"]
    assert services["admin"]["command"] == ["python", "-m", "admin"]
    for env in (worker, admin):
        assert env["APP_ENV"] == "production"
        assert env["TEMPORAL_ADDRESS"] == "temporal:7233"
        assert env["DATABASE_URL"].startswith("postgresql+psycopg://")
        assert "@postgresql:5432/" in env["DATABASE_URL"]
    assert admin["ADMIN_HOST"] == "0.0.0.0"
    assert "/healthz" in str(services["admin"]["healthcheck"]["test"])
    # Settings accepts what compose passes (placeholders filled as the CI env would)
    filled = {k: interpolate(v) for k, v in admin.items()}
    assert Settings.from_env(filled).production


def test_no_secret_literals(compose: dict[str, Any], services: dict[str, Any]) -> None:
    checked = 0
    for name, service in services.items():
        for key, value in env_of(service).items():
            if SECRET_NAME.search(key):
                checked += 1
                assert REQUIRED_REF.match(value), f"{name}.{key} must be ${{{key}:?...}}"
            if key == "DATABASE_URL":
                password = re.search(r"://\$\{[^}]+\}:(\$\{[^}]+\})@", value)
                assert password, f"{name}.DATABASE_URL: user and password from variables"
                assert REQUIRED_REF.match(password[1]), f"{name}.DATABASE_URL password"
    assert checked >= 6
    text = COMPOSE_FILE.read_text()
    for line in (REPO / "deploy" / "ci.env").read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            assert line.split("=", 1)[1] not in text, "a CI dummy value leaked into compose"


def test_ports_come_from_variables(services: dict[str, Any]) -> None:
    published = 0
    for name, service in services.items():
        for port in service.get("ports", []):
            published += 1
            host = str(port).rsplit(":", 1)[0]
            assert PUBLISHED.fullmatch(host), f"{name}: {port}"
    assert published >= 3
    assert "ports" not in services["postgresql"]


def test_ui_decodes_through_the_admin_app(services: dict[str, Any]) -> None:
    env = env_of(services["temporal-ui"])
    assert env["TEMPORAL_ADDRESS"] == "temporal:7233"
    assert env["TEMPORAL_CODEC_ENDPOINT"].startswith("${PUBLIC_BASE_URL")
    assert env["TEMPORAL_CODEC_ENDPOINT"].endswith("}/codec")
    assert env["TEMPORAL_CODEC_INCLUDE_CREDENTIALS"] == "true"
    assert env["TEMPORAL_CORS_ORIGINS"]


def test_every_search_attribute_is_created_on_start(services: dict[str, Any]) -> None:
    init = services["temporal-init"]
    pairs = dict(p.split("=", 1) for p in env_of(init)["SEARCH_ATTRIBUTES"].split())
    ours = {key.name: key.indexed_value_type.name.title() for key in ALL}
    assert pairs == ours
    script = REPO / "deploy" / "temporal" / "init.sh"
    assert f"{script.relative_to(REPO)}:/deploy/init.sh" in " ".join(init["volumes"]).replace(
        "./", ""
    )
    assert "search-attribute create" in script.read_text()


def compose_duration(value: str) -> timedelta:
    """A compose duration such as `2m30s` or `90s`."""
    match = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?", value)
    assert match and value, f"not a duration: {value!r}"
    hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return timedelta(hours=hours, minutes=minutes, seconds=seconds)


def test_the_worker_is_stopped_gracefully(services: dict[str, Any]) -> None:
    """SIGTERM, and time to finish running activities before Docker's SIGKILL (issue 9)."""
    from worker.__main__ import GRACEFUL_SHUTDOWN_TIMEOUT

    worker = services["worker"]
    assert worker["stop_signal"] == "SIGTERM"
    assert compose_duration(str(worker["stop_grace_period"])) > GRACEFUL_SHUTDOWN_TIMEOUT


def test_deploy_files_exist() -> None:
    for path in (
        "Dockerfile",
        ".dockerignore",
        "deploy/postgres/10-records-db.sh",
        "deploy/temporal/setup-schema.sh",
        "deploy/temporal/init.sh",
        "deploy/ci.env",
    ):
        assert (REPO / path).is_file(), path
    dockerfile = (REPO / "Dockerfile").read_text()
    assert "FROM python:3.11-slim" in dockerfile
    assert "pip install -r /tmp/requirements.lock" in dockerfile
    assert "pip install --no-deps" in dockerfile
    assert re.search(r"^USER (?!root)\w+", dockerfile, re.M)
    assert "HEALTHCHECK" in dockerfile and "/healthz" in dockerfile


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose not installed")
def test_docker_compose_config_is_valid() -> None:
    result = subprocess.run(
        ["docker-compose", "-f", str(COMPOSE_FILE), "--env-file", str(CI_ENV), "config", "-q"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose not installed")
def test_docker_compose_refuses_a_missing_secret(tmp_path: Path) -> None:
    partial = tmp_path / "partial.env"
    partial.write_text(
        "\n".join(
            line for line in CI_ENV.read_text().splitlines() if not line.startswith("ADMIN_SECRET")
        )
    )
    result = subprocess.run(
        ["docker-compose", "-f", str(COMPOSE_FILE), "--env-file", str(partial), "config", "-q"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "set ADMIN_SECRET_KEY in .env" in result.stderr
