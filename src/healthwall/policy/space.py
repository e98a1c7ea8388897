"""The whole request space as numpy axes, and Cedar policies compiled to vectorized numpy.

Every attribute a policy reads is a finite code list, so the request space is a grid. For one
requester kind at a time, the grid has the axes below; each attribute is an array that broadcasts
along its own axis only, and each policy's condition (Cedar JSON AST) is compiled to numpy
operations over those arrays. One pass per kind yields the outcome (deny / review / permit) of
EVERY combination.

Axes (per kind): purpose x instrument x scope/geography x condition profile x named-elements state
x agent verification x resource (element, record label).

Condition *sets*: all 2^n subsets, grouped into the classes no policy can tell apart (see
:func:`condition_profiles`); one representative per class.

The compiler supports the Cedar subset the packs use (==, !=, &&, ||, !, contains, containsAny,
containsAll over literals and attributes of principal/resource/context); anything else is a
``ConfigError``, so a pack cannot silently escape the check. The compiled evaluation is
cross-checked against cedarpy on a sample (see ``policy.invariants``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import yaml
from numpy.typing import NDArray

from healthwall.errors import ConfigError
from healthwall.model.codes import (
    SMALL_AREAS,
    Condition,
    Element,
    Geography,
    Instrument,
    Label,
    Purpose,
    RequesterKind,
    ScopeKind,
)
from healthwall.policy.facts import Facts
from healthwall.policy.packs import (
    PACK_DIR,
    Bundle,
    bundle,
    element_attrs,
    known_packs,
    resource_labels,
)

NDIM = 7
PURPOSES = list(Purpose)
INSTRUMENTS = list(Instrument)
SCOPES: list[tuple[ScopeKind, Geography]] = [
    (ScopeKind.SINGLE_PATIENT, Geography.NONE),
    (ScopeKind.COHORT, Geography.NONE),
    *((ScopeKind.AGGREGATE, g) for g in Geography),
]
Atom = tuple[str, frozenset[str]]  # ("any" | "all", literal conditions)


def _condition_atoms(node: Any, found: set[Atom]) -> None:
    """Every test of ``context.conditions`` in a Cedar JSON AST, as (any|all, literals)."""
    if isinstance(node, list):
        for item in node:
            _condition_atoms(item, found)
        return
    if not isinstance(node, dict):
        return
    for op, arg in node.items():
        if op in ("contains", "containsAny", "containsAll") and isinstance(arg, dict):
            left = arg.get("left", {}).get(".", {})
            if left.get("attr") == "conditions" and left.get("left", {}).get("Var") == "context":
                right = arg.get("right", {})
                values = right.get("Set", [right])
                literals = frozenset(str(v.get("Value")) for v in values if isinstance(v, dict))
                found.add(("all" if op == "containsAll" else "any", literals))
        _condition_atoms(arg, found)


def condition_profiles(extra: Iterable[frozenset[str]] = ()) -> list[frozenset[Condition]]:
    """One condition set per class of sets that no policy (or invariant) can tell apart.

    Policies read ``context.conditions`` only through contains/containsAny/containsAll of literal
    sets (the compiler refuses anything else), so two sets giving the same truth value to every
    such test are equivalent. All 2^n subsets are grouped by those truth values and the smallest
    set of each group stands for it: every subset is covered, exactly.
    """
    atoms: set[Atom] = {("any", frozenset(e)) for e in extra}
    for pack in known_packs():
        for rule in bundle((pack,)).rules.values():
            _condition_atoms(rule.ast, atoms)
    ordered = sorted(atoms, key=lambda a: (a[0], sorted(a[1])))
    every = list(Condition)
    classes: dict[tuple[bool, ...], frozenset[Condition]] = {}
    subsets = (
        frozenset(c for i, c in enumerate(every) if mask >> i & 1)
        for mask in sorted(range(1 << len(every)), key=lambda m: (m.bit_count(), m))
    )
    for subset in subsets:
        values = {c.value for c in subset}
        key = tuple(
            bool(values & lits) if kind == "any" else lits <= values for kind, lits in ordered
        )
        classes.setdefault(key, subset)
    return list(classes.values())


def _invariant_conditions() -> list[frozenset[str]]:
    """Condition filters of the invariants file (they must be distinguishable too)."""
    raw = yaml.safe_load((PACK_DIR.parent / "invariants.yaml").read_text(encoding="utf-8"))
    found = []
    for inv in raw.get("invariants", []):
        for key in ("when", "unless"):
            filters = inv.get(key) or []
            for f in filters if isinstance(filters, list) else [filters]:
                if "condition" in f:
                    found.append(frozenset(str(v) for v in f["condition"]))
    return found


CONDITION_PROFILES: list[frozenset[Condition]] = condition_profiles(_invariant_conditions())
NAMED_STATES = ["not-given", "yes", "no"]  # instrument names no elements / names this / not this
AGENT_STATES = [False, True]
RESOURCES: list[tuple[Element, Label | None]] = [
    (e, lbl) for e in Element for lbl in resource_labels(e)
]
SHAPE = (
    len(PURPOSES),
    len(INSTRUMENTS),
    len(SCOPES),
    len(CONDITION_PROFILES),
    len(NAMED_STATES),
    len(AGENT_STATES),
    len(RESOURCES),
)

BoolArray = NDArray[np.bool_]


def along(axis: int, values: list[Any], dtype: Any) -> NDArray[Any]:
    """``values`` as an array that broadcasts along ``axis`` of the grid only."""
    shape = [1] * NDIM
    shape[axis] = len(values)
    return np.asarray(values, dtype=dtype).reshape(shape)


@dataclass(frozen=True)
class StrAttr:
    """A string attribute: codes into a vocabulary."""

    codes: NDArray[np.int16]
    vocab: dict[str, int]

    def eq(self, literal: Any) -> BoolArray:
        idx = self.vocab.get(literal) if isinstance(literal, str) else None
        if idx is None:
            return np.zeros_like(self.codes, dtype=bool)
        return np.asarray(self.codes == idx)

    def isin(self, literals: list[Any]) -> BoolArray:
        idx = [self.vocab[v] for v in literals if isinstance(v, str) and v in self.vocab]
        return np.isin(self.codes, np.asarray(idx, dtype=np.int16))


@dataclass(frozen=True)
class SetAttr:
    """A set-of-strings attribute: a bitmask per cell."""

    masks: NDArray[np.int64]
    vocab: dict[str, int]

    def bits(self, literals: list[Any]) -> tuple[int, bool]:
        bits, all_known = 0, True
        for v in literals:
            if isinstance(v, str) and v in self.vocab:
                bits |= 1 << self.vocab[v]
            else:
                all_known = False
        return bits, all_known

    def contains_any(self, literals: list[Any]) -> BoolArray:
        bits, _ = self.bits(literals)
        return np.asarray((self.masks & bits) != 0)

    def contains_all(self, literals: list[Any]) -> BoolArray:
        bits, known = self.bits(literals)
        if not known:
            return np.zeros_like(self.masks, dtype=bool)
        return np.asarray((self.masks & bits) == bits)


def _str_attr(axis: int, values: list[str]) -> StrAttr:
    vocab = {v: i for i, v in enumerate(dict.fromkeys(values))}
    return StrAttr(along(axis, [vocab[v] for v in values], np.int16), vocab)


def _set_attr(axis: int, values: list[list[str]]) -> SetAttr:
    vocab = {v: i for i, v in enumerate(sorted({x for vs in values for x in vs}))}
    masks = [sum(1 << vocab[x] for x in vs) for vs in values]
    return SetAttr(along(axis, masks, np.int64), vocab)


def environment(kind: RequesterKind) -> dict[tuple[str, str], Any]:
    """The attributes of every grid cell for one requester kind."""
    attrs = [element_attrs(e, lbl) for e, lbl in RESOURCES]
    return {
        ("principal", "kind"): StrAttr(np.zeros((1,) * NDIM, np.int16), {kind.value: 0}),
        ("context", "purpose"): _str_attr(0, [p.value for p in PURPOSES]),
        ("context", "instrument"): _str_attr(1, [i.value for i in INSTRUMENTS]),
        ("context", "scope"): _str_attr(2, [s.value for s, _ in SCOPES]),
        ("context", "geography"): _str_attr(2, [g.value for _, g in SCOPES]),
        ("context", "small_area"): along(2, [g in SMALL_AREAS for _, g in SCOPES], bool),
        ("context", "conditions"): _set_attr(
            3, [sorted(c.value for c in prof) for prof in CONDITION_PROFILES]
        ),
        ("context", "named_given"): along(4, [s != "not-given" for s in NAMED_STATES], bool),
        ("context", "element_named"): along(4, [s == "yes" for s in NAMED_STATES], bool),
        ("context", "agent_verified"): along(5, AGENT_STATES, bool),
        ("resource", "code"): _str_attr(6, [a["code"] for a in attrs]),
        ("resource", "labels"): _set_attr(6, [a["labels"] for a in attrs]),
        ("resource", "location"): along(6, [a["location"] for a in attrs], bool),
        ("resource", "identifying"): along(6, [a["identifying"] for a in attrs], bool),
        ("resource", "clinical"): along(6, [a["clinical"] for a in attrs], bool),
    }


class _Compiler:
    """Evaluates one policy's Cedar JSON AST over the grid environment."""

    def __init__(self, env: dict[tuple[str, str], Any], rule_id: str) -> None:
        self.env = env
        self.rule_id = rule_id

    def unsupported(self, what: str) -> ConfigError:
        return ConfigError(
            f"policy {self.rule_id}: '{what}' is outside the Cedar subset `policy check` proves",
            field="packs",
        )

    def expr(self, node: dict[str, Any]) -> Any:
        ((op, arg),) = node.items()
        if op == "Value":
            return arg
        if op == "Set":
            return [self.expr(x) for x in arg]
        if op == ".":
            key = (arg["left"].get("Var"), arg["attr"])
            if key not in self.env:
                raise self.unsupported(f"{key[0]}.{key[1]}")
            return self.env[key]
        if op in ("&&", "||"):
            left, right = self.truth(arg["left"]), self.truth(arg["right"])
            return (left & right) if op == "&&" else (left | right)
        if op == "!":
            return ~self.truth(arg["arg"])
        if op in ("==", "!="):
            result = self.equal(self.expr(arg["left"]), self.expr(arg["right"]))
            return result if op == "==" else ~result
        if op in ("contains", "containsAny", "containsAll"):
            return self.contains(op, self.expr(arg["left"]), self.expr(arg["right"]))
        raise self.unsupported(op)

    def truth(self, node: dict[str, Any]) -> BoolArray:
        value = self.expr(node)
        if isinstance(value, bool | np.ndarray):
            return np.asarray(value, dtype=bool)
        raise self.unsupported("non-boolean operand")

    def equal(self, left: Any, right: Any) -> BoolArray:
        if isinstance(right, StrAttr):
            left, right = right, left
        if isinstance(left, StrAttr) and not isinstance(right, StrAttr | SetAttr | list):
            return left.eq(right)
        if isinstance(left, str | bool | int) and isinstance(right, str | bool | int):
            return np.asarray(left == right)
        raise self.unsupported("== between these operands")

    def contains(self, op: str, left: Any, right: Any) -> BoolArray:
        if isinstance(left, list) and op == "contains" and isinstance(right, StrAttr):
            return right.isin(left)
        if isinstance(left, SetAttr) and op == "contains" and isinstance(right, str):
            return left.contains_any([right])
        if isinstance(left, SetAttr) and isinstance(right, list):
            return left.contains_any(right) if op == "containsAny" else left.contains_all(right)
        raise self.unsupported(f"{op} between these operands")

    def policy(self, ast: dict[str, Any]) -> BoolArray:
        if ast["principal"].get("op") != "All" or ast["resource"].get("op") != "All":
            raise self.unsupported("principal/resource scope")
        result = np.asarray(True)
        for cond in ast.get("conditions", []):
            body = self.truth(cond["body"])
            result = result & (body if cond["kind"] == "when" else ~body)
        return result


