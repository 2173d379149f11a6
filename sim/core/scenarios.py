"""Loading scenarios: YAML files, scenario names, ``--set`` overrides, clear errors.

Every failure raises :class:`ScenarioError` whose message is one line naming
the file, the field, the value and what is allowed; the CLI prints it and
exits with code 2.
"""

from __future__ import annotations

import difflib
import functools
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml
from pydantic import BaseModel, ValidationError

from sim.core.registry import dotted_key, flat_key  # noqa: F401  (re-exported: the page and tests use them)
from sim.core.schema import Scenario
from sim.core.shipped import SCENARIO_DIR  # noqa: F401  (re-exported: where the shipped scenarios are)


class ScenarioError(ValueError):
    """Bad scenario input: the message is one line meant for the user."""


#: the longest value echoed whole in a message; a longer one is cut (an error line stays one short line)
ECHO_LIMIT = 60


def short_repr(value: Any, limit: int = ECHO_LIMIT) -> str:
    """``repr(value)``, cut to about ``limit`` characters with the full length said:
    ``'99999999...' (5000 characters)``."""
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - a repr that fails (a huge int): say what it is
        text = f"<{type(value).__name__}>"
    if isinstance(value, int) and not isinstance(value, bool):
        digits = len(str(abs(value))) if value.bit_length() < 10_000 else None
        if digits is None or digits > limit:
            return f"an integer of {'more than 3,000' if digits is None else f'{digits:,}'} digits"
    if len(text) <= limit:
        return text
    n = len(value) if isinstance(value, (str, bytes)) else len(text)
    close = text[-1] if text[-1] in "'\"" else ""
    return f"{text[:limit - 10]}...{close} ({n:,} characters)"


def _one_line(text: Any) -> str:
    return " ".join(str(text).split())


def scenario_names() -> list[str]:
    """Names of the scenarios shipped in ``scenarios/`` (without ``.yaml``)."""
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml"))


