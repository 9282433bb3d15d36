"""A small, strict renderer for the subset of Helm's Go templates our chart uses.

`helm` cannot be installed here (not a Debian package, no Go toolchain), so tests/infra renders
infra/helm/brokerdesk with this instead. It implements Go text/template actions (output, `if` /
`else if` / `else`, `range` over lists and maps with optional `$i, $v :=`, `with`, `define`,
variables, comments, `{{-` / `-}}` trimming) and the Sprig/Helm functions listed in FUNCTIONS.

It is stricter than Helm on purpose: printing a missing value (Helm prints nothing) and calling an
unknown function are errors, so a typo in a `.Values` path fails the tests instead of rendering an
empty field. Anything the chart uses outside this subset fails loudly and must be added here.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class TemplateError(Exception):
    pass


# --- lexing -----------------------------------------------------------------------------------

_ACTION = re.compile(r"\{\{(-\s)?(.*?)(\s-)?\}\}", re.DOTALL)


def _lex(source: str, name: str) -> list[tuple[str, str]]:
    """Split into ("text", s) and ("action", s) items, applying trim markers."""
    items: list[tuple[str, str]] = []
    position = 0
    trim_next = False
    for match in _ACTION.finditer(source):
        text = source[position : match.start()]
        if trim_next:
            text = text.lstrip(" \t\r\n")
        if match.group(1):
            text = text.rstrip(" \t\r\n")
        items.append(("text", text))
        body = match.group(2).strip()
        if not (body.startswith("/*") and body.endswith("*/")):
            items.append(("action", body))
        trim_next = bool(match.group(3))
        position = match.end()
    if "{{" in source[position:]:
        raise TemplateError(f"{name}: unclosed action")
    text = source[position:]
    items.append(("text", text.lstrip(" \t\r\n") if trim_next else text))
    return items


_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<string>"(?:\\.|[^"\\])*")
  | (?P<raw>`[^`]*`)
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<declare>:=)
  | (?P<var>\$[A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)
  | (?P<field>(?:\.[A-Za-z0-9_]+)+|\.)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<punct>[()|,])
    """,
    re.VERBOSE,
)


