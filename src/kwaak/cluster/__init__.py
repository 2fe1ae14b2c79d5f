"""``kwaak batch --cluster``: each batch task as a Ray task on a Ray cluster (the ``ray`` extra).

``driver.py`` (connect, schedule up to ``--parallel`` tasks with their resources, stream events,
fetch branches, cancel on signals), ``worker.py`` (the Ray task: the repository from a git bundle,
the same headless runner, the agent's commits back as a bundle), ``portable.py`` (the config
without secrets; secrets as runtime-environment variables), ``bundles.py`` (git bundles both ways,
host git hardened). Ray is imported only here, and only when ``--cluster`` is used.
"""
