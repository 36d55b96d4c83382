#!/usr/bin/env python3
"""Writes helm/hearth/values.schema.json (run it after changing the chart's values).

The schema is written from this script rather than by hand, so that every object is closed
(`additionalProperties: false`: a misspelt key fails `helm install`) and the six services share
one definition. CI checks that the committed file is what this script writes.
"""

import json
import sys
from pathlib import Path

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "helm" / "hearth" / "values.schema.json"
SERVICES = ["intake", "assessment", "matching", "training", "followup", "allocation"]


def obj(properties, required=(), description=None):
    schema = {"type": "object", "additionalProperties": False, "properties": properties}
    if required:
        schema["required"] = list(required)
    if description:
        schema["description"] = description
    return schema


def string(description=None, **extra):
    schema = {"type": "string", **extra}
    if description:
        schema["description"] = description
    return schema


QUANTITY = {"oneOf": [{"type": "string", "pattern": r"^[0-9.]+[a-zA-Z]*$"}, {"type": "number"}]}
RESOURCES = obj(
    {
        "requests": obj({"cpu": QUANTITY, "memory": QUANTITY, "ephemeral-storage": QUANTITY}),
        "limits": obj({"cpu": QUANTITY, "memory": QUANTITY, "ephemeral-storage": QUANTITY}),
    }
)
# Kubernetes objects passed through as they are (validated against the Kubernetes schemas
# once rendered).
K8S_OBJECT = {"type": "object"}
PEERS = {"type": "array", "items": K8S_OBJECT}
PORTS = {"type": "array", "items": {"type": "integer", "minimum": 1, "maximum": 65535}}
SECRET_NAME = string(
    "a Secret's name; empty: the default hearth-<slug>-…; must contain the slug",
    pattern=r"^$|^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$",
    maxLength=253,
)
SECRET_KEY = string(pattern=r"^[-._a-zA-Z0-9]+$", minLength=1)
LABELS = {"type": "object", "additionalProperties": {"type": "string"}}
DURATION = r"^[0-9]+(ms|s|m|h)$"

SERVICE = obj(
    {
        "replicas": {"type": "integer", "minimum": 1},
        "resources": RESOURCES,
        "autoscaling": obj(
            {
                "enabled": {"type": "boolean"},
                "minReplicas": {"type": "integer", "minimum": 1},
                "maxReplicas": {"type": "integer", "minimum": 1},
                "targetCPUUtilizationPercentage": {"type": "integer", "minimum": 1, "maximum": 100},
            },
            required=["enabled", "minReplicas", "maxReplicas", "targetCPUUtilizationPercentage"],
        ),
    },
    required=["replicas", "resources", "autoscaling"],
)

