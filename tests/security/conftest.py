"""Fixtures for the attack tests."""

from tests.executors.conftest import bwrap_ok, docker_ok  # noqa: F401 - availability fixtures, re-exported
