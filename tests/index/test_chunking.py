"""Chunk boundaries per language, size bounds, small files, fallbacks."""

from __future__ import annotations

from pathlib import Path

import pytest

from kwaak.index.chunking import Chunk, chunk_text
from kwaak.index.languages import LanguageSet, available_grammars

# Each sample defines two top-level units of similar size, so a budget of 3/4 of the file must put
# them in separate chunks, cut exactly where the second one starts.
SAMPLES: dict[str, tuple[str, str, tuple[str, str]]] = {
    "python": (
        "a.py",
        "def alpha(x):\n    total = x + 1\n    total = total * 2\n    return total  # alpha does arithmetic\n\n\n"
        "class Beta:\n    def gamma(self):\n        return 'a value from gamma in class Beta'\n"
        "    def delta(self):\n        return 42\n",
        ("alpha", "Beta"),
    ),
    "rust": (
        "a.rs",
        "fn alpha(x: i32) -> i32 {\n    let total = x + 1;\n    let total = total * 2;\n"
        "    total // alpha arithmetic\n}\n\n"
        'impl Beta {\n    fn gamma(&self) -> &str {\n        "a value from gamma in impl Beta"\n    }\n}\n',
        ("alpha", "Beta"),
    ),
    "typescript": (
        "a.ts",
        "function alpha(x: number): number {\n  const total = x + 1;\n  return total * 2; // alpha arithmetic\n}\n\n"
        "class Beta {\n  gamma(): string {\n    return 'a value from gamma in class Beta, long enough';\n  }\n}\n",
        ("alpha", "Beta"),
    ),
    "tsx": (
        "a.tsx",
        "function alpha(x: number): number {\n  const total = x + 1;\n  return total * 2; // alpha arithmetic\n}\n\n"
        "const Beta = () => {\n  return <div className='beta'>a value from the Beta component, long</div>;\n};\n",
        ("alpha", "Beta"),
    ),
    "javascript": (
        "a.js",
        "function alpha(x) {\n  const total = x + 1;\n  return total * 2; // alpha does arithmetic here, ok\n}\n\n"
        "class Beta {\n  gamma() {\n    return 'a value from gamma in class Beta, long enough';\n  }\n}\n",
        ("alpha", "Beta"),
    ),
    "go": (
        "a.go",
        "package main\n\nfunc alpha(x int) int {\n\ttotal := x + 1\n\treturn total * 2 // alpha does arithmetic\n}\n\n"
        'func (b *Beta) Gamma() string {\n\treturn "a value from Gamma on Beta, long enough"\n}\n',
        ("alpha", "Gamma"),
    ),
    "java": (
        "A.java",
        "class Alpha {\n  int alpha(int x) {\n    int total = x + 1;\n"
        "    return total * 2; // alpha arithmetic\n  }\n}\n\n"
        'class Beta {\n  String gamma() {\n    return "a value from gamma in class Beta, long";\n  }\n}\n',
        ("Alpha", "Beta"),
    ),
    "ruby": (
        "a.rb",
        "def alpha(x)\n  total = x + 1\n  total = total * 2\n  total # alpha does arithmetic here\nend\n\n"
        "class Beta\n  def gamma\n    'a value from gamma in class Beta, long enough'\n  end\nend\n",
        ("alpha", "Beta"),
    ),
    "c": (
        "a.c",
        "int alpha(int x) {\n    int total = x + 1;\n    total = total * 2;\n"
        "    return total; /* alpha arithmetic */\n}\n\n"
        "struct Beta {\n    int gamma;\n    const char *name; /* a field of struct Beta, long */\n};\n",
        ("alpha", "Beta"),
    ),
    "cpp": (
        "a.cpp",
        "int alpha(int x) {\n    int total = x + 1;\n    total = total * 2;\n"
        "    return total; // alpha arithmetic\n}\n\n"
        "class Beta {\n  public:\n    int gamma() { return 42; } // gamma in class Beta, long\n};\n",
        ("alpha", "Beta"),
    ),
    "solidity": (
        "A.sol",
        "contract Alpha {\n    uint total;\n    function add(uint x) public { total += x; } // alpha\n}\n\n"
        "contract Beta {\n    function gamma() public pure returns (uint) { return 42; } // gamma\n}\n",
        ("Alpha", "Beta"),
    ),
}


def _rebuild(chunks: list[Chunk]) -> str:
    return "".join(c.content for c in chunks)


