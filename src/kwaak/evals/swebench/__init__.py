"""The SWE-bench harness (``kwaak eval swe-bench``)."""

from kwaak.evals.swebench.grade import LocalGrade, grade_locally
from kwaak.evals.swebench.harness import Harness, SweOptions, SweSummary, finished_ids, summary_lines
from kwaak.evals.swebench.instances import Instance, load_instances, prepare_repository

__all__ = [
    "Harness",
    "Instance",
    "LocalGrade",
    "SweOptions",
    "SweSummary",
    "finished_ids",
    "grade_locally",
    "load_instances",
    "prepare_repository",
    "summary_lines",
]
