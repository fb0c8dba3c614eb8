"""Change detection: one resource's two versions compared (``differ``), a range of snapshots
in git (``rangediff``), how much each change matters (``severity``), and the snapshot commit
with its audit-trail message (``commit``)."""