def _tokens(expression: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    position = 0
    while position < len(expression):
        match = _TOKEN.match(expression, position)
        if not match:
            raise TemplateError(f"cannot parse {expression[position:]!r} in {expression!r}")
        kind = match.lastgroup or ""
        if kind != "ws":
            out.append((kind, match.group()))
        position = match.end()
    return out


# --- parsing ----------------------------------------------------------------------------------


@dataclass
class Node:
    kind: str  # text | output | if | range | with | assign
    text: str = ""
    pipeline: list[tuple[str, str]] = field(default_factory=list)
    body: list[Node] = field(default_factory=list)
    # if: [(pipeline, body)...]; else body in orelse
    branches: list[tuple[list[tuple[str, str]], list[Node]]] = field(default_factory=list)
    orelse: list[Node] = field(default_factory=list)
    variables: list[str] = field(default_factory=list)


def _parse(items: list[tuple[str, str]], name: str, defines: dict[str, list[Node]]) -> list[Node]:
    root: list[Node] = []
    # stack of (node, current body list, kind)
    stack: list[tuple[Node | None, list[Node], str]] = [(None, root, "root")]

    for kind, value in items:
        body = stack[-1][1]
        if kind == "text":
            if value:
                body.append(Node("text", text=value))
            continue
        words = value.split(None, 1)
        keyword = words[0] if words else ""
        rest = words[1] if len(words) > 1 else ""
        if keyword in {"if", "with"}:
            node = Node(keyword, branches=[(_tokens(rest), [])])
            body.append(node)
            stack.append((node, node.branches[0][1], keyword))
        elif keyword == "range":
            node = Node("range")
            if ":=" in rest:
                names, expression = rest.split(":=", 1)
                node.variables = [v.strip() for v in names.split(",")]
                rest = expression
            node.pipeline = _tokens(rest)
            body.append(node)
            stack.append((node, node.body, "range"))
        elif keyword == "define":
            define_name = json.loads(rest.strip())
            node = Node("define")
            defines[define_name] = node.body
            stack.append((node, node.body, "define"))
        elif keyword == "else":
            node, _, block = stack[-1]
            if node is None or block not in {"if", "with", "range"}:
                raise TemplateError(f"{name}: else outside if/with/range")
            if rest.startswith("if ") and block == "if":
                node.branches.append((_tokens(rest[3:]), []))
                stack[-1] = (node, node.branches[-1][1], block)
            elif not rest:
                stack[-1] = (node, node.orelse, block + "-else")
            else:
                raise TemplateError(f"{name}: unsupported else form {value!r}")
        elif keyword == "end":
            if len(stack) == 1:
                raise TemplateError(f"{name}: unexpected end")
            stack.pop()
        elif keyword in {"template", "block", "break", "continue"}:
            raise TemplateError(f"{name}: {keyword} is not supported by helmlite")
        else:
            tokens = _tokens(value)
            if len(tokens) > 1 and tokens[0][0] == "var" and tokens[1] == ("declare", ":="):
                body.append(Node("assign", variables=[tokens[0][1]], pipeline=tokens[2:]))
            else:
                body.append(Node("output", pipeline=tokens))
    if len(stack) != 1:
        raise TemplateError(f"{name}: missing end for {stack[-1][2]}")
    return root


# --- values -----------------------------------------------------------------------------------


def truthy(value: Any) -> bool:
    if value is None or value is False:
        return False
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value != 0
    if isinstance(value, (str, list, dict, tuple)):
        return len(value) > 0
    return True


def strval(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if value is None:
        return ""
    return str(value)


def _printable(value: Any, where: str) -> str:
    if value is None:
        raise TemplateError(f"{where}: prints a missing value (Helm would print nothing)")
    if isinstance(value, (dict, list)):
        raise TemplateError(f"{where}: prints a map or list; use toYaml")
    return strval(value)


def _quote(*args: Any) -> str:
    return " ".join(json.dumps(strval(a), ensure_ascii=False) for a in args if a is not None)


def _indent(width: int, text: str) -> str:
    pad = " " * int(width)
    return pad + str(text).replace("\n", "\n" + pad)


def _to_yaml(value: Any) -> str:
    if value is None:
        return "null"
    dumped = yaml.safe_dump(value, default_flow_style=False, sort_keys=True, allow_unicode=True)
    return dumped[:-1] if dumped.endswith("\n") else dumped


def _default(default: Any, *value: Any) -> Any:
    if len(value) > 1:
        raise TemplateError("default takes two arguments")
    return value[0] if value and truthy(value[0]) else default


def _required(message: str, *value: Any) -> Any:
    if not value or value[0] is None or value[0] == "":
        raise TemplateError(f"required: {message}")
    return value[0]


def _printf(fmt: str, *args: Any) -> str:
    python_fmt = re.sub(r"%[vsd]", "%s", fmt)
    return python_fmt % tuple(strval(a) for a in args)


def _eq(a: Any, *others: Any) -> bool:
    return any(a == b for b in others)


def _and(*args: Any) -> Any:
    for arg in args:
        if not truthy(arg):
            return arg
    return args[-1]


def _or(*args: Any) -> Any:
    for arg in args:
        if truthy(arg):
            return arg
    return args[-1]


FUNCTIONS: dict[str, Any] = {
    "quote": _quote,
    "nindent": lambda width, text: "\n" + _indent(width, text),
    "indent": _indent,
    "toYaml": _to_yaml,
    "default": _default,
    "required": _required,
    "trunc": lambda n, s: str(s)[: int(n)] if int(n) >= 0 else str(s)[int(n) :],
    "trimSuffix": lambda suffix, s: (
        str(s)[: -len(suffix)] if suffix and str(s).endswith(suffix) else str(s)
    ),
    "printf": _printf,
    "print": lambda *args: "".join(strval(a) for a in args),
    "eq": _eq,
    "ne": lambda a, b: a != b,
    "not": lambda value: not truthy(value),
    "and": _and,
    "or": _or,
    "empty": lambda value: not truthy(value),
    "b64enc": lambda s: base64.b64encode(strval(s).encode()).decode(),
    "sha256sum": lambda s: hashlib.sha256(strval(s).encode()).hexdigest(),
    "toString": strval,
    "lower": lambda s: strval(s).lower(),
    "upper": lambda s: strval(s).upper(),
    "list": lambda *args: list(args),
    "contains": lambda substring, s: strval(substring) in strval(s),
}


# --- evaluation -------------------------------------------------------------------------------


class _Renderer:
    def __init__(self, defines: dict[str, list[Node]], name: str) -> None:
        self.defines = defines
        self.name = name

    def render(self, nodes: list[Node], dot: Any, variables: dict[str, Any]) -> str:
        out: list[str] = []
        for node in nodes:
            if node.kind == "text":
                out.append(node.text)
            elif node.kind == "output":
                out.append(
                    _printable(self.pipeline(node.pipeline, dot, variables), self.where(node))
                )
            elif node.kind == "assign":
                variables[node.variables[0]] = self.pipeline(node.pipeline, dot, variables)
            elif node.kind == "if":
                for pipeline, body in node.branches:
                    if truthy(self.pipeline(pipeline, dot, variables)):
                        out.append(self.render(body, dot, dict(variables)))
                        break
                else:
                    out.append(self.render(node.orelse, dot, dict(variables)))
            elif node.kind == "with":
                value = self.pipeline(node.branches[0][0], dot, variables)
                if truthy(value):
                    out.append(self.render(node.branches[0][1], value, dict(variables)))
                else:
                    out.append(self.render(node.orelse, dot, dict(variables)))
            elif node.kind == "range":
                out.append(self.range(node, dot, variables))
            elif node.kind == "define":
                pass
            else:  # pragma: no cover - parser produces only the kinds above
                raise TemplateError(f"unknown node {node.kind}")
        return "".join(out)

    def where(self, node: Node) -> str:
        return f"{self.name}: {{{{ {' '.join(t for _, t in node.pipeline)} }}}}"

    def range(self, node: Node, dot: Any, variables: dict[str, Any]) -> str:
        collection = self.pipeline(node.pipeline, dot, variables)
        if collection is None:
            pairs: list[tuple[Any, Any]] = []
        elif isinstance(collection, dict):
            pairs = [(key, collection[key]) for key in sorted(collection)]
        elif isinstance(collection, list):
            pairs = list(enumerate(collection))
        elif isinstance(collection, int):
            pairs = [(i, i) for i in range(collection)]
        else:
            raise TemplateError(f"{self.name}: range over {type(collection).__name__}")
        if not pairs:
            return self.render(node.orelse, dot, dict(variables))
        out = []
        for key, element in pairs:
            scope = dict(variables)
            if len(node.variables) == 1:
                scope[node.variables[0]] = element
            elif len(node.variables) == 2:
                scope[node.variables[0]], scope[node.variables[1]] = key, element
            out.append(self.render(node.body, element, scope))
        return "".join(out)

    # pipelines: cmd | cmd | …, each cmd a function call or a single operand
    def pipeline(self, tokens: list[tuple[str, str]], dot: Any, variables: dict[str, Any]) -> Any:
        commands: list[list[tuple[str, str]]] = [[]]
        depth = 0
        for token in tokens:
            if token == ("punct", "("):
                depth += 1
            elif token == ("punct", ")"):
                depth -= 1
            if token == ("punct", "|") and depth == 0:
                commands.append([])
            else:
                commands[-1].append(token)
        piped: list[Any] = []
        for command in commands:
            if not command:
                raise TemplateError(f"{self.name}: empty command in pipeline")
            piped = [self.command(command, dot, variables, piped)]
        return piped[0]

    def command(self, tokens, dot, variables, piped: list[Any]) -> Any:
        operands = self.operands(tokens, dot, variables)
        head_kind, head = tokens[0]
        if head_kind == "ident" and head not in {"true", "false", "nil"}:
            args = operands[1:] + piped
            if head == "include":
                return self.include(*args)
            function = FUNCTIONS.get(head)
            if function is None:
                raise TemplateError(f"{self.name}: function {head!r} is not supported by helmlite")
            try:
                return function(*args)
            except TypeError as exc:
                raise TemplateError(f"{self.name}: {head}: {exc}") from None
        if len(operands) != 1 or piped:
            raise TemplateError(f"{self.name}: cannot call a non-function {head!r}")
        return operands[0]

    def operands(self, tokens, dot, variables) -> list[Any]:
        values: list[Any] = []
        index = 0
        while index < len(tokens):
            kind, text = tokens[index]
            if text == "(":
                depth, end = 1, index + 1
                while depth:
                    if tokens[end][1] == "(":
                        depth += 1
                    elif tokens[end][1] == ")":
                        depth -= 1
                    end += 1
                values.append(self.pipeline(tokens[index + 1 : end - 1], dot, variables))
                index = end
                continue
            if kind == "string":
                values.append(json.loads(text))
            elif kind == "raw":
                values.append(text[1:-1])
            elif kind == "number":
                values.append(float(text) if "." in text else int(text))
            elif kind == "ident":
                values.append({"true": True, "false": False, "nil": None}.get(text, text))
            elif kind == "field":
                values.append(self.lookup(dot, text[1:].split(".") if text != "." else []))
            elif kind == "var":
                name, *path = text.split(".")
                if name not in variables:
                    raise TemplateError(f"{self.name}: undefined variable {name}")
                values.append(self.lookup(variables[name], path))
            else:
                raise TemplateError(f"{self.name}: unexpected {text!r}")
            index += 1
        return values

    def lookup(self, value: Any, path: list[str]) -> Any:
        for part in path:
            if not part:
                continue
            if value is None:
                raise TemplateError(f"{self.name}: nil pointer evaluating .{'.'.join(path)}")
            if not isinstance(value, dict):
                raise TemplateError(f"{self.name}: can't evaluate field {part} in {value!r}")
            value = value.get(part)
        return value

    def include(self, name: str, dot: Any = None) -> str:
        if name not in self.defines:
            raise TemplateError(f"{self.name}: no template {name!r}")
        return self.render(self.defines[name], dot, {"$": dot})


# --- charts -----------------------------------------------------------------------------------


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def render_chart(
    chart_dir: Path,
    values: dict[str, Any] | None = None,
    *,
    release: str = "brokerdesk",
    namespace: str = "brokerdesk",
    is_upgrade: bool = False,
) -> dict[str, str]:
    """Render every template of the chart, like `helm template`: {path: text}."""
    chart = yaml.safe_load((chart_dir / "Chart.yaml").read_text())
    base_values = yaml.safe_load((chart_dir / "values.yaml").read_text()) or {}
    root = {
        "Values": deep_merge(base_values, values or {}),
        "Release": {
            "Name": release,
            "Namespace": namespace,
            "Service": "Helm",
            "IsInstall": not is_upgrade,
            "IsUpgrade": is_upgrade,
            "Revision": 2 if is_upgrade else 1,
        },
        "Chart": {key[:1].upper() + key[1:]: value for key, value in chart.items()},
    }
    defines: dict[str, list[Node]] = {}
    parsed: dict[str, list[Node]] = {}
    for path in sorted((chart_dir / "templates").rglob("*")):
        if path.is_file() and path.suffix in {".yaml", ".yml", ".tpl", ".txt"}:
            relative = path.relative_to(chart_dir).as_posix()
            parsed[relative] = _parse(_lex(path.read_text(), relative), relative, defines)
    out = {}
    for relative, nodes in parsed.items():
        name = Path(relative).name
        if name.startswith("_") or name == "NOTES.txt":
            continue
        context = dict(
            root,
            Template={
                "Name": f"{chart['name']}/{relative}",
                "BasePath": f"{chart['name']}/templates",
            },
        )
        out[relative] = _Renderer(defines, relative).render(nodes, context, {"$": context})
    return out


def manifests(rendered: dict[str, str]) -> list[dict[str, Any]]:
    """YAML-load every rendered document (empty ones dropped), each tagged with its source."""
    documents = []
    for source, text in rendered.items():
        for document in yaml.safe_load_all(text):
            if document:
                document.setdefault("metadata", {})
                documents.append({**document, "__source__": source})
    return documents