def resolve_scenario_path(spec: str | Path) -> Path:
    """A path to a YAML file, or the name of one in ``scenarios/``."""
    p = Path(spec)
    if p.suffix in (".yaml", ".yml") or p.exists() or "/" in str(spec):
        if not p.is_file():
            raise ScenarioError(f"scenario file not found: {spec}")
        return p
    named = SCENARIO_DIR / f"{spec}.yaml"
    if named.is_file():
        return named
    close = difflib.get_close_matches(str(spec), scenario_names(), n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    raise ScenarioError(
        f"unknown scenario '{spec}'{hint}; known: {', '.join(scenario_names())} or a path to a .yaml file"
    )


def all_keys(model: type[BaseModel] = Scenario, prefix: str = "") -> list[str]:
    """Every dotted key of the schema, e.g. ``checkins.enabled``."""
    if model is Scenario and not prefix:
        return list(_schema_keys())
    return list(_walk_keys(model, prefix))


@functools.lru_cache(maxsize=1)
def _schema_keys() -> tuple[str, ...]:
    return tuple(_walk_keys(Scenario, ""))


def _walk_keys(model: type[BaseModel], prefix: str):
    for name, field in model.model_fields.items():
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            yield from _walk_keys(ann, prefix + name + ".")
        else:
            yield prefix + name


@functools.lru_cache(maxsize=1)
def schema_key_set() -> frozenset[str]:
    """The dotted keys of :func:`all_keys` as a set (computed once)."""
    return frozenset(_schema_keys())


def _suggest(key: str) -> str:
    keys = all_keys()
    close = difflib.get_close_matches(key, keys, n=1, cutoff=0.5)
    if not close:  # try the last part alone: "enabled" -> any "*.enabled" is too vague; match leaf names
        leaf = key.rsplit(".", 1)[-1]
        leaves = {k.rsplit(".", 1)[-1]: k for k in keys}
        m = difflib.get_close_matches(leaf, list(leaves), n=1, cutoff=0.75)
        close = [leaves[m[0]]] if m else []
    return f" (did you mean '{close[0]}'?)" if close else ""


def _describe_allowed(err: Mapping[str, Any]) -> str:
    ctx = err.get("ctx") or {}
    t = err["type"]
    if t == "literal_error":
        return f"allowed: {ctx.get('expected')}"
    bounds = {"greater_than_equal": ">=", "less_than_equal": "<=", "greater_than": ">", "less_than": "<"}
    if t in bounds:
        key = {">=": "ge", "<=": "le", ">": "gt", "<": "lt"}[bounds[t]]
        return f"must be {bounds[t]} {ctx.get(key)}"
    return err["msg"].lower()


def format_validation_error(exc: ValidationError, source: str) -> str:
    """One line from pydantic's first error."""
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"])
    if err["type"] == "extra_forbidden":
        return f"{source}: unknown key '{loc}'{_suggest(loc)}"
    if err["type"] == "value_error":
        msg = str(err.get("ctx", {}).get("error", err["msg"]))
        value = err.get("input")
        if loc and not isinstance(value, dict):  # a field's own check: name the key and the value
            return f"{source}: {loc} = {short_repr(value)}: {msg}"
        return f"{source}: {msg}"
    value = err.get("input")
    if isinstance(value, dict):
        return f"{source}: '{loc}' must be a single value, not a section"
    where = f"{loc} = {short_repr(value)}" if loc else f"value {short_repr(value)}"
    return f"{source}: {where}: {_describe_allowed(err)}"


def parse_override(text: str, via: str = "--set") -> tuple[str, Any]:
    """``"checkins.enabled=false"`` -> ``("checkins.enabled", False)`` (value read as YAML). Errors name
    ``via``: the command line's ``--set``, or the Python call (``sim.run``) whose ``set=`` held ``text``."""
    cli = via == "--set"
    if "=" not in text:
        raise ScenarioError(f"--set {text!r}: expected KEY=VALUE, e.g. --set checkins.enabled=false" if cli else
                            f"{via}: set item {text!r}: expected 'KEY=VALUE', e.g. 'checkins.enabled=false'")
    key, raw = text.split("=", 1)
    key = key.strip()
    if key not in schema_key_set():
        raise ScenarioError(f"{via}: unknown key '{key}'{_suggest(key)}")
    try:
        value = yaml.load(raw, Loader=StrictLoader) if raw.strip() else None  # aliases capped here too
    except yaml.YAMLError:
        raise ScenarioError(f"--set {key}: cannot read value {short_repr(raw)} as YAML" if cli else
                            f"{via}: set item {short_repr(text)}: cannot read the value {short_repr(raw)} as "
                            f"YAML") from None
    except ValueError:  # an integer of thousands of digits (Python refuses to read it)
        raise ScenarioError(f"{via}: {key} = {short_repr(raw.strip())}: a number far too large for any key"
                            ) from None
    return key, value


def apply_overrides(data: dict, overrides: Iterable[str] | Mapping[str, Any], via: str = "--set") -> dict:
    """Return ``data`` with dotted-key overrides applied (``via`` names them in errors), leaving ``data``
    unchanged: the top level and every section on an override's path are copied (the sections an override
    does not touch are shared with ``data``; no caller changes them in place)."""
    data = dict(data)
    copied: set[tuple[str, ...]] = set()
    items = overrides.items() if isinstance(overrides, Mapping) else (parse_override(o, via) for o in overrides)
    for key, value in items:
        if key not in schema_key_set():
            raise ScenarioError(f"{via}: unknown key '{key}'{_suggest(key)}")
        node = data
        parts = key.split(".")
        for i, part in enumerate(parts[:-1]):
            child = node.get(part)
            path = tuple(parts[: i + 1])
            if not isinstance(child, dict):
                child = {}
            elif path not in copied:
                child = dict(child)
            copied.add(path)
            node[part] = child
            node = child
        node[parts[-1]] = value
    return data


def _deep_copy(d):
    if isinstance(d, dict):
        return {k: _deep_copy(v) for k, v in d.items()}
    if isinstance(d, list):
        return [_deep_copy(v) for v in d]
    return d


#: Most nodes a scenario file may hold once its YAML aliases (``*name``) are expanded: far more than any
#: real scenario, far too few for an alias bomb (nested aliases that expand to gigabytes when the
#: scenario is merged and copied). Checked on the composed document, before anything is built.
MAX_NODES = 100_000


def _expanded_size(node, memo: dict) -> int:
    key = id(node)
    if key in memo:
        return memo[key]
    memo[key] = 1  # a recursive alias counts once
    if isinstance(node, yaml.SequenceNode):
        size = 1 + sum(_expanded_size(v, memo) for v in node.value)
    elif isinstance(node, yaml.MappingNode):
        size = 1 + sum(_expanded_size(k, memo) + _expanded_size(v, memo) for k, v in node.value)
    else:
        size = 1
    memo[key] = size = min(size, MAX_NODES + 1)
    return size


class StrictLoader(yaml.SafeLoader):
    """PyYAML's safe loader that refuses duplicate keys and documents that alias-expand past :data:`MAX_NODES`."""

    def compose_document(self):
        node = super().compose_document()
        if node is not None and _expanded_size(node, {}) > MAX_NODES:
            raise yaml.composer.ComposerError(
                None, None, f"more than {MAX_NODES:,} values once its aliases (*name) are expanded: refused, as an "
                f"alias bomb would be", node.start_mark)
        return node

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *base`: its keys may be overridden here
                continue
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r} (each key may appear once)", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, StrictLoader.construct_mapping)


def load_yaml_file(path: Path, what: str = "scenario") -> Any:
    """The YAML document of a file read with :class:`StrictLoader` (None for an empty one), or
    :class:`ScenarioError` with one line naming the file and what is wrong (unreadable, not UTF-8, a control
    character, malformed YAML with its line and column)."""
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise ScenarioError(f"cannot read {what} file {path}: {e.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ScenarioError(f"{path}: not UTF-8 text (undecodable byte at offset {e.start})") from None
    try:
        return yaml.load(text, Loader=StrictLoader)
    except ValueError as e:  # not a YAMLError: an integer of thousands of digits (Python refuses to read it)
        if isinstance(e, yaml.YAMLError):
            raise
        raise ScenarioError(f"{path}: holds a number far too large for any key ({_one_line(e)})") from None
    except yaml.reader.ReaderError as e:  # a NUL or another control character: no line/column mark
        raise ScenarioError(f"{path}: holds the control character {chr(e.character)!r} at offset {e.position}; "
                            f"a {what} file is plain text") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}:" if mark else ""
        problem = getattr(e, "problem", None) or "unreadable"
        raise ScenarioError(f"{path}:{where} malformed YAML: {problem}") from None


def read_yaml(path: Path) -> dict:
    data = load_yaml_file(path, "scenario")
    if data is None:
        raise ScenarioError(f"{path}: the file is empty (or only comments): a scenario needs at least one key, "
                            f"e.g. 'extends: baseline'")
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: a scenario must be a mapping of keys, got {type(data).__name__}")
    return data


def _merge(base: dict, over: dict) -> dict:
    out = _deep_copy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = _deep_copy(v)
    return out


def read_scenario_file(path: Path, _seen: tuple = ()) -> dict:
    """Read a scenario file, resolving ``extends: NAME`` (a scenario it builds on).

    A variant such as ``no-checkins`` names its base and changes only what
    differs, so the difference between two scenarios is visible in the file.
    """
    data = read_yaml(path)
    base = data.pop("extends", None)
    if base is None:
        return data
    if not isinstance(base, str):
        raise ScenarioError(f"{path}: extends = {base!r}: must be the name or path of a scenario")
    candidate = Path(base) if ("/" in base or base.endswith((".yaml", ".yml"))) else None
    if candidate is not None and not candidate.is_absolute():
        candidate = path.parent / candidate
    try:
        base_path = candidate if candidate is not None and candidate.is_file() else resolve_scenario_path(base)
    except ScenarioError as e:
        raise ScenarioError(f"{path}: extends: {e}") from None
    key = base_path.resolve()
    if key in _seen:
        raise ScenarioError(f"{path}: extends = {base!r} makes a cycle")
    return _merge(read_scenario_file(base_path, _seen + (key,)), data)


def load_scenario(
    spec: str | Path | Mapping[str, Any] | Scenario | None = None,
    overrides: Iterable[str] | Mapping[str, Any] = (),
    via: str = "--set",
) -> Scenario:
    """Load and validate a scenario.

    Parameters
    ----------
    spec
        A scenario name from ``scenarios/`` (``"baseline"``), a path to a YAML
        file, a mapping of keys, an existing :class:`Scenario`, or ``None`` for
        the defaults.
    overrides
        ``["checkins.enabled=false", ...]`` as on the command line, or a
        mapping ``{"checkins.enabled": False}``.
    via
        How the overrides were given, for the messages: ``"--set"`` (the
        command line) or the Python call (``"sim.run"``). A bad overridden
        value is reported against it, not against the scenario file.
    """
    base_dir = None
    if spec is None:
        data, source = {}, "scenario"
    elif isinstance(spec, Scenario):
        data, source = spec.model_dump(exclude_unset=False), f"scenario {spec.name!r}"
        if not overrides:
            return spec
    elif isinstance(spec, Mapping):
        data, source = dict(spec), "scenario"
    else:
        path = resolve_scenario_path(spec)
        data, source = read_scenario_file(path), str(path)
        base_dir = path.parent
    keys = set(overrides) if isinstance(overrides, Mapping) else {parse_override(o, via)[0] for o in overrides}
    data = apply_overrides(data, overrides, via)
    # A lattice's size follows its width and height: when only they change, drop the old size.
    net = data.get("network") if isinstance(data.get("network"), dict) else {}
    pop = data.get("population")
    if (net.get("kind") == "lattice" and isinstance(pop, dict) and "population.size" not in keys
            and ({"network.width", "network.height"} & keys or isinstance(spec, Scenario))):
        data["population"] = pop = dict(pop)  # the section may be shared with the caller's data
        pop.pop("size", None)
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as e:
        loc = ".".join(str(p) for p in e.errors()[0]["loc"])
        if loc in keys:
            blame = via
        else:  # a check across keys (width*height): name the override too when it took part
            said = format_validation_error(e, "")
            blame = f"{source} with {via}" if any(k in said for k in keys) else source
        raise ScenarioError(format_validation_error(e, blame)) from None
    net = scenario.network
    if net.kind == "edgelist" and net.path:
        p = Path(net.path)
        if base_dir is not None and not p.is_absolute() and not p.exists():
            p = base_dir / p
            object.__setattr__(net, "path", str(p))
        if not p.is_file():
            raise ScenarioError(f"{source}: network.path = {net.path!r}: edge list file not found")
    return scenario


# ----------------------------------------------------------------------------- reading the schema's fields
# Dotted keys (``checkins.enabled``) and their field metadata are read here; their flat keyword form
# (``checkins_enabled``, what ``MutualAidModel(**params)`` takes) is sim.core.registry's flat_key/dotted_key.


def flat_overrides(flat: Mapping[str, Any], via: str | None = None, top_level: bool = True) -> dict[str, Any]:
    """``{"checkins_enabled": False}`` -> ``{"checkins.enabled": False}``. With ``via`` (the Python call that
    took them as keywords), an unknown keyword is a :class:`ScenarioError` naming the call and the closest
    keyword; ``top_level`` False refuses the top-level keys too (``steps``: a call with its own argument)."""
    if via is not None:
        known = {flat_key(k): k for k in all_keys() if top_level or "." in k}
        for k in flat:
            if k not in known:
                close = difflib.get_close_matches(k, list(known), n=1, cutoff=0.6)
                hint = f" (did you mean {close[0]}?)" if close else ""
                raise ScenarioError(f"{via}: unknown keyword {k!r}{hint}; keywords are scenario keys with the "
                                    f"first dot as an underscore, e.g. population_size, checkins_prob")
    return {dotted_key(k): v for k, v in flat.items()}


def field_of(dotted: str):
    """The pydantic ``FieldInfo`` of a dotted key (type, bounds, default, description)."""
    parts = dotted.split(".")
    model: Any = Scenario
    for p in parts[:-1]:
        model = model.model_fields[p].annotation
    return model.model_fields[parts[-1]]


def value_of(sc: Scenario, dotted: str) -> Any:
    """The value of a dotted key in a scenario."""
    node: Any = sc
    for p in dotted.split("."):
        node = getattr(node, p)
    return node
