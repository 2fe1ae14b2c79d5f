"""Evaluations: statistical unit tests of the agent's tools and pipelines, and the SWE-bench harness.

* :mod:`kwaak.evals.patch_eval`: ``kwaak eval patch`` (the editing tools on a long Python file);
* :mod:`kwaak.evals.ragas`: ``kwaak eval ragas`` (a RAGAS dataset from the query pipeline);
* :mod:`kwaak.evals.swebench`: ``kwaak eval swe-bench`` (SWE-bench predictions, resumable, parallel).

All of them drive the real engine in-process through :func:`kwaak.evals.runner.run_headless_agent`.
"""
