"""Best-of-N through the real CLI: three scripted models, three branches, one comparison table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kwaak.errors import UsageError
from kwaak.headless.best_of import executors_of, fan_out
from tests.conftest import git
from tests.scripted import json_lines, run_kwaak, tool, write_scripted_config

SCRIPTS = {
    "alpha": "ok\n",
    "beta": "broken\n",
    "gamma": "ok\nwith a longer answer\n",
}


def _config(repo: Path) -> Path:
    for model, content in SCRIPTS.items():
        script = [tool("write_file", file_name="result.txt", content=content), tool("stop")]
        (repo.parent / f"{model}.json").write_text(json.dumps(script))
    (repo.parent / "scripted.json").write_text("[]")  # the configured default model
    config = write_scripted_config(repo, [], name="best", extra='[commands]\ntest = "grep -qx ok result.txt"\n')
    text = config.read_text().replace(str(repo.parent / "best.script.json"), str(repo.parent / "{model}.json"))
    config.write_text(text)
    return config


def test_best_of_three_models_gives_three_branches_and_a_comparison(tmp_git_repo: Path) -> None:
    repo = tmp_git_repo
    config = _config(repo)
    done = run_kwaak(
        repo, config, "-s", "run-agent", "-i", "write the result", "--n", "3", "--models", "alpha,beta,gamma"
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    table = out[out.index("Best of 3:") :].splitlines()
    rows = {line.split()[2]: line.split() for line in table[2:5]}
    assert set(rows) == {"alpha", "beta", "gamma"}
    assert rows["alpha"][4] == "passed" and rows["beta"][4] == "failed" and rows["gamma"][4] == "passed"
    assert rows["alpha"][6] == "+1/-0" and rows["gamma"][6] == "+2/-0"
    assert "kwaak sessions land" in out and rows["alpha"][1] in out.splitlines()[-1]
    branches = git(repo, "branch", "--list", "kwaak/*").split()
    assert len(branches) == 3
    contents = sorted(git(repo, "show", f"{b}:result.txt") for b in branches)
    assert contents == sorted(c.strip() for c in SCRIPTS.values())
    assert git(repo, "status", "--porcelain") == ""


def test_best_of_jsonl_has_a_comparison_record(tmp_git_repo: Path) -> None:
    repo = tmp_git_repo
    config = _config(repo)
    done = run_kwaak(repo, config, "-s", "run-agent", "-i", "write it", "--models", "alpha,beta", "--output", "jsonl")
    assert done.returncode == 0, done.stderr
    events = json_lines(done.stdout)
    (comparison,) = [e for e in events if e["type"] == "comparison_shown"]
    assert [r["model"] for r in comparison["rows"]] == ["alpha", "beta"]
    assert [r["tests"] for r in comparison["rows"]] == ["passed", "failed"]
    assert len([e for e in events if e["type"] == "session_finished"]) == 2


def test_fan_out_cycles_models_and_executors() -> None:
    assert fan_out(3, ["a", "b"], ["local"]) == [("a", "local"), ("b", "local"), ("a", "local")]
    assert fan_out(None, ["a", "b"], []) == [("a", None), ("b", None)]
    with pytest.raises(UsageError):
        executors_of("local,kubernetes")


def test_batch_best_of_two_compares_each_task(tmp_git_repo: Path) -> None:
    repo = tmp_git_repo
    config = _config(repo)
    tasks = repo.parent / "tasks.jsonl"
    tasks.write_text(json.dumps({"prompt": "first", "name": "one"}) + "\n" + json.dumps({"prompt": "second"}) + "\n")
    done = run_kwaak(repo, config, "-s", "batch", str(tasks), "--models", "alpha,beta", "--parallel", "4")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Best of 2 for 'one':" in done.stdout and "Best of 2 for 'second':" in done.stdout
    assert done.stdout.count(" passed ") == 2 and done.stdout.count(" failed ") == 2
    assert len(git(repo, "branch", "--list", "kwaak/*").split()) == 4
