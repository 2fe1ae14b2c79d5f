"""`kwaak eval ragas`: questions through the real query pipeline (index + scripted model) to a dataset."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kwaak.errors import UsageError
from kwaak.evals.ragas import answer_all, from_questions, load_dataset
from kwaak.index import CodeIndex
from kwaak.llm.testing import HashEmbedder, ScriptedModel
from tests.conftest import git
from tests.evals.conftest import write_project_config

RETRY = 'def retry_with_backoff(call, times):\n    """Retry `call` up to `times` times, doubling the wait."""\n'


def _add_retry_module(repo: Path) -> None:
    (repo / "src" / "retrying.py").write_text(RETRY * 3)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "retries")


def test_questions_with_recorded_ground_truth(tmp_git_repo: Path, kwaak) -> None:
    _add_retry_module(tmp_git_repo)
    write_project_config(tmp_git_repo)
    output = tmp_git_repo.parent / "nested" / "dir" / "ragas.json"
    code, out, err = kwaak(
        tmp_git_repo, "eval", "ragas", "-q", "How does retry_with_backoff work?", "-q", "What does add do?", "-r",
        "-o", str(output),
    )  # fmt: skip
    assert code == 0, out + err
    records = json.loads(output.read_text())
    assert [r["question"] for r in records] == ["How does retry_with_backoff work?", "What does add do?"]
    for record in records:
        assert list(record) == ["question", "answer", "contexts", "ground_truth"]
        assert record["answer"] == "Kwek"  # the scripted query model's reply
        assert record["ground_truth"] == record["answer"]
    assert any("retry_with_backoff" in c for c in records[0]["contexts"])
    assert any("def add" in c for c in records[1]["contexts"])
    assert "Wrote 2 records" in out


def test_input_dataset_keeps_ground_truth(tmp_git_repo: Path, kwaak) -> None:
    write_project_config(tmp_git_repo)
    dataset = tmp_git_repo.parent / "dataset.json"
    dataset.write_text(
        json.dumps({"What does add do?": {"question": "What does add do?", "ground_truth": "It adds a and b."}})
    )
    output = tmp_git_repo.parent / "out.json"
    code, _, err = kwaak(tmp_git_repo, "-s", "eval", "ragas", "-i", str(dataset), "-o", str(output))
    assert code == 0, err
    [record] = json.loads(output.read_text())
    assert record["ground_truth"] == "It adds a and b."
    assert record["answer"] == "Kwek"


async def test_answers_are_written_from_the_retrieved_context(make_config, tmp_git_repo: Path) -> None:
    _add_retry_module(tmp_git_repo)
    config = make_config()
    prompts: list[str] = []

    def reply(prompt: str) -> str:
        prompts.append(prompt)
        return "- How does retrying work?" if len(prompts) == 1 else "```markdown\nIt doubles the wait.\n```"

    index = await CodeIndex.open(config, tmp_git_repo, embedder=HashEmbedder(dimensions=64))
    try:
        await index.update()
        [record] = await answer_all(
            from_questions(["How does retry_with_backoff work?"]),
            index=index,
            model=ScriptedModel(prompt_reply=reply),
            config=config,
            echo=lambda _: None,
        )
    finally:
        await index.close()
    assert record.answer == "It doubles the wait."  # the markdown fence is stripped
    assert record.ground_truth == ""
    assert "src/retrying.py" in prompts[1] and all(context in prompts[1] for context in record.contexts)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("-o", "x.json"), "needs questions"),
        (("-q", "Why?", "-i", "d.json", "-o", "x.json"), "cannot be used together"),
        (("-i", "missing.json", "-o", "x.json"), "cannot read the dataset"),
    ],
)
def test_usage_errors(tmp_git_repo: Path, kwaak, args: tuple[str, ...], message: str) -> None:
    write_project_config(tmp_git_repo)
    code, _, err = kwaak(tmp_git_repo, "-s", "eval", "ragas", *args)
    assert code == 2
    assert message in err and "hint:" in err


def test_dataset_validation(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('[{"question": "ok"}, {"answer": "no question"}]')
    with pytest.raises(UsageError, match="every entry needs a non-empty `question`"):
        load_dataset(bad)
    broken = tmp_path / "broken.json"
    broken.write_text("[{")
    with pytest.raises(UsageError, match="not valid JSON"):
        load_dataset(broken)
    plain = tmp_path / "plain.json"
    plain.write_text('["What is X?", {"question": "Y?", "ground_truth": "y"}]')
    assert [(r.question, r.ground_truth) for r in load_dataset(plain)] == [("What is X?", ""), ("Y?", "y")]