@dataclass(frozen=True)
class Grid:
    """Outcomes of every cell for one kind, the resource axis packed into bits.

    ``disclose`` bit set: the element may go out (permit or review); ``release`` bit set: it may
    go out without review (permit). Deny is neither.
    """

    disclose: NDArray[np.uint8]
    release: NDArray[np.uint8]

    @property
    def size(self) -> int:
        return int(np.prod(SHAPE))

    def counts(self) -> dict[str, int]:
        permit = int(np.bitwise_count(self.release).sum())
        review = int(np.bitwise_count(self.disclose).sum()) - permit
        return {"deny": self.size - permit - review, "review": review, "permit": permit}

    def full(self) -> NDArray[np.int8]:
        """Every cell's outcome, unpacked: 0 deny, 1 review, 2 permit."""
        out = np.unpackbits(self.disclose, axis=-1, count=SHAPE[-1]).view(np.int8)
        out += np.unpackbits(self.release, axis=-1, count=SHAPE[-1]).view(np.int8)
        return out

    def outcome_at(self, index: tuple[int, ...]) -> int:
        """0 deny, 1 review, 2 permit."""
        *outer, r = index
        byte, bit = divmod(r, 8)
        mask = 0x80 >> bit
        where = (*outer, byte)
        return int(bool(self.disclose[where] & mask)) + int(bool(self.release[where] & mask))

    def first(self, scope: BoolArray, never: tuple[int, ...]) -> tuple[int, tuple[int, ...] | None]:
        """How many cells in ``scope`` have an outcome in ``never``, and the first of them."""
        bits = self.disclose if 1 in never else self.release
        if 1 in never and 2 not in never:
            bits = self.disclose & ~self.release
        bad = pack(np.broadcast_to(scope, (*scope.shape[:-1], SHAPE[-1]))) & bits
        count = int(np.bitwise_count(bad).sum())
        if not count:
            return 0, None
        flat = np.unpackbits(bad, axis=-1, count=SHAPE[-1])
        return count, tuple(int(i) for i in np.unravel_index(int(np.flatnonzero(flat)[0]), SHAPE))


