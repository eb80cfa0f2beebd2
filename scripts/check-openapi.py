#!/usr/bin/env python3
"""Checks that openapi.yaml is a valid OpenAPI document and describes exactly the API's routes.

1. Validates the document with openapi-spec-validator.
2. Extracts every `.route("<path>", <method>(..)...)` of crates/ferry-api/src/routes.rs (paths
   relative to the router's `.nest("<prefix>", ..)`, `/api/v1`) and asserts that the set of
   (method, path) pairs equals the set of operations under the document's `paths`.
3. Checks that every operation has a unique operationId and declares its path parameters.

Prints every difference and exits 1 on any; prints OK and exits 0 otherwise.

Usage: scripts/check-openapi.py [--spec openapi.yaml] [--routes crates/ferry-api/src/routes.rs]
Needs: Python 3.11, pyyaml, openapi-spec-validator.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import yaml
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

ROOT = Path(__file__).resolve().parent.parent
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
DEFAULT_PREFIX = "/api/v1"

ROUTE_START = re.compile(r'\.route\(\s*"(?P<path>[^"]*)"\s*,')
NEST = re.compile(r'\.nest\(\s*"(?P<prefix>[^"]*)"\s*,')
# A method router call at the top level of the route's second argument: `get(`, `.post(`,
# `axum::routing::patch(`, `routing::delete(`.
METHOD_CALL = re.compile(r"(?:^|\.|::)\s*(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*\($")
PATH_PARAM = re.compile(r"\{([^}/]+)\}")


def strip_comments(source: str) -> str:
    """Removes // and /* */ comments, keeping string and char literals intact."""
    out: list[str] = []
    i, n = 0, len(source)
    while i < n:
        c = source[i]
        if c == '"':
            j = i + 1
            while j < n and source[j] != '"':
                j += 2 if source[j] == "\\" else 1
            out.append(source[i : j + 1])
            i = j + 1
        elif c == "'" and (m := re.match(r"'(?:\\.|\\u\{[0-9a-fA-F]+\}|[^\\'])'", source[i:])):
            out.append(m.group(0))
            i += len(m.group(0))
        elif source.startswith("//", i):
            j = source.find("\n", i)
            i = n if j < 0 else j
        elif source.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if source.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif source.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append(" ")
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def top_level(text: str, start: int) -> tuple[str, int]:
    """The text from `start` up to the parenthesis that closes the enclosing call, with the
    contents of nested parentheses, brackets, braces and strings blanked out; and the index of
    that closing parenthesis."""
    depth, i, out = 0, start, []
    while i < len(text):
        c = text[i]
        if c == '"':
            j = i + 1
            while j < len(text) and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            i = j + 1
            continue
        if c in "([{":
            if depth == 0:
                out.append(c)
            depth += 1
        elif c in ")]}":
            if depth == 0:
                return "".join(out), i
            depth -= 1
            if depth == 0:
                out.append(c)
        elif depth == 0:
            out.append(c)
        i += 1
    raise ValueError(f"unbalanced parentheses after offset {start}")


def routes_of(source: str) -> tuple[set[tuple[str, str]], list[str]]:
    source = strip_comments(source)
    errors: list[str] = []
    nests = {m.group("prefix") for m in NEST.finditer(source)}
    if len(nests) > 1:
        errors.append(f"routes.rs nests the API under several prefixes: {sorted(nests)}")
    prefix = (sorted(nests)[0] if nests else DEFAULT_PREFIX).rstrip("/")
    found: set[tuple[str, str]] = set()
    for m in ROUTE_START.finditer(source):
        path = m.group("path")
        chain, end = top_level(source, m.end())
        # rustfmt puts a trailing comma after the last argument of a multi-line call.
        chain = chain.strip().rstrip(",")
        # A path that answers every method with the not-found problem, as unknown paths do, is
        # not an operation (the API's root with a trailing slash, which nesting leaves out).
        handler = source[m.end() : end].strip().rstrip(",")
        if re.fullmatch(r"(axum::routing::)?any\(\|\|\s*async\s*\{\s*not_found\(\)\s*\}\)", handler):
            continue
        # `post().get()` → calls `post(`, `.get(`; each `(` at the top level ends one call.
        methods = []
        for piece in re.split(r"\(\)", chain):
            piece = piece.strip()
            if not piece:
                continue
            call = METHOD_CALL.search(piece + "(")
            if not call:
                errors.append(f"route {path!r}: cannot read the method router {chain.strip()!r}")
                continue
            # Middleware on a route (a body limit, say) is not a method.
            if call.group("name") not in ("layer", "route_layer"):
                methods.append(call.group("name"))
        if not methods:
            errors.append(f"route {path!r}: no method router found in {chain.strip()!r}")
        for name in methods:
            if name not in HTTP_METHODS:
                errors.append(f"route {path!r}: {name}() is not a single HTTP method; list it in the spec by hand")
                continue
            full = prefix + (path if path.startswith("/") else "/" + path)
            pair = (name.upper(), full)
            if pair in found:
                errors.append(f"route {name.upper()} {full} is declared twice")
            found.add(pair)
    if not found:
        errors.append("no routes found in routes.rs")
    return found, errors


