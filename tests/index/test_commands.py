"""The ``index``, ``search`` and ``query`` verbs through the real CLI."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from kwaak.commands.search_cmd import format_hits
from kwaak.index.cli_support import summary
from kwaak.index.results import Hit, IndexStats
from tests.cli.conftest import SCRIPTED_CONFIG, run_kwaak
from tests.conftest import git


@pytest.fixture
def cli_repo(shop_repo: Path) -> Path:
    text = SCRIPTED_CONFIG.format(cache=shop_repo.parent / "cache", logs=shop_repo.parent / "logs")
    (shop_repo / "kwaak.toml").write_text(text)
    git(shop_repo, "add", "kwaak.toml")
    git(shop_repo, "commit", "-q", "-m", "config")
    return shop_repo


def test_index_search_and_query_verbs(cli_repo: Path) -> None:
    indexed = run_kwaak("index", cwd=cli_repo)
    assert indexed.returncode == 0, indexed.stderr
    assert indexed.stdout.startswith("Indexed: 9 files")
    assert "9 (re)indexed, 0 removed" in indexed.stdout

    again = run_kwaak("index", cwd=cli_repo)
    assert "0 (re)indexed, 0 removed" in again.stdout

    found = run_kwaak("search", "apply_discount", "--json", "-k", "3", cwd=cli_repo)
    assert found.returncode == 0, found.stderr
    hits = json.loads(found.stdout)
    assert len(hits) == 3
    assert hits[0]["path"] == "src/shop/pricing.py"
    assert "apply_discount" in hits[0]["symbols"]
    assert {"start_line", "end_line", "score", "content", "kind"} <= set(hits[0])

    files = run_kwaak("search", "exponential backoff for connection errors", "--files", "-k", "2", cwd=cli_repo)
    assert files.returncode == 0, files.stderr
    assert files.stdout.splitlines()[0].split()[-1] == "src/shop/retry.py"

    answer = run_kwaak("query", "-q", "How are discounts applied?", cwd=cli_repo)
    assert answer.returncode == 0, answer.stderr
    assert answer.stdout.strip() == "Kwek"  # the Scripted provider's answer


def test_search_indexes_first_unless_skipped(cli_repo: Path) -> None:
    skipped = run_kwaak("search", "ShoppingCart", "-s", cwd=cli_repo)
    assert skipped.returncode == 1  # nothing indexed yet, nothing found
    assert skipped.stdout == ""
    proc = run_kwaak("search", "ShoppingCart", "--files", cwd=cli_repo)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0].endswith("src/shop/cart.py")


def test_format_hits_and_summary() -> None:
    hit = Hit(path="a.py", start_line=3, end_line=9, score=0.5, content="\n  def f():\n", symbols=("f",))
    assert format_hits([hit], files=False) == ["  0.5000  a.py:3-9  [f]", "          def f():"]
    assert format_hits([hit], files=True) == ["  0.5000  a.py"]
    stats = IndexStats(files_total=2, chunks_total=5, files_indexed=1, pending_embeddings=5, total_sec=1.0)
    assert summary(stats) == (
        "2 files, 5 chunks; 1 (re)indexed, 0 removed; 5 without embeddings; keyword search ready in 0.0s, done in 1.0s"
    )


def test_index_runs_through_the_backend_with_qa_metadata_metered(cli_repo: Path) -> None:
    """``kwaak index`` submits the backend's ``IndexRepository`` op: `[index] qa_metadata` asks the
    indexing model (metered) for each chunk's questions, as in the TUI and headless runs."""
    config = cli_repo / "kwaak.toml"
    config.write_text(config.read_text() + "\n[index]\nqa_metadata = true\n")
    indexed = run_kwaak("index", cwd=cli_repo)
    assert indexed.returncode == 0, indexed.stderr
    assert "9 (re)indexed" in indexed.stdout
    found = run_kwaak("search", "Kwek", "--json", "-k", "1", "-s", cwd=cli_repo)  # the Scripted model's Q&A text
    assert found.returncode == 0, found.stderr


def test_index_failure_is_one_clear_error(cli_repo: Path) -> None:
    (cli_repo.parent / "cache").write_text("a file where the cache directory should be\n")
    proc = run_kwaak("index", cwd=cli_repo)
    assert proc.returncode == 2  # the configuration's cache_dir is unusable
    assert proc.stderr.startswith("error: ") and "Traceback" not in proc.stderr, proc.stderr
    assert "hint: " in proc.stderr


async def test_index_op_failure_keeps_its_message_hint_and_exit_code(cli_repo: Path) -> None:
    """The op's failure (here: another kwaak holds the index) comes back as the CLI's error and exit code."""
    from kwaak.config.loader import load_config
    from kwaak.index.code_index import CodeIndex

    holder = await CodeIndex.open(load_config(cli_repo), cli_repo, embedder=None)  # this process writes now
    try:
        proc = run_kwaak("index", cwd=cli_repo)
    finally:
        await holder.close()
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.startswith(f"error: index in use by another kwaak (pid {os.getpid()})"), proc.stderr
    assert "hint: " in proc.stderr and "Traceback" not in proc.stderr
