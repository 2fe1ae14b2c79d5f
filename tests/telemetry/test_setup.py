"""``setup_tracing``: service name, sanitizing, the missing-extra error."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from kwaak import telemetry
from kwaak.config import Config
from kwaak.errors import ConfigError
from kwaak.otel import MAX_ATTRIBUTE_CHARS, AttributeSanitizer, service_name, setup_tracing
from tests.cli.conftest import SCRIPTED_CONFIG, assert_one_error
from tests.conftest import git
from tests.telemetry.conftest import Traced


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, "kwaak"),
        ({"OTEL_SERVICE_NAME": "mine", "OTEL_RESOURCE_ATTRIBUTES": "service.name=other"}, "mine"),
        ({"OTEL_RESOURCE_ATTRIBUTES": "team=x, service.name = kwaak%20dev ,a=b"}, "kwaak dev"),
        ({"OTEL_SERVICE_NAME": " ", "OTEL_RESOURCE_ATTRIBUTES": "service.name="}, "kwaak"),
    ],
)
def test_service_name(environ: dict[str, str], expected: str) -> None:
    assert service_name(environ) == expected


def test_sanitizer_masks_secrets_and_caps_length() -> None:
    clean = AttributeSanitizer(["sk-abc123", "sk-abc123-longer"]).clean
    assert clean("key sk-abc123-longer and sk-abc123") == "key **** and ****"
    assert clean(42) == 42 and clean(True) is True and clean(1.5) == 1.5
    long = clean("y" * 10_000)
    assert isinstance(long, str) and len(long) == MAX_ATTRIBUTE_CHARS and long.endswith("…")
    # A secret straddling the cut is masked before cutting, so no prefix of it survives.
    straddling = clean("z" * (MAX_ATTRIBUTE_CHARS - 5) + "sk-abc123-longer")
    assert isinstance(straddling, str) and "sk-a" not in straddling


def test_span_attributes_set_later_are_sanitized(traced: Callable[..., Traced]) -> None:
    trace = traced(secrets=["tavily-secret-value"])
    with telemetry.span("tool.web", query="find tavily-secret-value") as span:
        span.set_attribute("output", "content\n" * 1_000)
        span.set_attribute("count", 3)
    trace.shutdown()
    (tool,) = [s for s in trace.spans() if s.name == "tool.web"]
    assert tool.attributes is not None
    assert tool.attributes["query"] == "find ****"
    assert len(str(tool.attributes["output"])) == MAX_ATTRIBUTE_CHARS
    assert tool.attributes["count"] == 3


def test_disabled_is_a_no_op(make_config: Callable[..., Config]) -> None:
    assert setup_tracing(make_config()) is None


def test_missing_extra_is_a_config_error(make_config: Callable[..., Config], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry.exporter.otlp.proto.http.trace_exporter", None)
    with pytest.raises(ConfigError) as info:
        setup_tracing(make_config(otel_enabled=True))
    assert info.value.message == "otel_enabled = true needs the OpenTelemetry packages"
    assert info.value.hint == "pip install 'kwaak[otel]'"


BLOCK_OTEL = "import sys; sys.modules['opentelemetry.sdk.trace'] = None; from kwaak.cli import main; main()"


def test_missing_extra_from_the_cli(tmp_git_repo: Path) -> None:
    """A real `kwaak print-config` in an interpreter where the SDK cannot be imported."""
    cfg = SCRIPTED_CONFIG.format(cache=tmp_git_repo.parent / "cache", logs=tmp_git_repo.parent / "logs")
    (tmp_git_repo / "kwaak.toml").write_text("otel_enabled = true\n" + cfg)
    git(tmp_git_repo, "add", "kwaak.toml")
    git(tmp_git_repo, "commit", "-q", "-m", "kwaak.toml")
    proc = subprocess.run(
        [sys.executable, "-c", BLOCK_OTEL, "print-config"],
        cwd=tmp_git_repo,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert_one_error(proc, "otel_enabled = true needs the OpenTelemetry packages", code=2)
    assert "pip install 'kwaak[otel]'" in proc.stderr
    assert "OpenTelemetry tracing enabled" not in proc.stderr
