"""Attack tests: the model is hostile (issue 17)."""
