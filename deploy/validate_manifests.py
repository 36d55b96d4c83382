#!/usr/bin/env python3
"""Validates rendered Kubernetes manifests against the Kubernetes API schemas, offline.

    validate_manifests.py --kubernetes 1.27 --kubernetes 1.37 LABEL=FILE...

Every document of every file is checked in strict mode (unknown fields are errors) against the
OpenAPI-derived JSON schemas that the `kubernetes-validate` package ships, for each Kubernetes
version given. A document whose kind has no schema is an error, never a skip. Prints one line
per file and the number of resources validated; exits 1 on any failure.

The Prometheus Operator's custom resources the chart can render (PrometheusRule, PodMonitor,
monitoring.coreos.com/v1) have no schema in the Kubernetes API: they are checked, strictly, against
the subset of their CRDs' schemas written below (the fields the chart uses), not skipped.
"""

import argparse
import sys

import jsonschema
import kubernetes_validate
import yaml

# The fields of the Prometheus Operator's CRDs (monitoring.coreos.com/v1) the chart uses; closed,
# so a misspelt field fails as it would on a cluster with the CRDs' structural schemas.
_STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
_DURATION = {"type": "string", "pattern": r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$"}
_METADATA = {
    "type": "object",
    "required": ["name"],
    "properties": {"name": {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"},
                   "namespace": {"type": "string"}, "labels": _STRING_MAP, "annotations": _STRING_MAP},
    "additionalProperties": False,
}
_RULE = {
    "type": "object",
    "required": ["expr"],
    "oneOf": [{"required": ["alert"]}, {"required": ["record"]}],
    "properties": {"alert": {"type": "string", "minLength": 1}, "record": {"type": "string", "minLength": 1},
                   "expr": {"type": ["string", "integer"]}, "for": _DURATION,
                   "keep_firing_for": _DURATION, "labels": _STRING_MAP, "annotations": _STRING_MAP},
    "additionalProperties": False,
}
_LABEL_SELECTOR = {
    "type": "object",
    "properties": {
        "matchLabels": _STRING_MAP,
        "matchExpressions": {"type": "array", "items": {
            "type": "object", "required": ["key", "operator"],
            "properties": {"key": {"type": "string"},
                           "operator": {"enum": ["In", "NotIn", "Exists", "DoesNotExist"]},
                           "values": {"type": "array", "items": {"type": "string"}}},
            "additionalProperties": False}},
    },
    "additionalProperties": False,
}


def _custom_resource(spec):
    return {
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {"apiVersion": {"const": "monitoring.coreos.com/v1"}, "kind": {"type": "string"},
                       "metadata": _METADATA, "spec": spec},
        "additionalProperties": False,
    }


CUSTOM_RESOURCE_SCHEMAS = {
    ("monitoring.coreos.com/v1", "PrometheusRule"): _custom_resource({
        "type": "object",
        "required": ["groups"],
        "properties": {"groups": {"type": "array", "items": {
            "type": "object", "required": ["name", "rules"],
            "properties": {"name": {"type": "string", "minLength": 1}, "interval": _DURATION,
                           "rules": {"type": "array", "items": _RULE}},
            "additionalProperties": False}}},
        "additionalProperties": False,
    }),
    ("monitoring.coreos.com/v1", "PodMonitor"): _custom_resource({
        "type": "object",
        "required": ["selector", "podMetricsEndpoints"],
        "properties": {
            "selector": _LABEL_SELECTOR,
            "namespaceSelector": {"type": "object"},
            "jobLabel": {"type": "string"},
            "podMetricsEndpoints": {"type": "array", "minItems": 1, "items": {
                "type": "object", "required": ["port"],
                "properties": {"port": {"type": "string"}, "path": {"type": "string"},
                               "scheme": {"enum": ["http", "https"]}, "interval": _DURATION,
                               "scrapeTimeout": _DURATION, "honorLabels": {"type": "boolean"}},
                "additionalProperties": False}},
        },
        "additionalProperties": False,
    }),
}


def validate_custom_resource(resource, schema):
    """Problems of a custom resource against its CRD subset, as (path, message)."""
    validator = jsonschema.Draft7Validator(schema)
    return [(".".join(str(part) for part in error.path) or "(root)", error.message)
            for error in validator.iter_errors(resource)]


def load_documents(path):
    with open(path, encoding="utf-8") as handle:
        return [doc for doc in yaml.safe_load_all(handle) if doc]


def name_of(resource):
    metadata = resource.get("metadata") or {}
    return f"{resource.get('kind', '?')}/{metadata.get('name', '?')}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kubernetes", action="append", required=True, metavar="VERSION")
    parser.add_argument("files", nargs="+", metavar="LABEL=FILE")
    args = parser.parse_args()

    resources_validated = 0
    custom_validated = 0
    failures = []
    for item in args.files:
        label, _, path = item.partition("=")
        path = path or label
        try:
            documents = load_documents(path)
        except (OSError, yaml.YAMLError) as error:
            failures.append(f"{label}: cannot read {path}: {error}")
            continue
        if not documents:
            failures.append(f"{label}: no resources rendered")
            continue
        kinds = {}
        for resource in documents:
            kinds[resource.get("kind", "?")] = kinds.get(resource.get("kind", "?"), 0) + 1
            custom = CUSTOM_RESOURCE_SCHEMAS.get((resource.get("apiVersion"), resource.get("kind")))
            if custom is not None:
                for where, message in validate_custom_resource(resource, custom):
                    failures.append(f"{label}: {name_of(resource)} (CRD schema): {where}: {message}")
                custom_validated += 1
                resources_validated += 1
                continue
            for version in args.kubernetes:
                try:
                    kubernetes_validate.validate(resource, version, strict=True)
                except kubernetes_validate.ValidationError as error:
                    where = ".".join(str(part) for part in error.path) or "(root)"
                    failures.append(
                        f"{label}: {name_of(resource)} (Kubernetes {version}): {where}: {error.message}"
                    )
                except (
                    kubernetes_validate.SchemaNotFoundError,
                    kubernetes_validate.InvalidSchemaError,
                ) as error:
                    message = getattr(error, "message", "") or repr(error)
                    failures.append(f"{label}: {name_of(resource)} (Kubernetes {version}): {message}")
            resources_validated += 1
        summary = ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items()))
        print(f"  {label}: {len(documents)} resources ({summary})")

    versions = " and ".join(args.kubernetes)
    if failures:
        print(f"FAIL: {len(failures)} schema violation(s) against Kubernetes {versions}:")
        for failure in failures:
            print(f"  {failure}")
        return 1
    print(
        f"PASS: {resources_validated} resources validated against the Kubernetes {versions} "
        f"schemas (strict, kubernetes-validate {kubernetes_validate.__version__})"
        + (f"; {custom_validated} Prometheus Operator resources against their CRD fields" if custom_validated else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
