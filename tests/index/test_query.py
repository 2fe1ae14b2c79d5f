"""The query pipeline: sub-questions, hybrid retrieval, answer, initial context."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from kwaak.config import Config
from kwaak.index import CodeIndex, answer_question, initial_context, strip_markdown_fence
from kwaak.index.query import parse_subquestions, with_project_info
from kwaak.llm.testing import HashEmbedder, ScriptedModel
from tests.index.conftest import write

OpenIndex = Callable[..., Any]


class RecordingModel(ScriptedModel):
    """Answers the sub-question prompt with bullets and the answer prompt with a fenced answer."""

    def __init__(self, subquestions: list[str], answer: str) -> None:
        self.prompts: list[str] = []

        def reply(prompt: str) -> str:
            self.prompts.append(prompt)
            if "additional questions" in prompt:
                return "\n".join(f"- {q}" for q in subquestions)
            return answer

        super().__init__(prompt_reply=reply)


async def test_answer_uses_subquestions_and_cites_retrieved_files(open_index: OpenIndex, index_config: Config) -> None:
    index: CodeIndex = await open_index(embedder=HashEmbedder(dimensions=64))
    await index.update()
    model = RecordingModel(
        ["How is the cart total computed?", "Where is the discount threshold defined?"],
        "The total applies `apply_discount` from `src/shop/pricing.py`.",
    )
    answer = await answer_question("How are discounts applied?", index=index, model=model, config=index_config)
    assert answer == "The total applies `apply_discount` from `src/shop/pricing.py`."
    sub_prompt, answer_prompt = model.prompts
    assert "How are discounts applied?" in sub_prompt
    assert "The project is written in: Python" in sub_prompt
    assert "The project is called: testproject" in sub_prompt
    assert "Answer the following question:\n\nHow are discounts applied?" in answer_prompt
    assert "The following snippet is part of the file `src/shop/pricing.py`" in answer_prompt
    assert "The following snippet is part of the file `src/shop/cart.py`" in answer_prompt
    assert "def apply_discount" in answer_prompt
    assert "\n---\n" in answer_prompt


async def test_initial_context_strips_the_markdown_fence(open_index: OpenIndex, index_config: Config) -> None:
    index: CodeIndex = await open_index()
    await index.update()
    model = RecordingModel(["What retries exist?"], "```markdown\n# Retries\n\nSee `src/shop/retry.py`.\n```")
    context = await initial_context("Add jitter to the retries", index=index, model=model, config=index_config)
    assert context == "Additional information:\n\n# Retries\n\nSee `src/shop/retry.py`."
    assert "src/shop/retry.py" in model.prompts[1]


async def test_answer_sees_the_agent_overlay(
    open_index: OpenIndex, index_config: Config, shop_repo: Path, tmp_path: Path
) -> None:
    from tests.index.test_overlay import _agent_worktree

    index: CodeIndex = await open_index()
    await index.update()
    worktree = await _agent_worktree(shop_repo, tmp_path)
    write(worktree, {"src/shop/wishlist.py": "class Wishlist:\n    '''Items a customer wants later.'''\n"})
    model = RecordingModel([], "ok")
    await answer_question("Where is the Wishlist?", index=index, model=model, config=index_config, overlay=worktree)
    assert "`src/shop/wishlist.py`" in model.prompts[1]
    model = RecordingModel([], "ok")
    await answer_question("Where is the Wishlist?", index=index, model=model, config=index_config)
    assert "wishlist.py" not in model.prompts[1]


def test_parse_subquestions_and_fences(index_config: Config) -> None:
    reply = "Here you go:\n- What is X?\n* How is Y used?\n1. Where is Z?\n- What is X?\nplain text"
    assert parse_subquestions(reply) == ["What is X?", "How is Y used?", "Where is Z?"]
    assert strip_markdown_fence("```markdown\nhello\n```") == "hello"
    assert strip_markdown_fence("```\nhello\n```") == "hello"
    assert strip_markdown_fence("```python\nx = 1\n```") == "```python\nx = 1\n```"
    assert strip_markdown_fence("no fence") == "no fence"
    assert with_project_info("Q?", index_config) == (
        "Q?\n\nThe project is written in: Python\nThe project is called: testproject\n\n"
    )
