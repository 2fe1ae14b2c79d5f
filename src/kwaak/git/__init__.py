"""Git and GitHub: an async wrapper over the git binary, per-agent worktrees, the GitHub API."""
