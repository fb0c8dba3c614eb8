"""One module per CLI command; driftaudit.cli assembles them into the ``driftaudit`` group."""
