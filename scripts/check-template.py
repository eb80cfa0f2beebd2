#!/usr/bin/env python3
"""Checks that template.yaml routes exactly the operations of openapi.yaml.

1. Collects the `HttpApi` events of every `AWS::Serverless::Function` in template.yaml
   (CloudFormation tags such as !Ref, !Sub, !GetAtt are read as plain values).
2. Collects the operations under openapi.yaml's `paths`, prefixed with the path of its first
   server URL if it has one.
3. Fails unless both sets of (METHOD, path) are equal, no route is served by two functions,
   every event is on the template's HTTP API, and every operation that openapi.yaml declares
   public (`security: []`) opts out of the JWT authorizer (`Auth: {Authorizer: NONE}`),
   since the authorizer would refuse its callers; and each event is named after its
   operation's operationId (GetHealth for getHealth), so either file leads to the other.

Prints every difference and exits 1 on any; prints a summary and exits 0 otherwise.

Usage: scripts/check-template.py [--template template.yaml] [--spec openapi.yaml]
Needs: Python 3.9+, pyyaml.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from urllib.parse import urlparse

import yaml

ROOT = Path(__file__).resolve().parent.parent
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


class CfnLoader(yaml.SafeLoader):
    """A SafeLoader that accepts CloudFormation's short-form tags (!Ref, !Sub, ...)."""


def _cfn_tag(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> object:
    if isinstance(node, yaml.ScalarNode):
        value: object = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    name = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
    return {name: value}


CfnLoader.add_multi_constructor("!", _cfn_tag)


def load(path: Path, loader: type[yaml.SafeLoader]) -> dict:
    with path.open(encoding="utf-8") as f:
        document = yaml.load(f, Loader=loader)  # noqa: S506 - a SafeLoader subclass
    if not isinstance(document, dict):
        # Nothing to compare against: stop with the reason instead of a traceback.
        raise SystemExit(f"{path}: not a YAML mapping")
    return document


def ref_target(value: object) -> str | None:
    if isinstance(value, dict) and set(value) == {"Ref"} and isinstance(value["Ref"], str):
        return value["Ref"]
    return None


def template_routes(template: dict, errors: list[str]) -> dict[tuple[str, str], dict]:
    """(METHOD, path) -> {function, event, public} for every HttpApi event."""
    resources = template.get("Resources") or {}
    apis = {
        name
        for name, res in resources.items()
        if isinstance(res, dict) and res.get("Type") == "AWS::Serverless::HttpApi"
    }
    routes: dict[tuple[str, str], dict] = {}
    for fname, res in resources.items():
        if not isinstance(res, dict) or res.get("Type") != "AWS::Serverless::Function":
            continue
        events = (res.get("Properties") or {}).get("Events") or {}
        for ename, event in events.items():
            if not isinstance(event, dict) or event.get("Type") != "HttpApi":
                continue
            props = event.get("Properties") or {}
            where = f"{fname}.Events.{ename}"
            method, path = props.get("Method"), props.get("Path")
            if not isinstance(method, str) or not isinstance(path, str):
                errors.append(f"{where}: Method and Path must both be literal strings")
                continue
            method = method.upper()
            if method == "ANY" or path == "$default" or "+}" in path:
                errors.append(f"{where}: {method} {path} is a catch-all, not an operation")
                continue
            api = ref_target(props.get("ApiId"))
            if api is None or api not in apis:
                errors.append(f"{where}: ApiId must be !Ref to the template's HttpApi {sorted(apis)}")
            auth = props.get("Auth") or {}
            public = isinstance(auth, dict) and auth.get("Authorizer") == "NONE"
            key = (method, path)
            if key in routes:
                other = routes[key]
                errors.append(
                    f"{method} {path}: routed twice, to {other['function']}.{other['event']} "
                    f"and to {fname}.{ename}"
                )
                continue
            routes[key] = {"function": fname, "event": ename, "public": public}
    return routes


def spec_operations(spec: dict) -> dict[tuple[str, str], dict]:
    """(METHOD, path) -> {public} for every operation of the OpenAPI document."""
    prefix = ""
    servers = spec.get("servers") or []
    if servers and isinstance(servers[0], dict) and isinstance(servers[0].get("url"), str):
        prefix = urlparse(servers[0]["url"]).path.rstrip("/")
    default_security = spec.get("security")
    operations: dict[tuple[str, str], dict] = {}
    for path, item in (spec.get("paths") or {}).items():
        if not isinstance(item, dict):
            continue
        for method in HTTP_METHODS:
            op = item.get(method)
            if not isinstance(op, dict):
                continue
            security = op.get("security", default_security)
            operations[(method.upper(), prefix + path)] = {
                "public": security == [],
                "operationId": op.get("operationId", "?"),
            }
    return operations


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--template", type=Path, default=ROOT / "template.yaml")
    parser.add_argument("--spec", type=Path, default=ROOT / "openapi.yaml")
    args = parser.parse_args()

    errors: list[str] = []
    routes = template_routes(load(args.template, CfnLoader), errors)
    operations = spec_operations(load(args.spec, yaml.SafeLoader))

    for method, path in sorted(set(operations) - set(routes)):
        op = operations[(method, path)]
        errors.append(f"{method} {path} ({op['operationId']}): in openapi.yaml, routed by no function")
    for method, path in sorted(set(routes) - set(operations)):
        r = routes[(method, path)]
        errors.append(f"{method} {path} ({r['function']}.{r['event']}): routed, not in openapi.yaml")
    for key in sorted(set(routes) & set(operations)):
        r, op = routes[key], operations[key]
        if op["public"] and not r["public"]:
            errors.append(
                f"{key[0]} {key[1]} ({r['function']}.{r['event']}): public in openapi.yaml "
                "(security: []) but behind the JWT authorizer; add Auth: {Authorizer: NONE}"
            )
        op_id = str(op["operationId"])
        expected = op_id[:1].upper() + op_id[1:]
        if r["event"] != expected:
            errors.append(
                f"{key[0]} {key[1]}: event {r['function']}.{r['event']} should be named "
                f"{expected}, after its operationId"
            )

    if errors:
        for e in errors:
            print(f"check-template: {e}", file=sys.stderr)
        print(f"check-template: {len(errors)} problem(s)", file=sys.stderr)
        return 1
    functions = sorted({r["function"] for r in routes.values()})
    print(
        f"check-template: OK: {len(routes)} routes of openapi.yaml, each routed by exactly one "
        f"of {len(functions)} functions ({', '.join(functions)})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())  # 0 when the routes match, 1 otherwise