def pack(cond: BoolArray) -> NDArray[np.uint8]:
    """A condition with the resource axis packed into bits (a constant one broadcast as 0/0xFF)."""
    if cond.shape[-1] > 1:
        return np.packbits(cond, axis=-1)
    return np.where(cond, np.uint8(0xFF), np.uint8(0)) & _VALID


_VALID = np.packbits(np.ones(SHAPE[-1], dtype=bool))  # the bits that are real cells


def outcomes(rules: Bundle, kind: RequesterKind) -> Grid:
    """Outcome of every grid cell for one requester kind."""
    env = environment(kind)
    # OR the conditions of rules over the same axes while they are small, then broadcast once.
    groups: dict[tuple[str, str, tuple[int, ...]], BoolArray] = {}
    for rule in rules.rules.values():
        cond = _Compiler(env, rule.id).policy(rule.ast)
        if not cond.any():  # e.g. a rule about another requester kind: nothing to add
            continue
        cond = cond.reshape(cond.shape + (1,) * (NDIM - cond.ndim))
        for action in rule.actions:
            key = (rule.effect, action, cond.shape)
            groups[key] = groups[key] | cond if key in groups else cond
    packed_shape = (*SHAPE[:-1], len(_VALID))
    acc = {
        (effect, action): np.zeros(packed_shape, dtype=np.uint8)
        for effect in ("permit", "forbid")
        for action in ("disclose", "release")
    }
    for (effect, action, _), cond in groups.items():
        acc[(effect, action)] |= pack(cond)
    disclose = acc[("permit", "disclose")] & ~acc[("forbid", "disclose")]
    release = disclose & acc[("permit", "release")] & ~acc[("forbid", "release")]
    return Grid(disclose, release)


def cell_facts(kind: RequesterKind, index: tuple[int, ...]) -> tuple[Facts, Element, Label | None]:
    """The request facts, element and label of one grid cell."""
    p, i, s, c, n, a, r = index
    element, label = RESOURCES[r]
    named_state = NAMED_STATES[n]
    if named_state == "not-given":
        named: frozenset[Element] | None = None
    elif named_state == "yes":
        named = frozenset({element})
    else:
        named = frozenset(e for e in Element if e is not element)
    scope, geography = SCOPES[s]
    facts = Facts(
        kind=kind,
        purpose=PURPOSES[p],
        instrument=INSTRUMENTS[i],
        scope=scope,
        geography=geography,
        conditions=CONDITION_PROFILES[c],
        named=named,
        agent_verified=AGENT_STATES[a],
    )
    return facts, element, label
