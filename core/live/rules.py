"""Alert rules: when a live window (or a run of them) deserves an alert, once per episode.

Two kinds, written in a small YAML file (``examples/live_rules.yaml``)::

    rules:
      - name: machine fault
        classes: [fan_fault, valve_leak, pump_cavitation]   # any of these...
        probability: 0.8                                    # ...with fused probability >= 0.8
        windows: 3                                          # ...in 3 consecutive windows
      - name: microphone dead
        sense: audio                                        # audio or video
        unhealthy_for: 10                                   # seconds (any condition, or name one:)
        condition: silent                                   # optional: silent, clipping, dc_offset, missing,
                                                            #   black, frozen, blurred

A class rule looks at the fused head unless it says ``head: audio`` or ``head: video``; a head that
abstains (no input) never satisfies it. An *episode* is a run of windows in which the rule's
condition holds: the alert fires once, when the run reaches its length, and the rule re-arms at
the first window where the condition no longer holds. A dropped stream gives no windows, so it
neither ends nor extends an episode.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from core.live.health import CONDITIONS, unhealthy_for
from core.live.sources import LiveError
from core.models.interface import HEADS


@dataclass(frozen=True)
class ClassRule:
    """Any of ``classes`` with ``head`` probability >= ``probability`` in ``windows`` consecutive windows."""

    name: str
    classes: tuple[str, ...]
    probability: float = 0.8
    windows: int = 3
    head: str = "fused"

    def describe(self) -> str:
        return (f"{' or '.join(self.classes)} at {self.head} probability >= {self.probability:.0%} "
                f"for {self.windows} consecutive window{'s' if self.windows > 1 else ''}")


@dataclass(frozen=True)
class HealthRule:
    """``sense`` ("audio" or "video") unhealthy (any condition, or ``condition``) for ``seconds``."""

    name: str
    sense: str
    seconds: float = 10.0
    condition: str | None = None

    def describe(self) -> str:
        what = self.condition.replace("_", " ") if self.condition else "unhealthy"
        return f"{'microphone' if self.sense == 'audio' else 'camera'} {what} for {self.seconds:g} s"


Rule = ClassRule | HealthRule


def parse_rules(data, *, where: str = "the rules") -> list[Rule]:
    """Rules from parsed YAML (``{"rules": [...]}`` or the list itself). Raises LiveError naming the rule and field."""
    if data is None:
        return []
    items = data.get("rules") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise LiveError(f"{where} must hold a list under 'rules:'.")
    rules, names = [], set()
    for i, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise LiveError(f"Rule {i} in {where} is not a mapping of fields (name, classes, ...).")
        name = str(item.get("name") or f"rule {i}")
        if name in names:
            raise LiveError(f"Two rules in {where} are named '{name}'; give each its own name.")
        names.add(name)
        rules.append(_class_rule(item, name, where) if "classes" in item else _health_rule(item, name, where))
    return rules


def _number(item: dict, key: str, default, kind, name: str, where: str, low: float, high: float | None = None):
    value = item.get(key, default)
    try:
        value = kind(value)
    except (TypeError, ValueError):
        raise LiveError(f"'{key}' of rule '{name}' in {where} must be a number, not {value!r}.") from None
    if value < low or (high is not None and value > high) or (kind is int and value != item.get(key, default)):
        bounds = f"between {low:g} and {high:g}" if high is not None else f"at least {low:g}"
        raise LiveError(f"'{key}' of rule '{name}' in {where} must be {'a whole number ' if kind is int else ''}"
                        f"{bounds}; it is {item.get(key)!r}.")
    return value


def _class_rule(item: dict, name: str, where: str) -> ClassRule:
    classes = item["classes"]
    classes = [classes] if isinstance(classes, str) else classes
    if not isinstance(classes, list) or not classes or not all(isinstance(c, str) for c in classes):
        raise LiveError(f"'classes' of rule '{name}' in {where} must list one or more class names.")
    head = str(item.get("head", "fused"))
    if head not in HEADS:
        raise LiveError(f"'head' of rule '{name}' in {where} must be one of {', '.join(HEADS)}; it is '{head}'.")
    _unknown(item, {"name", "classes", "probability", "windows", "head"}, name, where)
    return ClassRule(name, tuple(classes), _number(item, "probability", 0.8, float, name, where, 0.0, 1.0),
                     _number(item, "windows", 3, int, name, where, 1), head)


def _health_rule(item: dict, name: str, where: str) -> HealthRule:
    sense = item.get("sense")
    if sense not in CONDITIONS:
        raise LiveError(f"Rule '{name}' in {where} needs 'classes' (a class rule) or 'sense: audio' / 'sense: video' "
                        f"(a health rule).")
    condition = item.get("condition")
    if condition is not None and condition not in CONDITIONS[sense]:
        raise LiveError(f"'condition' of rule '{name}' in {where} must be one of {', '.join(CONDITIONS[sense])} for "
                        f"the {sense}; it is '{condition}'.")
    _unknown(item, {"name", "sense", "unhealthy_for", "condition"}, name, where)
    return HealthRule(name, sense, _number(item, "unhealthy_for", 10.0, float, name, where, 0.0), condition)


def _unknown(item: dict, known: set, name: str, where: str) -> None:
    extra = sorted(set(item) - known)
    if extra:
        raise LiveError(f"Rule '{name}' in {where} has unknown field{'s' if len(extra) > 1 else ''} "
                        f"{', '.join(extra)}; the fields are {', '.join(sorted(known))}.")


def load_rules(path: str | Path) -> list[Rule]:
    """Rules from a YAML file. Raises LiveError (missing file, bad YAML, a bad field)."""
    path = Path(path)
    if not path.is_file():
        raise LiveError(f"No rules file named '{path}' was found.")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise LiveError(f"{path} is not valid YAML ({str(exc).splitlines()[0]}).") from None
    return parse_rules(data, where=str(path))


def rules_yaml(rules: list[Rule]) -> str:
    """The YAML text that :func:`parse_rules` reads back into ``rules``."""
    items = []
    for rule in rules:
        if isinstance(rule, ClassRule):
            item = {"name": rule.name, "classes": list(rule.classes), "probability": rule.probability,
                    "windows": rule.windows}
            if rule.head != "fused":
                item["head"] = rule.head
        else:
            item = {"name": rule.name, "sense": rule.sense, "unhealthy_for": rule.seconds}
            if rule.condition:
                item["condition"] = rule.condition
        items.append(item)
    return yaml.safe_dump({"rules": items}, sort_keys=False)


def check_classes(rules: list[Rule], classes) -> None:
    """Raise LiveError when a class rule names a class the model does not have."""
    for rule in rules:
        if isinstance(rule, ClassRule):
            unknown = [c for c in rule.classes if c not in classes]
            if unknown:
                raise LiveError(f"Rule '{rule.name}' names {', '.join(unknown)}, which the model does not know; "
                                f"its classes are {', '.join(classes)}.")


def longest_clip(rules: list[Rule], window: float, stride: float) -> float:
    """Seconds of the longest clip an alert of these rules saves (the windows that raised it)."""
    runs = [r.windows for r in rules if isinstance(r, ClassRule)]
    return window + (max(runs, default=1) - 1) * stride


@dataclass(frozen=True)
class Firing:
    """A rule that fires at a window: what it says and the span of the windows that raised it."""

    rule: Rule
    message: str
    start: float
    end: float


class RuleBook:
    """Evaluates rules window by window; each fires once per episode."""

    def __init__(self, rules: list[Rule], window: float, stride: float):
        self.rules, self.window, self.stride = list(rules), window, stride
        self.count = {r.name: 0 for r in self.rules}
        self.fired = {r.name: False for r in self.rules}

    def update(self, prediction, flagged: dict, end: float) -> list[Firing]:
        """The rules that fire at the window ending at ``end`` (session s), given its ``prediction``
        (:class:`core.predictions.Prediction`) and its flagged health conditions."""
        out = []
        for rule in self.rules:
            if isinstance(rule, ClassRule):
                held, message = self._class_holds(rule, prediction)
            else:
                seconds = unhealthy_for(flagged, rule.sense, rule.condition)
                held = seconds >= rule.seconds and seconds > 0
                message = f"{rule.name}: {rule.describe().rsplit(' for ', 1)[0]} for {seconds:.0f} s"
            if not held:
                self.count[rule.name], self.fired[rule.name] = 0, False
                continue
            self.count[rule.name] += 1
            enough = self.count[rule.name] >= (rule.windows if isinstance(rule, ClassRule) else 1)
            if enough and not self.fired[rule.name]:
                self.fired[rule.name] = True
                runs = rule.windows if isinstance(rule, ClassRule) else 1
                out.append(Firing(rule, message, end - self.window - (runs - 1) * self.stride, end))
        return out

    @staticmethod
    def _class_holds(rule: ClassRule, prediction) -> tuple[bool, str]:
        if not prediction.answered(rule.head):
            return False, ""
        probs = {c: float(prediction.probs[rule.head][prediction.classes.index(c)]) for c in rule.classes}
        best = max(probs, key=probs.get)
        return probs[best] >= rule.probability, (f"{rule.name}: {best} at {probs[best]:.0%} ({rule.head}) for "
                                                 f"{rule.windows} window{'s' if rule.windows > 1 else ''}")


__all__ = ["ClassRule", "HealthRule", "Rule", "Firing", "RuleBook", "parse_rules", "load_rules", "rules_yaml",
           "check_classes", "longest_clip"]
