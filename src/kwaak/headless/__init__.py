"""Headless front ends: ``run-agent`` and ``batch`` print events as text or JSON lines."""
