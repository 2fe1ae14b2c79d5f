"""``kwaak eval ragas``: export a RAGAS dataset from the query pipeline (kwaak §9.2).

Every question goes through the same pipeline as ``kwaak query`` and ``explain_code``
(sub-questions, hybrid retrieval, answer). The output is a JSON list of
``{question, answer, contexts, ground_truth}`` records, where ``contexts`` are the retrieved chunks'
contents: the format the ``ragas`` package scores (answer relevancy, faithfulness, context
recall and precision). ``ground_truth`` comes from the input dataset, or is the answer itself with
``--record-ground-truth`` (a baseline to edit by hand and compare later runs against).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from kwaak.config import Config
from kwaak.errors import UsageError
from kwaak.index import CodeIndex, strip_markdown_fence
from kwaak.index.query import answer_with_context
from kwaak.llm.base import Model


@dataclass(slots=True, kw_only=True)
class Record:
    """One evaluation record."""

    question: str
    answer: str = ""
    contexts: list[str]
    ground_truth: str = ""


def load_dataset(path: Path) -> list[Record]:
    """Read questions (and ground truths) from a JSON dataset.

    Accepted shapes: a list of objects with ``question`` (a previous export), a mapping of
    question to such an object (swiftide's format), or a list of plain question strings.

    Raises:
        UsageError: the file is missing, not JSON, or has no questions.
    """
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        msg = f"cannot read the dataset {str(path)!r}: {exc.strerror or exc}"
        raise UsageError(msg, hint="give an existing JSON file with -i") from exc
    except json.JSONDecodeError as exc:
        msg = f"{path}: not valid JSON: {exc}"
        raise UsageError(msg, hint="the dataset is a JSON list of {question, ground_truth} objects") from exc
    items = list(data.values()) if isinstance(data, dict) else data
    if not isinstance(items, list):
        items = []
    records = [_record(item) for item in items]
    questions = [r for r in records if r is not None]
    if not questions or len(questions) != len(records):
        msg = f"{path}: every entry needs a non-empty `question`"
        raise UsageError(msg, hint='e.g. [{"question": "How are sessions stored?", "ground_truth": "..."}]')
    return questions


def _record(item: Any) -> Record | None:
    if isinstance(item, str):
        item = {"question": item}
    if not isinstance(item, dict) or not str(item.get("question") or "").strip():
        return None
    return Record(
        question=str(item["question"]).strip(),
        contexts=[],
        ground_truth=str(item.get("ground_truth") or ""),
    )


def from_questions(questions: Sequence[str]) -> list[Record]:
    """Records for ``-q`` questions (empty ground truth).

    Raises:
        UsageError: no question, or an empty one.
    """
    cleaned = [q.strip() for q in questions]
    if not cleaned or not all(cleaned):
        msg = "`eval ragas` needs questions: a dataset with -i FILE or one or more -q QUESTION"
        raise UsageError(msg, hint='e.g. kwaak eval ragas -q "How does indexing work?" -o ragas.json')
    return [Record(question=q, contexts=[]) for q in cleaned]


async def answer_all(
    records: list[Record],
    *,
    index: CodeIndex,
    model: Model,
    config: Config,
    record_ground_truth: bool = False,
    echo: Callable[[str], Any] = print,
) -> list[Record]:
    """Run every question through the query pipeline, filling ``answer`` and ``contexts``."""
    for position, record in enumerate(records, start=1):
        echo(f"[{position}/{len(records)}] {record.question}")
        answer, hits = await answer_with_context(record.question, index=index, model=model, config=config)
        record.answer = strip_markdown_fence(answer)
        record.contexts = [hit.content for hit in hits]
        if record_ground_truth:
            record.ground_truth = record.answer
    return records


def write_dataset(records: Sequence[Record], output: Path) -> None:
    """Write the records as a JSON list, creating parent directories."""
    output.parent.mkdir(parents=True, exist_ok=True)
    payload = [asdict(r) for r in records]
    output.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