@pytest.mark.parametrize("grammar", sorted(SAMPLES))
def test_units_split_at_syntax_boundaries(grammar: str) -> None:
    assert grammar in available_grammars(), f"grammar {grammar} is not installed"
    path, source, (first, second) = SAMPLES[grammar]
    chunks = chunk_text(path, source, grammar, max_bytes=len(source.encode()) * 3 // 4)
    assert len(chunks) == 2, [c.content for c in chunks]
    assert first in chunks[0].symbols
    assert second in chunks[1].symbols
    second_line = next(i for i, line in enumerate(source.splitlines(), 1) if second in line and i > 2)
    assert chunks[1].start_line <= second_line
    assert chunks[0].end_line < second_line
    assert _rebuild(chunks) == source
    assert all(c.language == grammar for c in chunks)


@pytest.mark.parametrize("grammar", sorted(SAMPLES))
def test_small_file_is_one_chunk_with_all_symbols(grammar: str) -> None:
    path, source, (first, second) = SAMPLES[grammar]
    chunks = chunk_text(path, source, grammar, max_bytes=2048)
    assert len(chunks) == 1
    assert chunks[0].start_line == 1
    assert chunks[0].end_line == source.count("\n")
    assert {first, second} <= set(chunks[0].symbols)


def test_tiny_file_is_indexed() -> None:
    # kwaak 0.16.2 dropped chunks of <= 100 bytes, so this file was never searchable
    chunks = chunk_text("tiny.py", "X = 1\n", "python")
    assert chunks == [
        Chunk(path="tiny.py", start_line=1, end_line=1, language="python", symbols=(), context=(), content="X = 1\n")
    ]


def test_blank_file_has_no_chunks() -> None:
    assert chunk_text("empty.py", "\n\n  \n", "python") == []


def test_big_class_is_split_into_methods_with_context() -> None:
    method = "    def method_{0}(self):\n        return {0} * {0}  # padding padding padding\n\n"
    methods = "".join(method.format(i) for i in range(30))
    source = f"import os\n\n\nclass Big:\n    '''A big class.'''\n\n{methods}"
    chunks = chunk_text("big.py", source, "python", max_bytes=400)
    assert len(chunks) > 5
    assert all(len(c.content.encode()) <= 400 for c in chunks)
    assert _rebuild(chunks) == source
    # the class header travels with the first methods, not alone
    assert "class Big" in chunks[0].content or "class Big" in chunks[1].content
    assert all(c.context == ("Big",) for c in chunks if c.start_line > 10)
    found = {s for c in chunks for s in c.symbols}
    assert {f"method_{i}" for i in range(30)} <= found
    # each method lives in exactly one chunk
    for i in range(30):
        assert sum(f"def method_{i}(" in c.content for c in chunks) == 1


@pytest.mark.parametrize("max_bytes", [150, 512, 2048])
def test_size_bound_and_tiling_on_real_code(max_bytes: int) -> None:
    import json.decoder as module

    source = Path(module.__file__).read_text()
    chunks = chunk_text("json/decoder.py", source, "python", max_bytes=max_bytes)
    assert _rebuild(chunks) == source
    assert max(len(c.content.encode()) for c in chunks) <= max_bytes
    lines = [(c.start_line, c.end_line) for c in chunks]
    assert all(b[0] == a[1] + 1 for a, b in zip(lines, lines[1:], strict=False))
    assert any("JSONDecoder" in c.symbols for c in chunks)


def test_minified_long_line_is_cut_into_pieces() -> None:
    source = "var a=" + ",".join(str(i) for i in range(3000)) + ";\n"
    chunks = chunk_text("min.js", source, "javascript", max_bytes=1000)
    assert len(chunks) > 10
    assert all(c.start_line == 1 and c.end_line == 1 for c in chunks)
    assert all(len(c.content.encode()) <= 1000 for c in chunks)
    assert _rebuild(chunks) == source


def test_deeply_nested_expression_does_not_recurse_forever() -> None:
    source = "x = (\n" + "".join(f"    {i} +\n" for i in range(5000)) + "    0\n)\n"
    chunks = chunk_text("deep.py", source, "python", max_bytes=512)
    assert _rebuild(chunks) == source


def test_unparsable_file_still_fully_indexed() -> None:
    source = "def broken(:\n    ))) this is not python\n" * 50
    chunks = chunk_text("broken.py", source, "python", max_bytes=300)
    assert _rebuild(chunks) == source
    assert all(len(c.content.encode()) <= 300 for c in chunks)


def test_unknown_language_uses_paragraph_windows() -> None:
    paragraphs = [f"paragraph {i}\n" + "words " * 20 + "\n" for i in range(10)]
    source = "\n".join(paragraphs)
    chunks = chunk_text("notes.txt", source, None, max_bytes=300)
    assert _rebuild(chunks) == source
    assert all(c.language == "text" for c in chunks)
    # windows break at blank lines, so no paragraph is cut in two
    for paragraph in paragraphs:
        assert sum(paragraph in c.content for c in chunks) == 1


def test_markdown_split_by_headings() -> None:
    source = (
        "# Title\n\nIntro text.\n\n## Install\n\n"
        + "pip install things\n" * 10
        + "\n## Usage\n\n```python\n# not a heading\nrun()\n```\n\n"
        + "Use it well.\n" * 10
    )
    chunks = chunk_text("README.md", source, "markdown", max_bytes=250)
    assert _rebuild(chunks) == source
    assert any("Install" in c.symbols for c in chunks)
    usage = next(c for c in chunks if "Usage" in c.symbols)
    assert usage.content.startswith("## Usage")
    assert "not a heading" not in {s for c in chunks for s in c.symbols}


def test_language_set_extensions() -> None:
    c_only = LanguageSet.from_config(["C"])
    assert c_only.grammar_for("src/a.c") == "c"
    assert c_only.grammar_for("src/a.h") == "c"
    assert c_only.grammar_for("build/a.o") is None  # kwaak indexed object files
    assert c_only.grammar_for("README.md") == "markdown"
    assert c_only.grammar_for("src/a.py") is None
    multi = LanguageSet.from_config(["Rust", "Python", "Typescript"])
    assert multi.grammar_for("a.rs") == "rust"
    assert multi.grammar_for("a.py") == "python"
    assert multi.grammar_for("ui/App.tsx") == "tsx"
    assert multi.grammar_for("ui/app.js") == "javascript"
    assert multi.grammar_for("Makefile") is None
    assert multi.grammar_for("Makefile.doc") is None  # kwaak's suffix-match quirk
