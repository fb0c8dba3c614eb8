"""``python -m driftaudit.collect.collectors``: print the read-only IAM policy driftaudit
needs, generated from the resource types (README shows the same); with ``caller``, the
policy of the credentials that assume it in each account and list the organization."""

import json
import sys

from driftaudit.collect.collectors import caller_policy, iam_policy

print(json.dumps(caller_policy() if sys.argv[1:] == ["caller"] else iam_policy(), indent=2))
