"""``--attribute`` and ``--ipam``: exact times and who did it, from CloudTrail and IPAM.

Snapshots bound every change by two snapshot times. CloudTrail's event history (the last 90
days of management events, per account and region) says exactly when, and who: for each
change of a ``diff`` or boundary of a ``history`` answer, the events naming the resource
between the two snapshots (plus a margin) are looked up and matched to the change; exactly
one match is the answer, zero or several keep the snapshot bounds and say why.

* :mod:`.events`: a LookupEvents event read into what matching needs (pure);
* :mod:`.effects`: what one event did (rules added and removed, instances launched and
  terminated, addresses allocated, associated, assigned...), from its XML-wire-form request
  and response (pure);
* :mod:`.questions`: what is asked of a boundary, and which events answer it (pure);
* :mod:`.lookup`: the LookupEvents calls (dumb), within 2 requests a second per account
  and region, cached per (resource, window) under ``DIR/.driftaudit/cloudtrail``;
* :mod:`.sessions`: the credentials of each account (the accounts file, else the caller's);
* :mod:`.fromdiff`, :mod:`.fromhistory`: the questions a diff or a history answer asks,
  and the answers written back into it;
* :mod:`.ipam`: Amazon VPC IPAM's own history of an address (GetIpamAddressHistory).
"""
