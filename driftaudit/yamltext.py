"""Reading YAML the tool did not write itself (baselines, ``driftaudit.yaml``, snapshot files
that may have been edited by hand or in a pull request), and finding lines in it.

One home for three things every reader needs:

* **no aliases or anchors**: driftaudit never writes them, and a "billion laughs" document
  (anchors referring to anchors) is tiny as text and exponential as a tree. Detected on the
  composed node graph in one linear pass (an alias is a node reached twice), so even
  LibYAML's composer can be used;
* **no duplicate keys**: PyYAML keeps the last of two equal keys without a word, so a second
  ``ingress:`` would silently drop the first block; checked in the same pass;
* **lines**: the 1-based line of the node at a JSON path (keys, list indexes), as deep as the
  path exists, for ``file:line:`` messages.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml

LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class YamlProblem(ValueError):
    """A YAML text that cannot be read: ``line`` (1-based) and what is wrong."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def _mark_line(error: yaml.YAMLError, text: str) -> int:
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    if mark is None:
        return 1
    # At the end of the stream PyYAML points past the last line.
    line: int = mark.line + 1
    return max(1, min(line, len(text.splitlines()) or 1))


def check_graph(root: yaml.Node | None) -> None:
    """Reject aliases (a node reached twice) and duplicate keys, in one linear pass."""
    if root is None:
        return
    seen: set[int] = set()
    stack: list[yaml.Node] = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            raise YamlProblem(
                node.start_mark.line + 1,
                "YAML anchors and aliases are not accepted (driftaudit never writes them)",
            )
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            keys: set[str] = set()
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode):
                    if key.value in keys:
                        raise YamlProblem(
                            key.start_mark.line + 1, f"duplicate key {str(key.value)[:80]!r}"
                        )
                    keys.add(key.value)
                stack.append(key)
                stack.append(value)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)


def compose(text: str) -> yaml.Node | None:
    """The checked node graph of a single-document YAML text (None when empty)."""
    loader = LOADER(text)
    try:
        node: yaml.Node | None = loader.get_single_node()
    except yaml.YAMLError as e:
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise YamlProblem(_mark_line(e, text), f"does not parse: {problem}") from e
    finally:
        loader.dispose()
    check_graph(node)
    return node


def construct(node: yaml.Node | None) -> Any:
    """Plain data from a checked node graph."""
    if node is None:
        return None
    loader = LOADER("")
    try:
        return loader.construct_document(node)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        raise YamlProblem(mark.line + 1 if mark else 1, f"does not parse: {e}") from e
    except ValueError as e:
        # A scalar that looks like a timestamp but is no date (2026-13-01): PyYAML's
        # constructor raises ValueError, with no mark; name the scalar's line.
        raise YamlProblem(_bad_scalar_line(node), f"does not parse: {e}") from e
    finally:
        loader.dispose()


def _bad_scalar_line(root: yaml.Node) -> int:
    """The line of the first timestamp scalar PyYAML cannot construct (1 if none)."""
    stack, loader = [root], yaml.SafeLoader("")
    while stack:
        node = stack.pop()
        if isinstance(node, yaml.ScalarNode) and node.tag.endswith(":timestamp"):
            try:
                loader.construct_yaml_timestamp(node)
            except ValueError:
                return int(node.start_mark.line) + 1
        elif isinstance(node, yaml.MappingNode):
            stack.extend(v for pair in reversed(node.value) for v in reversed(pair))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(reversed(node.value))
    return 1


def load(text: str) -> tuple[Any, yaml.Node | None]:
    """Data and node graph of a user-written YAML text, aliases and duplicate keys refused."""
    node = compose(text)
    return construct(node), node


def load_data(text: str) -> Any:
    """Data only, for snapshot files. Text without ``&`` or ``*`` cannot hold an anchor or
    alias, and is loaded straight away (the fast path for files driftaudit wrote: a repeated
    key there keeps the last, and ``validate`` reports the file as not canonical); the rest
    goes through :func:`load`, which refuses aliases in linear time."""
    if "&" not in text and "*" not in text:
        try:
            return yaml.load(text, Loader=LOADER)  # noqa: S506 - a safe loader
        except yaml.YAMLError as e:
            problem = getattr(e, "problem", None) or str(e).splitlines()[0]
            raise YamlProblem(_mark_line(e, text), f"does not parse: {problem}") from e
    node = compose(text)
    return construct(node)


def line_of(node: yaml.Node | None, path: Sequence[Any]) -> int:
    """1-based line of the node at a JSON path (keys and list indexes), or of its deepest
    part that exists. A mapping key's line is the key's own (a block value starts below)."""
    if node is None:
        return 1
    line = node.start_mark.line + 1
    for part in path:
        if isinstance(node, yaml.MappingNode):
            pair = next(
                ((k, v) for k, v in node.value if str(getattr(k, "value", None)) == str(part)),
                None,
            )
            if pair is None:
                break
            line, node = pair[0].start_mark.line + 1, pair[1]
        elif (
            isinstance(node, yaml.SequenceNode)
            and isinstance(part, int)
            and -len(node.value) <= part < len(node.value)
        ):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def json_path(path: Sequence[Any]) -> str:
    """``$.security_groups[0].ingress`` for ``["security_groups", 0, "ingress"]``."""
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)
