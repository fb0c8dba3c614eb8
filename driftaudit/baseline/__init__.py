"""Declared baselines: what EC2 state should be, checked against the current snapshot.

``model`` holds the typed baseline and its vocabulary (protocols, ports, sources, paths),
``load`` reads and validates baseline files, ``snapshots`` reads the snapshot files,
``checks`` and ``evaluate`` compare (pure) into ``findings``, ``lines`` locates them in the
snapshot text, ``render`` writes text, Markdown, JSON, JUnit or SARIF, and ``init`` writes a
baseline from a snapshot.
"""
