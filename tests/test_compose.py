"""compose.yaml, checked without a Docker engine: structure, dependencies, that every
``SHIPDOC_*`` variable is a real setting and parses, and that each command is one the
``shipdoc`` CLI accepts."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml

from app.cli import app as cli_app
from core.settings import Settings
from workers.celery_app import QUEUES

COMPOSE = Path(__file__).resolve().parents[1] / "compose.yaml"
_VAR = re.compile(r"\$\{([A-Z0-9_]+)(?::([?-])([^}]*))?\}")
GIVEN = {"POSTGRES_PASSWORD": "pw", "SHIPDOC_SECRET_KEY": "s3cret", "GRAFANA_ADMIN_PASSWORD": "g"}


def _interpolate(value: Any, env: dict[str, str]) -> Any:
    """Compose's ``${VAR}``, ``${VAR:-default}`` and ``${VAR:?error}``."""
    if isinstance(value, dict):
        return {k: _interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def sub(match: re.Match[str]) -> str:
        name, op, arg = match.groups()
        if env.get(name):
            return env[name]
        if op == "?":
            raise KeyError(f"{name}: {arg}")
        return arg or ""

    return _VAR.sub(sub, value)


@pytest.fixture
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return dict(_interpolate(data, GIVEN))


def test_required_variables_are_enforced() -> None:
    data = yaml.safe_load(COMPOSE.read_text())
    with pytest.raises(KeyError, match="SHIPDOC_SECRET_KEY"):
        _interpolate(data, {"POSTGRES_PASSWORD": "pw"})


def test_services_and_dependencies(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {
        "postgres", "redis", "qdrant", "vllm", "embeddings", "migrate", "api",
        "worker-extract", "worker-interactive", "worker-kb", "worker-webhooks", "beat",
        "prometheus", "grafana", "otel-collector",
    }  # fmt: skip
    for name, service in services.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in services, (name, dependency)
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            assert source.startswith(("/", ".")) or source in compose["volumes"], volume
    assert services["api"]["depends_on"]["migrate"]["condition"] == (
        "service_completed_successfully"
    )


def test_vllm_serves_the_72b_awq_model_with_hermes_tool_calls_on_two_gpus(
    compose: dict[str, Any],
) -> None:
    vllm = compose["services"]["vllm"]
    args = vllm["command"]
    assert args[args.index("--model") + 1] == "Qwen/Qwen2.5-72B-Instruct-AWQ"
    assert args[args.index("--tool-call-parser") + 1] == "hermes"
    assert "--enable-auto-tool-choice" in args
    assert args[args.index("--tensor-parallel-size") + 1] == "2"
    [gpus] = vllm["deploy"]["resources"]["reservations"]["devices"]
    assert gpus["count"] == 2 and gpus["capabilities"] == ["gpu"]
    served = args[args.index("--served-model-name") + 1]
    assert compose["services"]["api"]["environment"]["SHIPDOC_MODEL__NAME"] == served


def _settings_from(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    for key in list(os.environ):
        if key.startswith("SHIPDOC_"):
            monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, str(value))
    return Settings(_env_file=None)  # type: ignore[call-arg]


def _is_setting(name: str) -> bool:
    parts = name.removeprefix("SHIPDOC_").lower().split("__")
    fields: Any = Settings.model_fields
    for part in parts:
        if part not in fields:
            return False
        annotation = fields[part].annotation
        fields = getattr(annotation, "model_fields", {})
    return True


def test_every_shipdoc_variable_is_a_setting_and_production_settings_load(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    env = compose["services"]["api"]["environment"]
    unknown = [k for k in env if k.startswith("SHIPDOC_") and not _is_setting(k)]
    # SHIPDOC_QDRANT_URL is the documented short form of SHIPDOC_KB__QDRANT_URL.
    assert unknown == ["SHIPDOC_QDRANT_URL"], unknown
    settings = _settings_from(env, monkeypatch)
    assert settings.environment == "production"
    assert settings.database_url == "postgresql://shipdoc:pw@postgres:5432/shipdoc"
    assert settings.service.broker_url == "redis://redis:6379/0"
    assert settings.kb.qdrant_url == "http://qdrant:6333"
    assert settings.kb.embedder == "openai" and settings.kb.embeddings_model == "BAAI/bge-m3"
    assert settings.model.backend == "openai"
    assert settings.model.base_url == "http://vllm:8000/v1"
    assert settings.service.visibility_timeout_s > settings.agent.max_seconds


def test_each_worker_serves_one_queue_and_all_queues_are_served(compose: dict[str, Any]) -> None:
    click_app = typer.main.get_command(cli_app)
    served = []
    for name, service in compose["services"].items():
        command = service.get("command")
        if not command or command[0] != "shipdoc":
            continue
        root = click_app.make_context("shipdoc", list(command[1:]))
        sub = click_app.get_command(root, command[1])  # type: ignore[attr-defined]
        assert sub is not None, command
        ctx = sub.make_context(command[1], list(command[2:]), parent=root)  # args accepted
        if name.startswith("worker-"):
            served.append(ctx.params["queues"])
    assert sorted(served) == sorted(QUEUES)


def _stages(dockerfile: str) -> list[list[str]]:
    """Instructions per build stage, continuation lines joined."""
    joined = re.sub(r"\\\n\s*", " ", dockerfile)
    stages: list[list[str]] = []
    for line in (x.strip() for x in joined.splitlines()):
        if line.startswith("FROM "):
            stages.append([line])
        elif line and not line.startswith("#"):
            stages[-1].append(line)
    return stages


def test_the_image_installs_the_wheel_not_the_checkout(compose: dict[str, Any]) -> None:
    build = compose["services"]["api"]["build"]
    assert build["context"] == "."
    builder, final = _stages(build["dockerfile_inline"])
    stage = builder[0].split()[-1]
    assert builder[0].startswith("FROM python:3.11") and " AS " in builder[0]
    # the same build as tests/test_wheel.py smoke-tests
    assert any(
        i.startswith("RUN pip wheel") and "--no-deps" in i and i.endswith(" .") for i in builder
    )
    assert f"COPY --from={stage} /dist /dist" in final
    install = next(i for i in final if i.startswith("RUN pip install"))
    assert "/dist/shipdoc-*.whl" in install and "rm -rf /dist" in install
    # no source in the running image: only the installed wheel can be imported
    assert not any(i.startswith(("COPY .", "ADD .")) for i in final)
    assert not any("PYTHONPATH" in i or "pip install -e" in i for i in final)
    workdir = next(i for i in final if i.startswith("WORKDIR"))
    assert workdir.split()[1] == compose["services"]["api"]["environment"]["SHIPDOC_VAR_DIR"]
    assert any(i.startswith("USER ") and "root" not in i for i in final)
    for name, service in compose["services"].items():
        if "build" in service:
            assert service["build"] == build, f"{name} builds another image"


def test_the_build_context_leaves_out_local_state() -> None:
    ignored = set((COMPOSE.parent / ".dockerignore").read_text().split())
    assert {".git", ".venv", "var", ".env"} <= ignored


def test_required_secrets_are_enforced_one_by_one() -> None:
    data = yaml.safe_load(COMPOSE.read_text())
    for name in GIVEN:
        with pytest.raises(KeyError, match=name):
            _interpolate(data, {k: v for k, v in GIVEN.items() if k != name})


def test_migrations_run_before_every_shipdoc_process(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        command = service.get("command") or []
        if command[:1] != ["shipdoc"] or name == "migrate":
            continue
        migrate = service["depends_on"]["migrate"]
        assert migrate["condition"] == "service_completed_successfully", name
        assert service["depends_on"]["redis"]["condition"] == "service_healthy", name
    assert compose["services"]["migrate"]["command"] == ["shipdoc", "db", "upgrade"]


def test_workers_are_health_gated_on_their_warm_up(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    services = compose["services"]
    settings = _settings_from(services["api"]["environment"], monkeypatch)
    port = settings.telemetry.worker_metrics_port
    assert port and settings.telemetry.warmup == "block"
    for name in ("worker-extract", "worker-interactive", "worker-kb"):
        check = " ".join(services[name]["healthcheck"]["test"])
        assert f"localhost:{port}/metrics" in check and "shipdoc_worker_ready{" in check, name
    for name in ("worker-extract", "worker-interactive"):
        assert services[name]["depends_on"]["vllm"]["condition"] == "service_healthy"
    assert "healthcheck" in services["api"] and "healthcheck" in services["postgres"]


def test_prometheus_and_grafana_get_the_rules_and_the_dashboard(compose: dict[str, Any]) -> None:
    services = compose["services"]
    root = COMPOSE.parent
    prom = services["prometheus"]
    mounts = {v.split(":")[1]: v.split(":")[0] for v in prom["volumes"]}
    config_dir = root / mounts["/etc/prometheus"]
    config = yaml.safe_load((config_dir / "prometheus.yml").read_text())
    [rules] = config["rule_files"]
    assert rules.startswith("/etc/prometheus/") and (config_dir / Path(rules).name).is_file()
    targets = {
        t for job in config["scrape_configs"] for c in job["static_configs"] for t in c["targets"]
    }
    port = compose["services"]["api"]["environment"]["SHIPDOC_TELEMETRY__WORKER_METRICS_PORT"]
    for name in services:
        if name.startswith("worker-"):
            assert f"{name}:{port}" in targets, name
    assert "api:8000" in targets and "vllm:8000" in targets
    grafana = services["grafana"]
    gmounts = {v.split(":")[1]: v.split(":")[0] for v in grafana["volumes"]}
    provisioning = root / gmounts["/etc/grafana/provisioning"]
    provider = yaml.safe_load((provisioning / "dashboards" / "shipdoc.yml").read_text())
    [path] = [p["options"]["path"] for p in provider["providers"]]
    assert (root / gmounts[path] / "shipdoc.json").is_file()
    datasource = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())
    assert datasource["datasources"][0]["url"] == "http://prometheus:9090"
    assert grafana["depends_on"]["prometheus"]["condition"] == "service_healthy"
    assert compose["services"]["beat"]["command"] == ["shipdoc", "beat"]
