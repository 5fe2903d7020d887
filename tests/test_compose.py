"""docker-compose.yml, as ``docker-compose config`` resolves it (no Docker engine needed).

Deployment is PostgreSQL 16, Redis 7 and two app replicas (so that the Redis
fan-out is the path actually deployed), each with a health check; the app's
environment must use the settings that ``carnet.config`` reads.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import msgspec
import pytest
import yaml

from carnet.config import Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent
DUMMY_SECRET = "compose-test-dummy-secret-not-for-production"
REQUIRED = {"CARNET_DATABASE_URL", "CARNET_REDIS_URL", "CARNET_SECRET_KEY", "CARNET_BASE_URL"}


def _compose(*args: str, secret: str | None = DUMMY_SECRET) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("docker-compose")
    if exe is None:
        pytest.fail(
            "docker-compose is not installed: `.ci/run` installs it "
            "(Debian: apt-get install docker-compose); it validates without a Docker engine"
        )
    # Only what the test sets: neither the caller's environment nor a local
    # .env file (docker-compose reads one by default) may change the outcome.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CARNET_", "COMPOSE_"))}
    if secret is not None:
        env["CARNET_SECRET_KEY"] = secret
    with tempfile.NamedTemporaryFile("w", suffix=".env") as empty_env_file:
        command = [exe, "--project-directory", str(ROOT), "--env-file", empty_env_file.name]
        return subprocess.run(
            [*command, "-f", str(ROOT / "docker-compose.yml"), *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    result = _compose("config")
    assert result.returncode == 0, result.stderr
    parsed = yaml.safe_load(result.stdout)
    assert isinstance(parsed, dict)
    return parsed


def _app_services(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Services that run the Carnet image (built from the Dockerfile)."""
    return {name: svc for name, svc in config["services"].items() if "build" in svc}


def _replicas(service: dict[str, Any]) -> int:
    return int(service.get("deploy", {}).get("replicas", 1))


def test_config_is_valid_quietly() -> None:
    result = _compose("config", "-q")
    assert result.returncode == 0, result.stderr


def test_secret_key_is_required() -> None:
    result = _compose("config", "-q", secret=None)
    assert result.returncode != 0
    assert "CARNET_SECRET_KEY" in result.stderr


def test_postgres_16_and_redis_7_with_healthchecks(config: dict[str, Any]) -> None:
    services = config["services"]
    postgres = services["postgres"]
    assert postgres["image"] == "postgres:16"
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    # A named volume (declared at the top level) holds the data, not the container.
    sources = [v.split(":")[0] if isinstance(v, str) else v["source"] for v in postgres["volumes"]]
    assert set(sources) & set(config["volumes"]), postgres["volumes"]
    redis = services["redis"]
    assert redis["image"] == "redis:7"
    assert "redis-cli ping" in " ".join(redis["healthcheck"]["test"])


def test_app_runs_as_two_replicas_with_healthchecks(config: dict[str, Any]) -> None:
    apps = _app_services(config)
    assert sum(_replicas(svc) for svc in apps.values()) >= 2, sorted(apps)
    for name, svc in apps.items():
        assert "/readyz" in " ".join(svc["healthcheck"]["test"]), name
        for dependency in ("postgres", "redis"):
            assert svc["depends_on"][dependency]["condition"] == "service_healthy", name


def test_app_environment_matches_settings(config: dict[str, Any]) -> None:
    known = {f"CARNET_{field.upper()}" for field in Settings.__struct_fields__}
    for name, svc in _app_services(config).items():
        env: dict[str, str] = svc["environment"]
        carnet_env = {k: v for k, v in env.items() if k.startswith("CARNET_")}
        assert not carnet_env.keys() - known, f"{name}: not read by carnet.config"
        assert carnet_env.keys() >= REQUIRED, f"{name}: missing {REQUIRED - carnet_env.keys()}"
        # Every value is one that load_settings accepts (it raises otherwise) and uses.
        settings = msgspec.structs.asdict(load_settings(carnet_env))
        for key, value in carnet_env.items():
            loaded = settings[key.removeprefix("CARNET_").lower()]
            if isinstance(loaded, str):
                assert loaded == value.strip().rstrip("/"), (name, key)
        assert "@postgres:" in settings["database_url"]
        assert "//redis:" in settings["redis_url"]
        assert settings["secret_key"] == DUMMY_SECRET
