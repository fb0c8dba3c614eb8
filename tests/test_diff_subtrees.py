"""DeepDiff runs only on the parts of two documents that differ (differ.differing): the
details are exactly those of DeepDiff over the whole keyed documents, on every registered
type's maximal model document mutated in many ways."""

from __future__ import annotations

import copy
import random
from collections.abc import Iterator
from typing import Any

import pytest
from deepdiff import DeepDiff

from driftaudit.canonical import Spec
from driftaudit.change.differ import Detail, deepdiff_details, differing, field_details, keyed
from driftaudit.collect.collectors import REGISTRY
from tests.test_models import collected

TYPES = sorted(REGISTRY)
#: Resources of each type from the model fake (every member filled, enums cycled).
LISTING = 3


def reference(old: dict[str, Any], new: dict[str, Any], spec: Spec) -> list[Detail]:
    """The plain whole-document DeepDiff, as diff compared before."""
    diff = DeepDiff(
        keyed(old, spec), keyed(new, spec), ignore_order=True, verbose_level=2, view="tree"
    )
    return deepdiff_details(diff)


def exact(details: list[Detail]) -> list[str]:
    """Op, path, old and new in order; repr tells True from 1 and 1 from 1.0."""
    return [repr((d.kind, d.op, d.path, d.old, d.new)) for d in details]


# --- mutations ------------------------------------------------------------------------------


def places(value: Any, trail: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path (keys and list positions) to a value inside ``value``."""
    yield trail
    if isinstance(value, dict):
        for k, v in value.items():
            yield from places(v, (*trail, k))
    elif isinstance(value, list):
        for n, v in enumerate(value):
            yield from places(v, (*trail, n))


def at(value: Any, trail: tuple[Any, ...]) -> Any:
    for step in trail:
        value = value[step]
    return value


def changed_scalar(value: Any, rng: random.Random) -> Any:
    choices: list[Any] = []
    if isinstance(value, bool):
        choices = [not value, int(value), str(value).lower()]
    elif isinstance(value, int):
        choices = [value + 1, float(value), bool(value % 2), str(value), None]
    elif isinstance(value, float):
        choices = [value + 0.5, int(value)]
    elif isinstance(value, str):
        choices = [value + "-x", "", value.upper() + "1", 1, True]
    else:
        choices = ["now-a-string", 0, False, {"Key": "v"}, []]
    return rng.choice(choices)


def mutate(doc: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """One change somewhere in a copy of ``doc``: a scalar changed (types too: bool <-> int,
    int -> float), a key added or removed, a list item added, removed, duplicated or the
    list reordered, a mapping or list replaced by something else."""
    out = copy.deepcopy(doc)
    trail = rng.choice([p for p in places(out) if p])
    parent, last = at(out, trail[:-1]), trail[-1]
    value = parent[last]
    kind = rng.randrange(6)
    if isinstance(value, list) and value and kind < 4:
        if kind == 0:
            value.pop(rng.randrange(len(value)))
        elif kind == 1:
            value.insert(rng.randrange(len(value) + 1), mutate_item(rng.choice(value), rng))
        elif kind == 2:
            rng.shuffle(value)
            value.reverse() if len(set(map(repr, value))) > 1 and rng.random() < 0.5 else None
        else:
            value.append(copy.deepcopy(rng.choice(value)))  # identity no longer unique
    elif isinstance(value, dict) and value and kind < 3:
        if kind == 0:
            value.pop(rng.choice(list(value)))
        elif kind == 1:
            value[f"Added{rng.randrange(99)}"] = rng.choice(["v", 7, True, {"Nested": 1.5}, [1]])
        else:
            key = rng.choice(list(value))
            value[key] = (
                changed_scalar(value[key], rng)
                if not isinstance(value[key], (dict, list))
                else mutate({"x": value[key]}, rng)["x"]
            )
    elif kind == 5:
        parent[last] = rng.choice([{"Now": "a mapping"}, ["now", "a", "list"], "scalar", None])
    elif isinstance(parent, dict) and kind == 4:
        del parent[last]
    else:
        parent[last] = changed_scalar(value, rng) if not isinstance(value, (dict, list)) else []
    return out


def mutate_item(item: Any, rng: random.Random) -> Any:
    """A new list item like ``item`` (its identity changed, so it is an item added)."""
    if isinstance(item, dict):
        out = copy.deepcopy(item)
        for k, v in out.items():
            if isinstance(v, str):
                out[k] = v + f"-{rng.randrange(1000)}"
        return out
    return changed_scalar(item, rng)


def pairs(name: str, count: int, seed: int) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    rng = random.Random(f"{name}-{seed}")
    for resource in collected(name, LISTING).values():
        base = {k: v for k, v in resource.items() if k not in ("Rules", "Tags")}
        for n in range(count):
            new = base
            for _ in range(1 + n % 3):
                new = mutate(new, rng)
            old = mutate(base, rng) if n % 4 == 3 else base  # both sides changed, at times
            yield old, new


# --- the tests ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", TYPES)
def test_details_are_the_whole_document_deepdiffs(name: str) -> None:
    spec = REGISTRY[name].spec
    seen = 0
    for old, new in pairs(name, 8, 1):
        expected = reference(old, new, spec)
        assert exact(field_details(old, new, spec)) == exact(expected), (old, new)
        seen += bool(expected)
    assert seen  # the mutations did change something


@pytest.mark.e2e
@pytest.mark.parametrize("name", TYPES)
def test_details_are_the_whole_document_deepdiffs_many(name: str) -> None:
    spec = REGISTRY[name].spec
    for old, new in pairs(name, 30, 2):
        assert exact(field_details(old, new, spec)) == exact(reference(old, new, spec))


def test_only_the_differing_parts_are_handed_over() -> None:
    spec = REGISTRY["instances"].spec
    [first, *_] = collected("instances", LISTING).values()
    base = {k: v for k, v in first.items() if k not in ("Rules", "Tags")}
    new = copy.deepcopy(base)
    new["Placement"]["AvailabilityZone"] = "elsewhere-1a"
    new["EbsOptimized"] = 1 if base["EbsOptimized"] is True else True  # a type change
    old_part, new_part = differing(base, new, spec)
    assert old_part == {
        "Placement": {"AvailabilityZone": base["Placement"]["AvailabilityZone"]},
        "EbsOptimized": base["EbsOptimized"],
    }
    assert new_part == {
        "Placement": {"AvailabilityZone": "elsewhere-1a"},
        "EbsOptimized": new["EbsOptimized"],
    }
    # A key removed: DeepDiff weighs the shared keys against all, so they stay, as None.
    new.pop("KernelId")
    old_part, new_part = differing(base, new, spec)
    assert old_part.keys() == base.keys() and new_part.keys() == new.keys()
    assert old_part["KernelId"] == base["KernelId"] and old_part["ImageId"] is None
    assert exact(field_details(base, new, spec)) == exact(reference(base, new, spec))
    assert differing(base, copy.deepcopy(base), spec) == ({}, {})
    # A list keyed by its items' identity is pruned to the item that changed.
    device = base["BlockDeviceMappings"][0]["DeviceName"]
    new = copy.deepcopy(base)
    new["BlockDeviceMappings"][0]["Ebs"]["DeleteOnTermination"] ^= True
    old_part, new_part = differing(base, new, spec)
    assert list(old_part) == ["BlockDeviceMappings"]
    assert list(old_part["BlockDeviceMappings"]) == [f"[DeviceName={device}]"]
    assert exact(field_details(base, new, spec)) == exact(reference(base, new, spec))
