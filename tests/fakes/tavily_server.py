"""A fake Tavily search API on 127.0.0.1 (``POST /search``).

Requests need ``Authorization: Bearer <api_key>``. The answer, results and follow-up questions
it returns are attributes, so a test sets exactly what the tool should render.
"""

from __future__ import annotations

from typing import Any

from tests.fakes.web_server import FakeHTTPServer, RecordedRequest, Response

DEFAULT_RESULTS: list[dict[str, Any]] = [
    {
        "title": "Kwaak on GitHub",
        "url": "https://github.com/bosun-ai/kwaak",
        "content": "Run a team of autonomous agents on your code.",
        "score": 0.92,
    },
    {
        "title": "Kwaak docs",
        "url": "https://docs.example.com/kwaak",
        "content": "How to configure kwaak.toml.",
        "score": 0.61,
    },
    {
        "title": "Unrelated duck facts",
        "url": "https://ducks.example.com",
        "content": "Ducks say quack.",
        "score": 0.12,
    },
]


class FakeTavily(FakeHTTPServer):
    """The fake Tavily server."""

    def __init__(self, *, api_key: str = "tvly-fake-key") -> None:
        super().__init__()
        self.api_key = api_key
        self.answer: str | None = "Kwaak is a terminal tool that runs AI coding agents."
        self.results: list[dict[str, Any]] = [dict(r) for r in DEFAULT_RESULTS]
        self.follow_up_questions: list[str] | None = None
        self.status = 200

    def handle(self, request: RecordedRequest) -> Response:
        if request.path != "/search" or request.method != "POST":
            return Response.json({"detail": {"error": "Not Found"}}, status=404)
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            return Response.json({"detail": {"error": "Unauthorized: missing or invalid API key."}}, status=401)
        if self.status != 200:
            return Response.json({"detail": {"error": "Something went wrong"}}, status=self.status)
        query = request.json() or {}
        return Response.json(
            {
                "query": query.get("query", ""),
                "answer": self.answer if query.get("include_answer") else None,
                "results": self.results[: int(query.get("max_results", 5))],
                "follow_up_questions": self.follow_up_questions,
                "images": [],
                "response_time": 0.01,
            }
        )
