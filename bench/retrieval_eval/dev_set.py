"""File retrieval on real issue reports: the SWE-bench Lite development set in ``shared/data``.

Each case is a real GitHub issue (astropy, seaborn, flask) with the source file its merged fix
changed (see ``shared/data/retrieval-dev/README.md``). The trees come from full-history bare
copies of the public repositories (``<snapshots>/<owner>+<name>/repo``, as the search tool's
``fetch`` lays them out), archived at each case's commit into ``<work>/trees/<id>`` (kept and
reused by the next run).

Systems: kwaak's file search (keyword only, no model call at query time), and two whole-file
BM25 baselines: over every text file, and over non-test ``.py`` files. Reported overall and for
the queries that do not name the gold file (its path, file name or dotted module).

Usage: ``python bench/retrieval_eval/dev_set.py --snapshots /work/.mirror [--work DIR]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from index_tree import GIT_ENV, make_config, minilm_embedder
from run_eval import KS, Query, WholeFileBM25, metrics, report

from kwaak.index import CodeIndex
from kwaak.index.files import classify, list_candidates


def default_cases() -> Path:
    """``shared/data/retrieval-dev/cases.jsonl`` beside the nearest enclosing folder that has one."""
    for parent in Path(__file__).resolve().parents:
        found = parent / "shared" / "data" / "retrieval-dev" / "cases.jsonl"
        if found.exists():
            return found
    return Path("shared/data/retrieval-dev/cases.jsonl")


@dataclass(frozen=True)
class Case:
    """One development case."""

    id: str
    repo: str
    commit: str
    query: Query


def names_gold(text: str, gold: str) -> bool:
    """Whether the issue names the gold file: its path, file name or dotted module."""
    low = text.lower()
    stem = gold[:-3] if gold.endswith(".py") else gold
    module = stem.removeprefix("src/").replace("/", ".").lower()
    name = gold.rsplit("/", 1)[-1].lower()
    return gold.lower() in low or name in low or module in low


def load_cases(path: Path) -> list[Case]:
    """The cases of ``cases.jsonl``."""
    out = []
    for line in path.read_text().splitlines():
        item = json.loads(line)
        gold = frozenset(item["gold_files"])
        leak = any(names_gold(item["query"], g) for g in gold)
        out.append(Case(item["id"], item["repo"], item["commit"], Query(item["id"], item["query"], gold, leak)))
    return out


def lay_out(case: Case, snapshots: Path, trees: Path) -> Path:
    """The case's tree as a one-commit git repository (made once, then reused)."""
    dest = trees / case.id
    if (dest / ".git").exists():
        return dest
    snapshot = snapshots / case.repo.replace("/", "+") / "repo"
    dest.mkdir(parents=True, exist_ok=True)
    extract(snapshot, case.commit, dest)
    env = {**GIT_ENV, "PATH": "/usr/bin:/bin"}
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "base"]):
        subprocess.run(["git", *args], cwd=dest, check=True, capture_output=True, env=env)
    return dest


