"""A tiny shop pricing module (kwaak's demo project)."""