def operations_of(spec: dict) -> tuple[set[tuple[str, str]], list[str]]:
    errors: list[str] = []
    found: set[tuple[str, str]] = set()
    ids: dict[str, str] = {}
    for path, item in (spec.get("paths") or {}).items():
        if "$ref" in item:
            errors.append(f"{path}: path items by $ref are not checked; inline them")
            continue
        shared = {p.get("name") for p in item.get("parameters", []) if isinstance(p, dict) and p.get("in") == "path"}
        shared |= {ref_name(spec, p) for p in item.get("parameters", []) if isinstance(p, dict) and "$ref" in p}
        for method in HTTP_METHODS:
            op = item.get(method)
            if op is None:
                continue
            where = f"{method.upper()} {path}"
            found.add((method.upper(), path))
            op_id = op.get("operationId")
            if not op_id:
                errors.append(f"{where}: no operationId")
            elif op_id in ids:
                errors.append(f"{where}: operationId {op_id!r} is also used by {ids[op_id]}")
            else:
                ids[op_id] = where
            own = {p.get("name") for p in op.get("parameters", []) if isinstance(p, dict) and p.get("in") == "path"}
            own |= {ref_name(spec, p) for p in op.get("parameters", []) if isinstance(p, dict) and "$ref" in p}
            declared = (shared | own) - {None}
            for param in PATH_PARAM.findall(path):
                if param not in declared:
                    errors.append(f"{where}: path parameter {{{param}}} is not declared")
            if not op.get("responses"):
                errors.append(f"{where}: no responses")
    return found, errors


def dangling_refs(spec: dict) -> list[str]:
    """Every local `$ref` anywhere in the document (webhooks and callbacks included) must resolve."""
    errors: list[str] = []

    def resolves(ref: str) -> bool:
        node = spec
        for part in ref.removeprefix("#/").split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, dict) or part not in node:
                return False
            node = node[part]
        return True

    def walk(node, at: str) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/") and not resolves(ref):
                errors.append(f"{at}: $ref {ref} points nowhere")
            for key, value in node.items():
                walk(value, f"{at}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{at}/{i}")

    walk(spec, "#")
    return errors


def ref_name(spec: dict, param: dict) -> str | None:
    """The `name` of a parameter given by a local $ref, if it is a path parameter."""
    node = spec
    for part in param["$ref"].removeprefix("#/").split("/"):
        node = node.get(part, {}) if isinstance(node, dict) else {}
    return node.get("name") if isinstance(node, dict) and node.get("in") == "path" else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", type=Path, default=ROOT / "openapi.yaml")
    parser.add_argument("--routes", type=Path, default=ROOT / "crates/ferry-api/src/routes.rs")
    args = parser.parse_args()

    problems: list[str] = []
    try:
        with args.spec.open(encoding="utf-8") as f:
            spec = yaml.safe_load(f)
    except (OSError, yaml.YAMLError) as e:
        print(f"FAIL: {args.spec}: {e}")
        return 1
    if not isinstance(spec, dict):
        print(f"{args.spec}: not a YAML mapping")
        return 1
    if not str(spec.get("openapi", "")).startswith("3.1"):
        problems.append(f"{args.spec}: expected OpenAPI 3.1, found {spec.get('openapi')!r}")
    try:
        validate(spec, base_uri=args.spec.resolve().as_uri())
    except OpenAPIValidationError as e:
        where = "/".join(str(p) for p in getattr(e, "path", []) or [])
        message = getattr(e, "message", None) or str(e)
        problems.append(f"{args.spec}: invalid OpenAPI document{' at ' + where if where else ''}: {message}")
    except Exception as e:  # an unresolvable $ref, for one, surfaces as another exception
        problems.append(f"{args.spec}: the validator failed: {type(e).__name__}: {str(e)[:300]}")
    problems += dangling_refs(spec)

    routes, route_errors = routes_of(args.routes.read_text(encoding="utf-8"))
    operations, op_errors = operations_of(spec)
    problems += route_errors + op_errors
    for method, path in sorted(routes - operations, key=lambda p: (p[1], p[0])):
        problems.append(f"served but not in the spec: {method} {path}")
    for method, path in sorted(operations - routes, key=lambda p: (p[1], p[0])):
        problems.append(f"in the spec but not served: {method} {path}")

    if problems:
        for p in problems:
            print(f"FAIL: {p}")
        return 1
    print(f"OK: {args.spec.name} is valid and matches the {len(routes)} routes of {args.routes.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
