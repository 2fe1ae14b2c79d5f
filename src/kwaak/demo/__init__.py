"""``kwaak demo``: a scripted agent fixes a bug in a bundled sample project, offline."""
