"""Agent tools: the framework (:mod:`kwaak.tools.base`) and the built-in tool set (:mod:`kwaak.tools.catalog`)."""
