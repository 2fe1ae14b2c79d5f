"""``kwaak eval patch | ragas | swe-bench``: evaluations of the tools, the query pipeline and the agent.

Exit codes: 0 when every iteration / instance succeeded (ran, for SWE-bench), 1 otherwise, 2 for
usage and configuration errors.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, Protocol

from kwaak.config import Config
from kwaak.errors import UsageError

Which = Literal["patch", "ragas", "swe-bench"]


class App(Protocol):
    """What the evaluations need from the CLI's application context."""

    config: Config
    repo_root: Path
    skip_indexing: bool


def run(app: App, *, which: Which, **options: Any) -> int:
    """Run one evaluation and return the exit code."""
    if which == "patch":
        return run_patch(app, iterations=options.get("iterations", 1), output=options.get("output") or Path("evals"))
    if which == "ragas":
        return run_ragas(
            app,
            output=options["output"],
            input=options.get("input"),
            questions=options.get("questions") or (),
            record_ground_truth=bool(options.get("record_ground_truth")),
        )
    return run_swe_bench(app, **options)


def run_patch(app: App, *, iterations: int, output: Path) -> int:
    """``eval patch -i N``: 0 when every iteration produced the expected change."""
    from kwaak.evals.patch_eval import run_patch_eval

    summary = asyncio.run(run_patch_eval(app.config, iterations=iterations, output=output))
    return 0 if summary.successes == len(summary.iterations) else 1


def run_ragas(
    app: App, *, output: Path, input: Path | None, questions: Sequence[str], record_ground_truth: bool
) -> int:
    """``eval ragas``: answer the questions and write the dataset to ``output``."""
    from kwaak.evals.ragas import from_questions, load_dataset, write_dataset

    if input is None and not questions:
        msg = "`eval ragas` needs questions: a dataset with -i FILE or one or more -q QUESTION"
        raise UsageError(msg, hint='e.g. kwaak eval ragas -q "How does indexing work?" -o ragas.json')
    records = load_dataset(input) if input is not None else from_questions(questions)
    answered = asyncio.run(_ragas(app, records, record_ground_truth=record_ground_truth))
    write_dataset(answered, output)
    print(f"Wrote {len(answered)} records to {output}")
    return 0


async def _ragas(app: App, records: list[Any], *, record_ground_truth: bool) -> list[Any]:
    from rich.console import Console

    from kwaak.commands.index_op import open_index
    from kwaak.evals.ragas import answer_all
    from kwaak.index.cli_support import load_embedder, load_model

    model = load_model(app.config, "query")
    embedder, _ = load_embedder(app.config)
    try:
        index = await open_index(app, embedder=embedder, refresh=not app.skip_indexing, console=Console(stderr=True))
        try:
            return await answer_all(
                records, index=index, model=model, config=app.config, record_ground_truth=record_ground_truth
            )
        finally:
            await index.close()
    finally:
        await model.aclose()
        if embedder is not None:
            await embedder.aclose()


def run_swe_bench(
    app: App,
    *,
    instances: Path,
    output: Path,
    parallel: int = 1,
    timeout: float | None = None,
    max_steps: int | None = None,
    max_cost: float | None = None,
    model_name: str | None = None,
    instance: Sequence[str] = (),
    index: bool = False,
) -> int:
    """``eval swe-bench``: predictions for every instance; 0 when none failed to run."""
    from kwaak.evals.swebench import Harness, SweOptions, load_instances, summary_lines
    from kwaak.evals.swebench.harness import DEFAULT_TIMEOUT_SEC

    selected = load_instances(instances, only=tuple(instance))
    defaults = SweOptions(output=output)
    options = SweOptions(
        output=output,
        parallel=parallel,
        timeout=timeout or DEFAULT_TIMEOUT_SEC,
        max_steps=max_steps,
        max_cost=max_cost,
        model_name=model_name or defaults.model_name,
        index=index,
        base_dir=instances.resolve().parent,
    )
    summary = asyncio.run(Harness(app.config, options).run(selected))
    for line in summary_lines(summary, output):
        print(line)
    return 1 if summary.errors else 0
