"""Implementations of the CLI verbs, one module each; ``kwaak.cli`` only parses arguments.

Each module exposes ``run(app: AppContext, ...) -> int`` (the exit code), imported lazily by the CLI
so that ``kwaak --help`` stays fast.
"""
