"""Where agents' commands run: docker (container per agent), sandbox (bubblewrap) or local.

Start one with :func:`start_executor` (it falls back down the chain when one is unavailable) and
remove crash leftovers at start-up with :func:`cleanup_leftovers`.
"""

from kwaak.executors.base import ExecResult, Executor, ExecutorKind
from kwaak.executors.cleanup import cleanup_containers, cleanup_leftovers
from kwaak.executors.factory import start_executor

__all__ = ["ExecResult", "Executor", "ExecutorKind", "cleanup_containers", "cleanup_leftovers", "start_executor"]
