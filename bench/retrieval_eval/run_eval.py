"""Retrieval quality of ``CodeIndex.search(files=True)`` on CPython's standard library.

Two query sets, both over the real ``Lib/`` of the running interpreter (see ``README.md`` here):

* ``queries.jsonl``: 50 hand-written, issue-style descriptions of behaviour (bug reports, feature
  questions) with the non-test source file(s) that implement it as gold. Written without looking
  at search results; module and file names were avoided (a query is flagged ``leak`` when one of
  its stemmed words still equals a stemmed word of a gold path, and metrics are also reported
  without those).
* symbols: up to 100 function/class names defined in exactly one non-test file, sampled with a
  fixed seed; the query is the bare name, the gold is the defining file.

Compared systems: our hybrid search (keyword only; + HashEmbedder; + local MiniLM when installed)
and a plain baseline: BM25 over whole files (tantivy, English stemming, no code tokenization, no
paths or symbols). No LLM is called at query time.

Usage: ``python bench/retrieval_eval/run_eval.py [--hash] [--minilm] [--work DIR] [--json FILE]
[--dev-snapshots DIR]`` (the last also scores the SWE-bench Lite development set, see ``dev_set.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tantivy

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from index_tree import make_config, make_repo, minilm_embedder

from kwaak.index import CodeIndex
from kwaak.llm.testing import HashEmbedder

HERE = Path(__file__).parent
KS = (1, 5, 10)
_STEM = (
    tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
    .filter(tantivy.Filter.lowercase())
    .filter(tantivy.Filter.stemmer("english"))
    .build()
)
_IGNORED_PATH_WORDS = {"lib", "py", "init"}


@dataclass(frozen=True)
class Query:
    """One evaluation query."""

    id: str
    text: str
    gold: frozenset[str]
    leak: bool = False


def load_queries() -> list[Query]:
    """The hand-written issue-style set, with the name-leak flag computed."""
    out = []
    for line in (HERE / "queries.jsonl").read_text().splitlines():
        item = json.loads(line)
        words = set(_STEM.analyze(item["query"]))
        path_words = {w for g in item["gold"] for w in _STEM.analyze(g.replace("_", " "))} - _IGNORED_PATH_WORDS
        out.append(Query(str(item["id"]), item["query"], frozenset(item["gold"]), bool(words & path_words)))
    return out


_DEF = re.compile(r"^(?:def|class)\s+([A-Za-z_][A-Za-z0-9_]{5,})", re.MULTILINE)


def symbol_queries(repo: Path, n: int = 100, seed: int = 7) -> list[Query]:
    """Top-level names defined in exactly one non-test file (sampled)."""
    where: dict[str, set[str]] = {}
    for path in sorted((repo / "Lib").rglob("*.py")):
        rel = path.relative_to(repo).as_posix()
        for name in _DEF.findall(path.read_text(errors="replace")):
            where.setdefault(name, set()).add(rel)
    unique = sorted(
        (name, next(iter(paths)))
        for name, paths in where.items()
        if len(paths) == 1 and not name.startswith("_") and not _is_test(next(iter(paths)))
    )
    random.Random(seed).shuffle(unique)
    return [Query(name, name, frozenset({path})) for name, path in unique[:n]]


def _is_source(path: str) -> bool:
    return path.endswith(".py") and not _is_test(path)


def _is_test(path: str) -> bool:
    return "/test" in path or "/idle_test/" in path or path.rsplit("/", 1)[-1].startswith("test_")


def metrics(ranked: list[list[str]], queries: list[Query]) -> dict[str, float]:
    """recall@k (a gold file in the top k) and MRR@10."""
    result: dict[str, float] = {}
    for k in KS:
        result[f"R@{k}"] = sum(bool(set(r[:k]) & q.gold) for r, q in zip(ranked, queries, strict=True)) / len(queries)
    rr = [
        next((1 / i for i, p in enumerate(r[:10], 1) if p in q.gold), 0.0) for r, q in zip(ranked, queries, strict=True)
    ]
    result["MRR"] = sum(rr) / len(queries)
    return result


class WholeFileBM25:
    """The baseline: one tantivy document per file, English-stemmed words only."""

    def __init__(self, repo: Path, paths: list[str]) -> None:
        builder = tantivy.SchemaBuilder()
        builder.add_text_field("path", stored=True, tokenizer_name="raw")
        builder.add_text_field("text", tokenizer_name="en_stem")
        self.schema = builder.build()
        self.index = tantivy.Index(self.schema)
        writer = self.index.writer(heap_size=128_000_000, num_threads=1)
        for path in paths:
            writer.add_document(tantivy.Document(path=path, text=(repo / path).read_text(errors="replace")))
        writer.commit()
        writer.wait_merging_threads()
        self.index.reload()

    def search(self, text: str, k: int = 10) -> list[str]:
        words = re.findall(r"[A-Za-z0-9]+", text)
        query = self.index.parse_query(" ".join(words), ["text"])
        searcher = self.index.searcher()
        return [searcher.doc(a).get_first("path") for _, a in searcher.search(query, limit=k).hits]


async def run_system(index: CodeIndex, queries: list[Query]) -> tuple[list[list[str]], float]:
    """Ranked file lists and the median query time in ms."""
    ranked, times = [], []
    for q in queries:
        started = time.perf_counter()
        hits = await index.search(q.text, k=10, files=True)
        times.append((time.perf_counter() - started) * 1000)
        ranked.append([h.path for h in hits])
    return ranked, sorted(times)[len(times) // 2]


def table(rows: list[tuple[str, str, int, dict[str, float], float | None]]) -> str:
    """A markdown table of results."""
    head = "| system | query set | n | R@1 | R@5 | R@10 | MRR | p50 ms |\n|---|---|---|---|---|---|---|---|\n"
    lines = [
        f"| {name} | {qset} | {n} | {m['R@1']:.2f} | {m['R@5']:.2f} | {m['R@10']:.2f} | {m['MRR']:.2f} | "
        f"{'' if ms is None else f'{ms:.1f}'} |"
        for name, qset, n, m, ms in rows
    ]
    return head + "\n".join(lines)


def report(rows: list[tuple[str, str, int, dict[str, float], float | None]], json_path: Path | None) -> None:
    """Print the table; also write the rows as JSON to ``json_path`` when given."""
    print(table(rows))
    if json_path is not None:
        keys = ("system", "queries", "n", "metrics", "p50_ms")
        json_path.write_text(json.dumps([dict(zip(keys, row, strict=True)) for row in rows], indent=2))


async def evaluate(
    work: Path, *, hash_embedder: bool, minilm: bool
) -> list[tuple[str, str, int, dict[str, float], float | None]]:
    """Build the indexes and score every system on both query sets."""
    repo = make_repo(work)
    issues = load_queries()
    symbols = symbol_queries(repo)
    clean = [q for q in issues if not q.leak]
    print(f"{len(issues)} issue queries ({len(issues) - len(clean)} with a name leak), {len(symbols)} symbol queries")
    sets = [("issues", issues), ("issues, no leak", clean), ("symbols", symbols)]
    rows: list[tuple[str, str, int, dict[str, float], float | None]] = []
    systems: list[tuple[str, Any]] = [("kwaak hybrid, keyword only", None)]
    if hash_embedder:
        systems.append(("kwaak hybrid + HashEmbedder", HashEmbedder(dimensions=256)))
    if minilm and (embedder := minilm_embedder()) is not None:
        systems.append(("kwaak hybrid + MiniLM", embedder))
    indexed: list[str] = []
    for name, embedder in systems:
        cache = work / f"cache-{len(rows)}"
        index = await CodeIndex.open(make_config(repo, cache), repo, embedder=embedder)
        stats = await index.update()
        print(f"{name}: indexed {stats.files_total} files / {stats.chunks_total} chunks in {stats.total_sec:.1f}s")
        indexed = sorted(index.parts.file_shas)
        for qset, queries in sets:
            ranked, p50 = await run_system(index, queries)
            rows.append((name, qset, len(queries), metrics(ranked, queries), p50))
        await index.close()
    baselines = [
        ("BM25 whole file, all files", WholeFileBM25(repo, indexed)),
        ("BM25 whole file, non-test .py", WholeFileBM25(repo, [p for p in indexed if _is_source(p)])),
    ]
    for name, baseline in baselines:
        for qset, queries in sets:
            rows.append((name, qset, len(queries), metrics([baseline.search(q.text) for q in queries], queries), None))
    return rows


def main() -> None:
    """Parse arguments, run, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hash", action="store_true", help="also evaluate with the HashEmbedder (slower)")
    parser.add_argument("--minilm", action="store_true", help="also evaluate with local MiniLM if installed")
    parser.add_argument("--work", type=Path, help="working directory (kept; reused by the next run)")
    parser.add_argument("--json", type=Path, help="also write the rows to this file")
    parser.add_argument(
        "--dev-snapshots",
        type=Path,
        help="also score the SWE-bench Lite dev set (dev_set.py) with repository snapshots from this folder",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kwaak-eval-") as tmp:
        work = args.work or Path(tmp)
        rows = asyncio.run(evaluate(work, hash_embedder=args.hash, minilm=args.minilm))
        if args.dev_snapshots is not None:
            import dev_set

            cases = dev_set.load_cases(dev_set.default_cases())
            dev_rows, _ = asyncio.run(dev_set.evaluate(cases, args.dev_snapshots, work / "dev", max(KS)))
            rows += dev_rows
    report(rows, args.json)


if __name__ == "__main__":
    main()
