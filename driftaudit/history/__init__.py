"""History of the snapshots: who held an address, which rules allowed a source, when an
address was exposed. ``index`` builds an SQLite index from git, ``queries`` answers from it;
``holders`` and ``rules`` are the pure parts (what a document holds, CIDR and port matching)."""
