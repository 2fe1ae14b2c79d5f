"""Optional second stage of file search: the query model reorders the top files.

Off by default (``[index] rerank``): it costs one model call per search. The model sees the query
and, per candidate, its path and the first lines of its best chunk, and answers with paths, most
likely first. Paths it does not return keep their fused order after the ones it does; paths it
invents are ignored; a provider error leaves the fused order (with a warning), never fails a search.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace

from kwaak.errors import KwaakError
from kwaak.index.results import Hit
from kwaak.llm.base import Model

log = logging.getLogger(__name__)

PREVIEW_LINES = 8
QUERY_CHARS = 6000
_PROMPT = """You rank source files for a code search. Query (an issue report or a question):

<query>
{query}
</query>

Candidate files, each with the start of its most relevant part:

{candidates}

Answer with the paths of the candidates most likely to be the file to read or change for this query,
most likely first, one path per line, nothing else. Use only paths from the list above."""
_PATH_LINE = re.compile(r"^[\s\-*•\d.)`'\"]*([^\s`'\"]+)")


def build_prompt(query: str, hits: list[Hit]) -> str:
    """The rerank prompt for ``hits``."""
    blocks = []
    for hit in hits:
        preview = "\n".join(hit.content.splitlines()[:PREVIEW_LINES])
        blocks.append(f"### {hit.path}\n```\n{preview}\n```")
    return _PROMPT.format(query=query[:QUERY_CHARS], candidates="\n\n".join(blocks))


def parse_order(reply: str, known: list[str]) -> list[str]:
    """The known paths in the order the reply names them (others ignored, duplicates once)."""
    wanted = set(known)
    order: list[str] = []
    for line in reply.splitlines():
        match = _PATH_LINE.match(line)
        if match and match.group(1) in wanted and match.group(1) not in order:
            order.append(match.group(1))
    return order


async def rerank(model: Model, query: str, hits: list[Hit], top: int) -> list[Hit]:
    """``hits`` with the first ``top`` reordered by ``model``; each reranked hit gets a ``rerank`` signal."""
    head, tail = hits[:top], hits[top:]
    if len(head) < 2:
        return hits
    try:
        reply = await model.prompt(build_prompt(query, head))
    except KwaakError as exc:
        log.warning("rerank skipped: %s", exc.message)
        return hits
    order = parse_order(reply, [h.path for h in head])
    by_path = {h.path: h for h in head}
    ranked = [by_path[p] for p in order] + [h for h in head if h.path not in order]
    out = [replace(h, signals={**h.signals, "rerank": i}) if h.path in order else h for i, h in enumerate(ranked, 1)]
    return out + tail
