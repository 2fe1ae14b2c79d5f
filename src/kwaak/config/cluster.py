"""``[cluster]``: running ``kwaak batch`` on a Ray cluster (ours; see ``docs/cluster.md``)."""

from __future__ import annotations

from pydantic import Field, field_validator

from kwaak.config.base import ConfigModel


class ClusterConfig(ConfigModel):
    """Where and how ``kwaak batch --cluster`` schedules its tasks (each task is one Ray task)."""

    address: str | None = None
    """The Ray cluster: ``ray://HOST:10001`` (Ray Client), ``HOST:6379`` (a node of the cluster) or
    ``auto`` (``RAY_ADDRESS``, else a cluster started on this machine). ``--cluster`` overrides it."""
    num_cpus: float = Field(default=1.0, gt=0)
    """CPUs Ray reserves for each task (the agent's tool calls, e.g. its test runs, use them)."""
    memory_mb: int | None = Field(default=None, gt=0)
    """Memory Ray reserves for each task, in MiB (none by default)."""
    resources: dict[str, float] = Field(default_factory=dict)
    """Custom Ray resources each task needs, e.g. ``{ docker = 1 }`` so tasks run only on nodes started
    with ``ray start --resources='{"docker": 4}'``."""
    max_retries: int = Field(default=2, ge=0, le=10)
    """Times Ray re-runs a task whose worker or node died (on another node when it has room); then
    the task is reported failed with the reason."""
    secret_env: tuple[str, ...] = ()
    """More environment variables to hand to the workers through the job's runtime environment (the
    configured API keys always are); never put in task arguments."""

    @field_validator("resources")
    @classmethod
    def _positive(cls, value: dict[str, float]) -> dict[str, float]:
        for name, amount in value.items():
            if amount <= 0:
                msg = f"resource {name!r} must be positive, got {amount}"
                raise ValueError(msg)
        return value
