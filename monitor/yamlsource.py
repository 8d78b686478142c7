"""Read YAML while remembering where each value came from.

``load_yaml`` returns the plain data plus a map from a value's path (``("services", 3,
"sla")``) to its 1-based line, so configuration errors can say ``lifeline.yaml:42:``.
``${VAR}`` and ``${VAR:-default}`` in strings are replaced from the environment passed in;
an unset variable without a default is an error, never an empty string.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import yaml

from monitor.errors import ConfigError

Path = tuple[str | int, ...]

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$\$")


class SourceMap:
    """Lines of every path in one YAML document."""

    def __init__(self, filename: str, lines: dict[Path, int]) -> None:
        self.filename = filename
        self._lines = lines

    def line(self, path: Path) -> int | None:
        """The line of ``path``, or of its nearest ancestor that has one."""
        for end in range(len(path), -1, -1):
            found = self._lines.get(path[:end])
            if found is not None:
                return found
        return None

    def where(self, path: Path) -> str:
        line = self.line(path)
        return f"{self.filename}:{line}" if line else self.filename


def format_path(path: Path) -> str:
    """``("services", 3, "sla")`` → ``services[3].sla``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def load_yaml(text: str, filename: str, env: Mapping[str, str]) -> tuple[Any, SourceMap]:
    """Parse ``text``; raise ConfigError listing every problem with file:line."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark else ""
        raise ConfigError([f"{filename}{line}: YAML syntax error: {exc.problem}"]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([f"{filename}: YAML error: {exc}"]) from None
    if node is None:
        raise ConfigError([f"{filename}: the file is empty"])
    walk = _Walk(filename, env)
    try:
        data = _build(node, (), walk)
    except (_TooLarge, RecursionError):
        raise ConfigError(
            [f"{filename}: too many values (more than {MAX_VALUES:,}): aliases expanding?"]
        ) from None
    if walk.problems:
        raise ConfigError(walk.problems)
    return data, SourceMap(filename, walk.lines)


MAX_VALUES = 100_000
"""More values than a real configuration has; more means an alias bomb ("billion laughs")."""


class _Walk:
    """State of one document's walk: where values are, what is wrong, how much was built."""

    def __init__(self, filename: str, env: Mapping[str, str]) -> None:
        self.filename = filename
        self.env = env
        self.lines: dict[Path, int] = {}
        self.problems: list[str] = []
        self.values = 0
        self.active: set[int] = set()  # nodes being built on the current path (alias loops)

    def fail(self, line: int, message: str) -> None:
        self.problems.append(f"{self.filename}:{line}: {message}")


class _TooLarge(Exception):
    pass


def _build(node: yaml.Node, path: Path, walk: _Walk) -> Any:
    line = node.start_mark.line + 1
    walk.lines[path] = line
    walk.values += 1
    if walk.values > MAX_VALUES:
        raise _TooLarge
    if id(node) in walk.active:
        walk.fail(line, f"{format_path(path)}: an alias refers to itself")
        return None
    walk.active.add(id(node))
    try:
        return _build_node(node, path, walk)
    finally:
        walk.active.discard(id(node))


def _build_node(node: yaml.Node, path: Path, walk: _Walk) -> Any:
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key_line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                walk.fail(key_line, "keys must be plain names")
                continue
            key = _scalar(key_node)
            if key == "<<":
                walk.fail(key_line, "merge keys (<<) are not supported")
                continue
            if key in result:
                walk.fail(key_line, f"{format_path((*path, key))}: duplicate key")
            result[key] = _build(value_node, (*path, key), walk)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_build(child, (*path, i), walk) for i, child in enumerate(node.value)]
    where = f"{walk.filename}:{walk.lines[path]}: {format_path(path)}"
    try:
        value = _scalar(node)
    except (ValueError, yaml.YAMLError) as exc:  # e.g. an impossible date: 2026-02-30
        walk.problems.append(f"{where}: {exc}")
        return None
    if isinstance(value, str) and "$" in value:
        return _interpolate(value, walk.env, lambda msg: walk.problems.append(f"{where}: {msg}"))
    return value


def _scalar(node: yaml.Node) -> Any:
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    finally:
        loader.dispose()


def _interpolate(value: str, env: Mapping[str, str], report: Callable[[str], None]) -> str:
    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, default = match.group(1), match.group(2)
        if name in env:
            return env[name]
        if default is not None:
            return default
        report(f"environment variable {name} is not set")
        return ""

    return _VAR.sub(replace, value)
