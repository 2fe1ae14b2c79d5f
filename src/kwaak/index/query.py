"""The query pipeline (kwaak §8): sub-questions → hybrid retrieval → an answer with file snippets.

Differences from kwaak 0.16.2, all deliberate:

* retrieval is our hybrid search, run for the original question *and* each sub-question (kwaak
  embedded the whole sub-question list as one vector and took the 30 nearest chunks);
* the retrieved chunks are de-duplicated, fused by rank, and capped by size;
* an agent's worktree (``overlay``) is visible to its own questions.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from pathlib import Path

from kwaak.config import Config
from kwaak.index.code_index import CodeIndex
from kwaak.index.prompts import render
from kwaak.index.ranking import RRF_K
from kwaak.index.results import Hit
from kwaak.llm.base import Model

MAX_SUBQUESTIONS = 5
HITS_PER_QUESTION = 10
MAX_DOCUMENTS = 15
MAX_CONTEXT_CHARS = 40_000

_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+(.*\S)\s*$")
_FENCE = re.compile(r"^\s*```(?:markdown|md)?[ \t]*\n(.*?)\n?```\s*$", re.DOTALL | re.IGNORECASE)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Doc:
    path: str
    start_line: int
    end_line: int
    language: str
    content: str


def with_project_info(question: str, config: Config) -> str:
    """The question followed by the project's languages and name (kwaak's first step)."""
    return (
        f"{question}\n\nThe project is written in: {', '.join(config.languages)}\n"
        f"The project is called: {config.project_name}\n\n"
    )


def parse_subquestions(reply: str, *, limit: int = MAX_SUBQUESTIONS + 1) -> list[str]:
    """The bullet items of the model's reply (the original question is usually the first)."""
    items = [m.group(1) for line in reply.splitlines() if (m := _BULLET.match(line))]
    return list(dict.fromkeys(items))[:limit]


def strip_markdown_fence(text: str) -> str:
    """Remove one wrapping ```` ```markdown ... ``` ```` fence (models love them)."""
    match = _FENCE.match(text.strip())
    return match.group(1).strip() if match else text.strip()


async def retrieve(
    questions: list[str], *, index: CodeIndex, overlay: Path | None = None, k: int = HITS_PER_QUESTION
) -> list[Hit]:
    """Search each question and fuse the rankings (first question counts double)."""
    results = await asyncio.gather(*(index.search(q, k=k, overlay=overlay) for q in questions))
    fused: dict[tuple[str, int], tuple[float, Hit]] = {}
    for position, hits in enumerate(results):
        weight = 2.0 if position == 0 else 1.0
        for rank, hit in enumerate(hits, start=1):
            key = (hit.path, hit.start_line)
            score = fused.get(key, (0.0, hit))[0] + weight / (RRF_K + rank)
            fused[key] = (score, hit)
    ranked = sorted(fused.values(), key=lambda item: -item[0])
    out: list[Hit] = []
    size = 0
    for _, hit in ranked[:MAX_DOCUMENTS]:
        if size + len(hit.content) > MAX_CONTEXT_CHARS and out:
            break
        out.append(hit)
        size += len(hit.content)
    return out


async def answer_question(
    question: str, *, index: CodeIndex, model: Model, config: Config, overlay: Path | None = None
) -> str:
    """Answer a question about the code from the index (2 model calls, 1 + n searches).

    Args:
        question: the user's question or task.
        index: the open code index.
        model: the model that writes sub-questions and the answer (kwaak's query model).
        config: for the project's name and languages.
        overlay: an agent's worktree (``Path``) whose edits the retrieval should see.

    Raises:
        kwaak.errors.ProviderError: the model failed.
    """
    answer, _ = await answer_with_context(question, index=index, model=model, config=config, overlay=overlay)
    return answer


async def answer_with_context(
    question: str, *, index: CodeIndex, model: Model, config: Config, overlay: Path | None = None
) -> tuple[str, list[Hit]]:
    """Like :func:`answer_question`, also returning the retrieved chunks (``eval ragas`` needs them)."""
    prompt = render("subquestions", question=with_project_info(question, config), example=question.splitlines()[0])
    reply = await model.prompt(prompt)
    questions = [question, *[q for q in parse_subquestions(reply) if q.strip() != question.strip()]]
    hits = await retrieve(questions[: MAX_SUBQUESTIONS + 1], index=index, overlay=overlay)
    documents = [
        _Doc(path=h.path, start_line=h.start_line, end_line=h.end_line, language=h.language, content=h.content)
        for h in hits
    ]
    return await model.prompt(render("answer", question=question, documents=documents)), hits


async def initial_context(
    question: str, *, index: CodeIndex, model: Model, config: Config, overlay: Path | None = None
) -> str:
    """The first message of context for a new agent session (kwaak §4.1)."""
    answer = await answer_question(question, index=index, model=model, config=config, overlay=overlay)
    return "Additional information:\n\n" + strip_markdown_fence(answer)
