"""Which files belong to which language, and the tree-sitter grammar and definitions of each.

Extensions follow kwaak 0.16.2 (§7.2) for every configured language, plus markdown, minus kwaak's
``.o`` quirk (object files are binaries, never source). The grammar is picked per *extension*, so a
repository configured as ``["rust", "python"]`` chunks each file with its own grammar (0.19's
multi-language chunker).
"""

from __future__ import annotations

import functools
import importlib
import threading
import warnings
from collections.abc import Iterable
from dataclasses import dataclass

from tree_sitter import Language, Parser, Query, QueryError

MARKDOWN = "markdown"

_EXTENSIONS: dict[str, tuple[str, ...]] = {
    "Rust": ("rs",),
    "Typescript": ("ts", "tsx", "js", "jsx", "mjs", "cjs", "mts", "cts"),
    "Python": ("py", "pyi"),
    "Ruby": ("rb",),
    "Javascript": ("js", "jsx", "mjs", "cjs"),
    "Java": ("java",),
    "Go": ("go",),
    "Solidity": ("sol",),
    "C": ("c", "h"),
    "C++": ("c", "h", "cc", "cpp", "cxx", "hpp", "hh", "hxx"),
}

# extension -> grammar name (the name stored as a chunk's language)
_GRAMMAR_BY_EXTENSION: dict[str, str] = {
    "rs": "rust",
    "ts": "typescript",
    "mts": "typescript",
    "cts": "typescript",
    "tsx": "tsx",
    "js": "javascript",
    "jsx": "javascript",
    "mjs": "javascript",
    "cjs": "javascript",
    "py": "python",
    "pyi": "python",
    "rb": "ruby",
    "java": "java",
    "go": "go",
    "sol": "solidity",
    "c": "c",
    "h": "c",
    "cc": "cpp",
    "cpp": "cpp",
    "cxx": "cpp",
    "hpp": "cpp",
    "hh": "cpp",
    "hxx": "cpp",
    "md": MARKDOWN,
    "markdown": MARKDOWN,
}

# grammar name -> (module, function returning the language pointer)
_GRAMMAR_MODULES: dict[str, tuple[str, str]] = {
    "python": ("tree_sitter_python", "language"),
    "rust": ("tree_sitter_rust", "language"),
    "typescript": ("tree_sitter_typescript", "language_typescript"),
    "tsx": ("tree_sitter_typescript", "language_tsx"),
    "javascript": ("tree_sitter_javascript", "language"),
    "go": ("tree_sitter_go", "language"),
    "java": ("tree_sitter_java", "language"),
    "ruby": ("tree_sitter_ruby", "language"),
    "c": ("tree_sitter_c", "language"),
    "cpp": ("tree_sitter_cpp", "language"),
    "solidity": ("tree_sitter_solidity", "language"),
}


def _named(*node_types: str, name: str = "(_)") -> tuple[str, ...]:
    return tuple(f"({t} name: {name} @name) @def" for t in node_types)


_JS_PATTERNS = (
    *_named(
        "function_declaration",
        "generator_function_declaration",
        "class_declaration",
        "abstract_class_declaration",
        "method_definition",
        "interface_declaration",
        "type_alias_declaration",
        "enum_declaration",
        "method_signature",
        "abstract_method_signature",
        "internal_module",
        "module",
    ),
    "(variable_declarator name: (identifier) @name value: [(arrow_function) (function_expression)]) @def",
    "(variable_declarator name: (identifier) @name value: [(arrow_function) (function)]) @def",
    "(public_field_definition name: (_) @name value: (arrow_function)) @def",
)
_C_PATTERNS = (
    "(function_definition declarator: (function_declarator declarator: (_) @name)) @def",
    "(function_definition declarator: (pointer_declarator declarator: "
    "(function_declarator declarator: (_) @name))) @def",
    "(declaration declarator: (function_declarator declarator: (identifier) @name)) @def",
    "(struct_specifier name: (_) @name body: (_)) @def",
    "(union_specifier name: (_) @name body: (_)) @def",
    "(enum_specifier name: (_) @name body: (_)) @def",
    "(type_definition declarator: (type_identifier) @name) @def",
    "(preproc_function_def name: (identifier) @name) @def",
)