MEMBER = obj(
    {
        "code": string("four-digit SCB municipality code, quoted", pattern=r"^[0-9]{4}$"),
        "name": string(minLength=1),
        "subRegion": string(minLength=1),
        "memberFrom": string("ISO date, quoted", pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"),
        "memberTo": string("ISO date, quoted", pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"),
        "mainTown": obj(
            {
                "latitude": string(pattern=r"^-?[0-9]{1,3}(\.[0-9]+)?$"),
                "longitude": string(pattern=r"^-?[0-9]{1,3}(\.[0-9]+)?$"),
            },
            required=["latitude", "longitude"],
        ),
        "districts": {
            "type": "array",
            "items": obj(
                {
                    "code": string(pattern=r"^[a-z0-9-]{1,32}$"),
                    "name": string(minLength=1),
                },
                required=["code", "name"],
            ),
        },
    },
    required=["code", "name"],
)

FEE_LEVEL = obj(
    {
        "code": string(minLength=1),
        "name": string(minLength=1),
        "monthlyFeeOre": {"type": "integer", "minimum": 0},
    },
    required=["code", "name", "monthlyFeeOre"],
)

ASSESSMENT = obj(
    {
        "timeLimitDays": {"type": "integer", "minimum": 1},
        "retentionDays": {"type": "integer", "minimum": 1},
        "priority": {
            "type": "array",
            "items": string(
                "a rule of the assessment queue's priority list",
                pattern=r"^(age_band_(0_6|7_12|13_20)|commission_kind_[a-z_]+|earlier_experience)$",
            ),
        },
    },
)

SCHEMA = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "Hearth chart values (one release per county)",
    **obj(
        {
            "county": obj(
                {
                    "slug": string(
                        "lower-case slug: a-z, 0-9 and '-', starting with a letter",
                        pattern=r"^[a-z]([a-z0-9-]*[a-z0-9])?$",
                        maxLength=30,
                    ),
                    "scbCode": string("two-digit SCB county code, quoted", pattern=r"^[0-9]{2}$"),
                    "name": string(minLength=1),
                    "existingConfigMap": string(pattern=r"^$|^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"),
                    "members": {"type": "array", "items": MEMBER},
                    "feeLevels": {"type": "array", "items": FEE_LEVEL},
                    "assessment": ASSESSMENT,
                },
                required=["slug", "scbCode", "name"],
            ),
            "image": obj(
                {
                    "repository": string(minLength=1),
                    "tag": string(),
                    "digest": string(pattern=r"^$|^sha256:[a-f0-9]{64}$"),
                    "pullPolicy": {"enum": ["Always", "IfNotPresent", "Never"]},
                },
                required=["repository"],
            ),
            "imagePullSecrets": {
                "type": "array",
                "items": obj({"name": string(minLength=1)}, required=["name"]),
            },
            "auth": obj({"issuer": string(), "audience": string(minLength=1)}),
            "keys": obj({"secretName": SECRET_NAME, "settingsKey": SECRET_KEY}),
            "database": obj(
                {
                    "host": string(),
                    "port": {"type": "integer", "minimum": 1, "maximum": 65535},
                    "name": string(pattern=r"^$|^[a-z_][a-z0-9_]*$", maxLength=63),
                    "user": string(pattern=r"^$|^[a-z_][a-z0-9_]*$", maxLength=63),
                    "parameters": string("URL query, e.g. sslmode=require", pattern=r"^[^?#\s]*$"),
                    "passwordSecret": obj({"name": SECRET_NAME, "key": SECRET_KEY}),
                    "maxConnections": {"type": "integer", "minimum": 1},
                }
            ),
            "nats": obj(
                {
                    "url": string(pattern=r"^$|^(nats|tls|ws|wss)://"),
                    "auth": obj(
                        {
                            "mode": {"enum": ["userPassword", "credsFile", "token", "none"]},
                            "user": string(),
                            "secretName": SECRET_NAME,
                        }
                    ),
                }
            ),
            "telemetry": obj(
                {
                    "otlpEndpoint": string(pattern=r"^$|^https?://"),
                    "logFormat": {"enum": ["auto", "pretty", "json"]},
                    "logFilter": string(),
                    "sampleRatio": {"type": "number", "minimum": 0, "maximum": 1},
                    "databaseSpans": {"type": "boolean"},
                    "metricsPort": {"type": "integer", "minimum": 1024, "maximum": 65535,
                                    "not": {"const": 50051}},
                }
            ),
            "monitoring": obj(
                {
                    "scrapeAnnotations": {"type": "boolean"},
                    "runbookUrl": string(pattern=r"^https?://[^#\s]+$"),
                    "dashboard": obj({"enabled": {"type": "boolean"}, "labels": LABELS,
                                      "annotations": LABELS}),
                    "rules": obj({"enabled": {"type": "boolean"}, "labels": LABELS}),
                    "prometheusRule": obj({"enabled": {"type": "boolean"}, "labels": LABELS}),
                    "podMonitor": obj(
                        {
                            "enabled": {"type": "boolean"},
                            "labels": LABELS,
                            "interval": string(pattern=DURATION),
                            "scrapeTimeout": string(pattern=DURATION),
                        }
                    ),
                }
            ),
            "extraSettings": {
                "type": "object",
                "propertyNames": {"pattern": r"^HEARTH__[A-Z0-9_]+$"},
                "additionalProperties": {"type": ["string", "number", "boolean"]},
            },
            "services": obj({name: SERVICE for name in SERVICES}, required=SERVICES),
            "migration": obj(
                {
                    "backoffLimit": {"type": "integer", "minimum": 0},
                    "activeDeadlineSeconds": {"type": "integer", "minimum": 1},
                    "resources": RESOURCES,
                }
            ),
            "allocation": obj(
                {
                    "cronJob": obj(
                        {
                            "enabled": {"type": "boolean"},
                            "schedule": string(minLength=9),
                            "timeZone": string(),
                            "suspend": {"type": "boolean"},
                            "tokenSecret": obj({"name": SECRET_NAME, "key": SECRET_KEY}),
                            "resources": RESOURCES,
                        }
                    )
                }
            ),
            "networkPolicy": obj(
                {
                    "enabled": {"type": "boolean"},
                    "ingressFrom": PEERS,
                    "metricsFrom": PEERS,
                    "egress": obj(
                        {
                            "nats": obj({"ports": PORTS, "to": PEERS}, required=["ports", "to"]),
                            "postgresql": obj({"ports": PORTS, "to": PEERS}, required=["ports", "to"]),
                            "collector": obj({"ports": PORTS, "to": PEERS}, required=["ports", "to"]),
                            "dns": obj({"to": PEERS}, required=["to"]),
                        }
                    ),
                }
            ),
            "podAnnotations": {"type": "object", "additionalProperties": {"type": "string"}},
            "nodeSelector": {"type": "object", "additionalProperties": {"type": "string"}},
            "tolerations": {"type": "array", "items": K8S_OBJECT},
            "priorityClassName": string(),
            "terminationGracePeriodSeconds": {"type": "integer", "minimum": 1},
        },
        required=["county", "image", "services"],
    ),
}


def render() -> str:
    return json.dumps(SCHEMA, indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    if sys.argv[1:] == ["--check"]:
        if SCHEMA_PATH.read_text(encoding="utf-8") != render():
            print(f"FAIL: {SCHEMA_PATH} is stale: run python3 deploy/gen_values_schema.py")
            sys.exit(1)
        print(f"PASS: {SCHEMA_PATH.name} is what deploy/gen_values_schema.py writes")
    else:
        SCHEMA_PATH.write_text(render(), encoding="utf-8")
        print(f"wrote {SCHEMA_PATH}")
