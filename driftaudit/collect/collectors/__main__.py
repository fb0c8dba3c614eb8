"""``python -m driftaudit.collect.collectors``: print the read-only IAM policy driftaudit
needs, generated from the resource types (README shows the same)."""

import json

from driftaudit.collect.collectors import iam_policy

print(json.dumps(iam_policy(), indent=2))