# grammar -> tree-sitter query patterns capturing each definition (@def) and its name (@name).
# Patterns that a grammar version does not know are skipped when compiled.
DEFINITION_PATTERNS: dict[str, tuple[str, ...]] = {
    "python": _named("function_definition", "class_definition"),
    "rust": (
        *_named(
            "function_item",
            "function_signature_item",
            "struct_item",
            "enum_item",
            "union_item",
            "trait_item",
            "mod_item",
            "type_item",
            "const_item",
            "static_item",
            "macro_definition",
        ),
        "(impl_item type: (_) @name) @def",
    ),
    "typescript": _JS_PATTERNS,
    "tsx": _JS_PATTERNS,
    "javascript": _JS_PATTERNS,
    "go": (*_named("function_declaration", "method_declaration", "type_spec", "method_elem", "method_spec"),),
    "java": _named(
        "class_declaration",
        "interface_declaration",
        "enum_declaration",
        "record_declaration",
        "annotation_type_declaration",
        "method_declaration",
        "constructor_declaration",
    ),
    "ruby": _named("method", "singleton_method", "class", "module"),
    "c": _C_PATTERNS,
    "cpp": (
        *_C_PATTERNS,
        "(class_specifier name: (_) @name body: (_)) @def",
        "(namespace_definition name: (_) @name) @def",
        "(field_declaration declarator: (function_declarator declarator: (_) @name)) @def",
    ),
    "solidity": _named(
        "contract_declaration",
        "interface_declaration",
        "library_declaration",
        "function_definition",
        "modifier_definition",
        "event_definition",
        "struct_declaration",
        "enum_declaration",
        "error_declaration",
    ),
}


@dataclass(frozen=True, slots=True)
class LanguageSet:
    """The file extensions indexed for a set of configured languages."""

    extensions: frozenset[str]

    @classmethod
    def from_config(cls, languages: Iterable[str]) -> LanguageSet:
        """Build the set for kwaak's configured language names (markdown is always included)."""
        exts: set[str] = {"md"}
        for name in languages:
            exts.update(_EXTENSIONS.get(name, ()))
        return cls(frozenset(exts))

    def grammar_for(self, path: str) -> str | None:
        """The grammar name for ``path`` (``"markdown"`` for docs), or ``None`` when not indexed."""
        ext = extension(path)
        if ext not in self.extensions:
            return None
        return _GRAMMAR_BY_EXTENSION.get(ext)


def extension(path: str) -> str:
    """The lowercase extension of ``path`` without the dot (``""`` when there is none)."""
    name = path.rsplit("/", 1)[-1]
    if "." not in name.lstrip("."):
        return ""
    return name.rsplit(".", 1)[-1].lower()


_local = threading.local()


def parser_for(grammar: str) -> Parser | None:
    """A tree-sitter parser for ``grammar`` (one per thread) or ``None`` when its grammar is missing."""
    parsers: dict[str, Parser | None] = _local.__dict__.setdefault("parsers", {})
    if grammar not in parsers:
        language = language_for(grammar)
        parsers[grammar] = Parser(language) if language is not None else None
    return parsers[grammar]


@functools.cache
def language_for(grammar: str) -> Language | None:
    """The tree-sitter language of ``grammar`` or ``None`` when its grammar package is missing."""
    spec = _GRAMMAR_MODULES.get(grammar)
    if spec is None:
        return None
    try:
        module = importlib.import_module(spec[0])
    except ImportError:
        return None
    with warnings.catch_warnings():
        # tree-sitter-solidity still hands over an int pointer, which tree-sitter 0.26 deprecates.
        warnings.simplefilter("ignore", DeprecationWarning)
        return Language(getattr(module, spec[1])())


@functools.cache
def definitions_query(grammar: str) -> Query | None:
    """The compiled definition query of ``grammar`` (unknown node types are left out)."""
    language = language_for(grammar)
    if language is None:
        return None
    valid: list[str] = []
    for pattern in DEFINITION_PATTERNS.get(grammar, ()):
        try:
            Query(language, pattern)
        except QueryError:
            continue
        valid.append(pattern)
    return Query(language, "\n".join(valid)) if valid else None


def available_grammars() -> list[str]:
    """The grammars whose packages are importable here."""
    return [name for name in _GRAMMAR_MODULES if language_for(name) is not None]
