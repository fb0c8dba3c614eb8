"""``driftaudit backfill``: history before the first snapshot, from AWS Config.

AWS Config keeps a configuration item (CI) for every recorded change of a resource. Backfill
reads them for the types Config records (``ResourceType.config``), converts each into the
canonical document the collectors write (:mod:`.convert`, through the type's own transform),
and writes a new git repository whose commits are snapshots dated at the items' capture
times (:mod:`.commits`), so every other command reads it as it reads the daily job's.

* :mod:`.windows`: which GetResourceConfigHistory windows a resource needs (pure);
* :mod:`.fetch`: the AWS calls (dumb: call, page, return raw items);
* :mod:`.checkpoint`: each resource's items on disk as soon as they are read (resuming);
* :mod:`.coverage`: what the recorder covers, said before anything is read;
* :mod:`.timeline`: the items of every resource merged into snapshots (pure);
* :mod:`.commits`: the snapshots written as commits, with their source in a trailer;
* :mod:`.source`: that trailer, written and read back in driftaudit's form only;
* :mod:`.job`: the whole run, as the command drives it.
"""