def extract(git_dir: Path, commit: str, dest: Path) -> None:
    """Write the files of ``commit`` into ``dest``; blobs the snapshot lacks (files of 4 MiB and more) are skipped."""
    listing = subprocess.run(
        ["git", "--git-dir", str(git_dir), "ls-tree", "-r", "-z", commit], check=True, capture_output=True
    ).stdout
    entries = []
    for record in listing.split(b"\0"):
        if record:
            meta, path = record.split(b"\t", 1)
            mode, kind, sha = meta.split()
            if kind == b"blob" and mode != b"120000":
                entries.append((sha.decode(), path.decode()))
    batch = subprocess.Popen(
        ["git", "--git-dir", str(git_dir), "cat-file", "--batch"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    assert batch.stdin is not None and batch.stdout is not None
    for sha, path in entries:
        batch.stdin.write(sha.encode() + b"\n")
        batch.stdin.flush()
        header = batch.stdout.readline().split()
        if header[-1] == b"missing":
            continue
        data = batch.stdout.read(int(header[2]))
        batch.stdout.read(1)
        target = dest / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    batch.stdin.close()
    batch.wait()


def is_text(path: Path) -> bool:
    """Not a binary (no NUL byte in the first 8 KiB) and not huge."""
    try:
        if path.stat().st_size > 2_000_000:
            return False
        with path.open("rb") as handle:
            return b"\0" not in handle.read(8192)
    except OSError:
        return False


async def kwaak_ranking(case: Case, tree: Path, cache: Path, k: int, embedder: Any = None) -> list[str]:
    """kwaak's file ranking for the case (keyword only, or hybrid with ``embedder``)."""
    index = await CodeIndex.open(make_config(tree, cache, project_name=case.id), tree, embedder=embedder)
    try:
        await index.update()
        return [h.path for h in await index.search(case.query.text, k=k, files=True)]
    finally:
        await index.close()


async def rank_case(case: Case, tree: Path, cache: Path, k: int, *, minilm: Any = None) -> dict[str, list[str]]:
    """The ranked file lists of kwaak (and kwaak + MiniLM) and the two baselines for one case."""
    files = list_candidates(tree)
    text_files = [p for p in files if is_text(tree / p)]
    source = [p for p in text_files if p.endswith(".py") and classify(p, "python") == "code"]
    ranked = {"kwaak (keyword only)": await kwaak_ranking(case, tree, cache, k)}
    if minilm is not None:
        ranked["kwaak + MiniLM"] = await kwaak_ranking(case, tree, cache.with_name(cache.name + "-minilm"), k, minilm)
    return {
        **ranked,
        "BM25 whole file, all text files": WholeFileBM25(tree, text_files).search(case.query.text, k),
        "BM25 whole file, non-test .py": WholeFileBM25(tree, source).search(case.query.text, k),
    }


SHORT = {
    "kwaak (keyword only)": "kwaak",
    "kwaak + MiniLM": "kwaak+minilm",
    "BM25 whole file, all text files": "bm25-all",
    "BM25 whole file, non-test .py": "bm25-src",
}


def rank_of(ranked: list[str], gold: frozenset[str]) -> int | None:
    """1-based rank of the first gold file, ``None`` when absent."""
    return next((i for i, p in enumerate(ranked, 1) if p in gold), None)


async def evaluate(
    cases: list[Case], snapshots: Path, work: Path, k: int, *, minilm: Any = None
) -> tuple[list[tuple], list[str]]:
    """Score every system on every case; rows for ``table`` and one line per case."""
    per_system: dict[str, list[list[str]]] = {}
    lines = []
    for case in cases:
        tree = lay_out(case, snapshots, work / "trees")
        ranked = await rank_case(case, tree, work / "cache" / case.id, k, minilm=minilm)
        for name, paths in ranked.items():
            per_system.setdefault(name, []).append(paths)
        ranks = ", ".join(f"{SHORT.get(name, name)}={rank_of(p, case.query.gold)}" for name, p in ranked.items())
        lines.append(f"{case.id:28} {'names' if case.query.leak else '-----'}  {ranks}")
        print(lines[-1], flush=True)
    queries = [c.query for c in cases]
    unnamed = [i for i, q in enumerate(queries) if not q.leak]
    rows = []
    for name, ranked_all in per_system.items():
        rows.append((name, "dev set", len(queries), metrics(ranked_all, queries), None))
        subset = [queries[i] for i in unnamed]
        rows.append(
            (name, "dev set, file not named", len(subset), metrics([ranked_all[i] for i in unnamed], subset), None)
        )
    return rows, lines


def main() -> None:
    """Parse arguments, run, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snapshots", type=Path, required=True, help="folder of <owner>+<name>/repo bare copies")
    parser.add_argument("--cases", type=Path, default=default_cases())
    parser.add_argument("--work", type=Path, default=Path("/tmp/kwaak-retrieval-dev"))
    parser.add_argument("--only", help="comma-separated case ids")
    parser.add_argument("--json", type=Path, help="also write the rows to this file")
    parser.add_argument("--minilm", action="store_true", help="also kwaak + the local MiniLM (slow on big trees)")
    args = parser.parse_args()
    cases = load_cases(args.cases)
    if args.only:
        wanted = set(args.only.split(","))
        cases = [c for c in cases if c.id in wanted]
    minilm = minilm_embedder() if args.minilm else None
    rows, _ = asyncio.run(evaluate(cases, args.snapshots, args.work, max(KS), minilm=minilm))
    report(rows, args.json)


if __name__ == "__main__":
    main()
