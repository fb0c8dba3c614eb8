"""Lines in a snapshot file, so SARIF (and text) can point at the offending rule or field.

Canonical YAML and JSON (JSON is YAML too) are composed into YAML nodes, which carry their
marks; a path is walked down from ``resource`` as deep as it exists.
"""

from __future__ import annotations

from typing import Any

import yaml

from driftaudit import yamltext
from driftaudit.baseline.model import Step
from driftaudit.rule import IDENTITY

#: Rule keys that identify a flattened security-group rule.
RULE_KEYS = IDENTITY


def compose(text: str) -> yaml.Node | None:
    """The node graph of a snapshot file, or None (then every line is 1): anchors, aliases
    and duplicate keys are refused in one linear pass, like every YAML driftaudit reads."""
    try:
        return yamltext.compose(text)
    except (yamltext.YamlProblem, RecursionError):
        return None


def _pair(node: yaml.Node, key: str) -> tuple[yaml.Node, yaml.Node] | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    return next(((k, v) for k, v in node.value if getattr(k, "value", None) == key), None)


def _scalars(node: yaml.Node) -> dict[str, str]:
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {str(k.value): str(v.value) for k, v in node.value if isinstance(v, yaml.ScalarNode)}


def _rule_node(rules: yaml.Node, rule: dict[str, Any]) -> yaml.Node | None:
    if not isinstance(rules, yaml.SequenceNode):
        return None
    want = {k: str(rule[k]) for k in RULE_KEYS if k in rule}
    item: yaml.Node
    for item in rules.value:
        have = _scalars(item)
        if all(have.get(k) == v for k, v in want.items()) and all(
            k in want for k in RULE_KEYS if k in have
        ):
            return item
    return None


def locate(root: yaml.Node | None, steps: tuple[Step, ...], rule: dict[str, Any] | None) -> int:
    """1-based line of the deepest node the path reaches (the rule's own line for a rule)."""
    if root is None:
        return 1
    pair = _pair(root, "resource")
    if pair is None:
        return root.start_mark.line + 1
    line, node = pair[0].start_mark.line + 1, pair[1]
    if rule is not None:
        rules = _pair(node, "Rules")
        if rules is None:
            return line
        found = _rule_node(rules[1], rule)
        return (found or rules[0]).start_mark.line + 1
    for step in steps:
        if step[0] == "key":
            pair = _pair(node, step[1])
            if pair is None:
                break
            line, node = pair[0].start_mark.line + 1, pair[1]
        elif isinstance(node, yaml.SequenceNode):
            if step[0] == "match":
                found = next((i for i in node.value if _scalars(i).get(step[1]) == step[2]), None)
            else:
                found = (
                    node.value[step[1]] if -len(node.value) <= step[1] < len(node.value) else None
                )
            if found is None:
                break
            line, node = found.start_mark.line + 1, found
        else:
            break
    return line
