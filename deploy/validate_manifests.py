#!/usr/bin/env python3
"""Validates rendered Kubernetes manifests against the Kubernetes API schemas, offline.

    validate_manifests.py --kubernetes 1.27 --kubernetes 1.37 LABEL=FILE...

Every document of every file is checked in strict mode (unknown fields are errors) against the
OpenAPI-derived JSON schemas that the `kubernetes-validate` package ships, for each Kubernetes
version given. A document whose kind has no schema is an error, never a skip. Prints one line
per file and the number of resources validated; exits 1 on any failure.
"""

import argparse
import sys

import kubernetes_validate
import yaml


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
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
