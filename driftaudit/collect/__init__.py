"""Collecting: sessions and clients (``aws``), the resource types (``collectors``), reading
every (account, region, type) part concurrently (``engine``), writing its files (``store``),
and the snapshot job that ties them together (``job``)."""
