"""The ``IndexRepository`` op: what every front end indexes through."""

from __future__ import annotations

from pathlib import Path

import pytest

from kwaak import protocol as p
from kwaak.backend import Backend, Models
from kwaak.llm.testing import HashEmbedder, ScriptedModel


@pytest.mark.parametrize("submitter", [p.SYSTEM_SESSION, "chat-1"])
async def test_index_op_reports_its_result_and_meters_qa_metadata(
    make_config, tmp_git_repo: Path, submitter: str
) -> None:
    """`[index] qa_metadata` works through the op (the TUI's and headless indexing), its model calls count
    against the team meter (as the system's usage, also when a chat ran /index_repository), and the op ends
    with an ``index_updated`` record."""
    indexing = ScriptedModel(prompt_reply="- How are two numbers added?")
    config = make_config(index={"qa_metadata": True})
    models = Models(indexing=indexing, query=ScriptedModel(), embedder=HashEmbedder())
    events: list[p.Event] = []
    async with Backend(config, tmp_git_repo, models=models, buffer_events=False, persist=False) as backend:
        completed = await backend.run_op(submitter, p.IndexRepository(), collect=events)
        assert completed.ok, completed
        team = backend.runtime.team.usage
    (updated,) = [e.msg for e in events if isinstance(e.msg, p.IndexUpdated)]
    assert updated.files_indexed == updated.files_total > 0 and updated.error_count == 0
    assert updated.chunks_total > 0 and updated.embedded == updated.chunks_total
    assert len(indexing.requests) == updated.chunks_total  # one Q&A request per chunk
    assert team.requests == len(indexing.requests) and team.input_tokens > 0
    assert {e.session_id for e in events if isinstance(e.msg, p.UsageUpdated)} == {p.SYSTEM_SESSION}
    usage = [e.msg for e in events if isinstance(e.msg, p.UsageUpdated)]
    assert usage and usage[-1].team.input_tokens == team.input_tokens
    phases = {e.msg.phase for e in events if isinstance(e.msg, p.IndexProgress)}
    assert {"chunking", "embedding"} <= phases
