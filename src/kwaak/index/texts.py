"""What gets embedded for a chunk, and the key under which its vector can be reused."""

from __future__ import annotations

import hashlib


def embed_text(path: str, qa: str | None, content: str) -> str:
    """The text embedded for a chunk: its path, optional Q&A, then the content."""
    head = f"File: {path}\n"
    return head + (f"{qa}\n\n" if qa else "") + content


def text_hash(text: str) -> str:
    """Key for reusing a vector of identical text."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
