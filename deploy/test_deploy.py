#!/usr/bin/env python3
"""Tests of the deployment: renders the Helm chart for the example counties and the kustomize
overlays, and asserts what must hold whatever a platform team does with them.

    test_deploy.py --helm HELM --kustomize KUSTOMIZE --out DIR

- Isolation: two counties share no NATS stream, subject prefix, database, database user,
  NATS user, Secret, ConfigMap or resource name (rendered by the chart, so they could even share
  a namespace), and the chart's NetworkPolicies only admit pods of their own county.
- Guards: a values file copied from another county, or with a misspelt key, fails to render.
- Hardening: every pod runs as non-root with a read-only root filesystem, no privilege
  escalation, no capabilities, no service-account token; every service has gRPC health probes,
  a headless Service, a PodDisruptionBudget and a NetworkPolicy; intake has an autoscaler.
- The county file each example renders is the county's file in counties/.
- Monitoring: every service pod serves metrics on port 9464 (`metrics`, the listen setting,
  prometheus.io annotations, let in by its NetworkPolicy); the chart ships the dashboard and the
  alert rules (narrowed to its county) as ConfigMaps, and with the flags on a PrometheusRule with
  the same rules and a PodMonitor that selects every service pod.

Writes the rendered manifests to DIR (for schema validation) and prints one PASS or FAIL line
per check, then "N passed, N failed"; exits 1 if any failed.
"""

import argparse
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from urllib.parse import urlparse

import yaml

ROOT = Path(__file__).resolve().parent.parent
CHART = ROOT / "helm" / "hearth"
COUNTIES = ["dalarna", "jonkoping"]
SERVICES = ["intake", "assessment", "matching", "training", "followup", "allocation"]
KUBE_VERSION = "1.30.0"
METRICS_PORT = 9464
MONITORING = CHART / "monitoring"

results = []


def check(name, condition, detail=""):
    results.append(bool(condition))
    print(f"{'PASS' if condition else 'FAIL'}: {name}" + ("" if condition else f" — {detail}"))


def run(command):
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT)


def documents(text):
    return [doc for doc in yaml.safe_load_all(text) if doc]


def helm_template(helm, slug, *extra):
    return run(
        [helm, "template", f"hearth-{slug}", str(CHART), "--namespace", f"hearth-{slug}",
         "--kube-version", KUBE_VERSION, *extra]
    )


# --- reading rendered manifests ---------------------------------------------------------------

def pod_specs(docs):
    """(resource, pod spec) of every workload."""
    for doc in docs:
        kind = doc["kind"]
        if kind in ("Deployment", "Job"):
            yield doc, doc["spec"]["template"]["spec"]
        elif kind == "CronJob":
            yield doc, doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]


def containers(docs):
    for doc, spec in pod_specs(docs):
        for container in spec.get("initContainers", []) + spec["containers"]:
            yield doc, spec, container


def effective_env(docs, container):
    """The container's variables: envFrom ConfigMaps (from this render) first, then env."""
    configmaps = {d["metadata"]["name"]: d.get("data", {}) for d in docs if d["kind"] == "ConfigMap"}
    env = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env.update(configmaps.get(source["configMapRef"]["name"], {}))
    for variable in container.get("env", []):
        if "value" in variable:
            env[variable["name"]] = variable["value"]
        elif "configMapKeyRef" in variable.get("valueFrom", {}):
            ref = variable["valueFrom"]["configMapKeyRef"]
            env[variable["name"]] = configmaps.get(ref["name"], {}).get(ref["key"])
        else:
            env[variable["name"]] = "<from secret>"
    # Kubernetes expands $(VAR) from the variables defined before.
    return {
        name: re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)",
                     lambda m: env.get(m.group(1), m.group(0)) if m.group(1) != "HEARTH_DATABASE_PASSWORD" else "PASSWORD",
                     value) if isinstance(value, str) else value
        for name, value in env.items()
    }


def referenced(docs, kind):
    """Names of the Secrets ("secret") or ConfigMaps ("configMap") the workloads read."""
    names = set()
    for _, spec, container in containers(docs):
        for source in container.get("envFrom", []):
            ref = source.get(f"{kind}Ref")
            if ref:
                names.add(ref["name"])
        for variable in container.get("env", []):
            ref = variable.get("valueFrom", {}).get(f"{kind}KeyRef")
            if ref:
                names.add(ref["name"])
    for _, spec in pod_specs(docs):
        for volume in spec.get("volumes", []):
            if kind == "secret" and "secret" in volume:
                names.add(volume["secret"]["secretName"])
            if kind == "configMap" and "configMap" in volume:
                names.add(volume["configMap"]["name"])
            for source in volume.get("projected", {}).get("sources", []):
                if kind in source:
                    names.add(source[kind]["name"])
    for spec in (s for _, s in pod_specs(docs)):
        for pull in spec.get("imagePullSecrets", []) if kind == "secret" else []:
            names.add(pull["name"])
    return names


def tenancy(docs, namespace):
    """What a county's render uses on the shared NATS and PostgreSQL, and which Secrets."""
    slugs, databases, database_users, nats_users = set(), set(), set(), set()
    for _, spec, container in containers(docs):
        env = effective_env(docs, container)
        slugs.add(env.get("HEARTH__COUNTY__SLUG"))
        if "HEARTH__DATABASE__URL" in env:
            url = urlparse(env["HEARTH__DATABASE__URL"])
            databases.add((url.hostname, url.path.lstrip("/")))
            database_users.add(url.username)
        nats_users |= nats_identities(spec, container, env, namespace)
    slug = next(iter(slugs)) if len(slugs) == 1 else None
    return {
        "slugs": slugs,
        "slug": slug,
        "streams": {f"HEARTH_{slug.upper()}", f"HEARTH_{slug.upper()}_DLQ"} if slug else set(),
        "subject prefixes": {f"hearth.{slug}.", f"hearth-dlq.{slug}."} if slug else set(),
        "databases": {name for _, name in databases},
        "database users": database_users,
        "nats identities": nats_users,
        "secrets": {(namespace, name) for name in referenced(docs, "secret")},
        "configmaps": {(namespace, name) for name in referenced(docs, "configMap")},
        "resources": {(namespace, d["kind"], d["metadata"]["name"]) for d in docs
                      if d["kind"] != "Namespace"},
    }


def nats_identities(spec, container, env, namespace):
    """Who the container is on NATS: its user, or the Secret its credentials come from."""
    identities = set()
    if "HEARTH__BUS__USER" in env:
        identities.add(f"user {env['HEARTH__BUS__USER']}")
    for variable in container.get("env", []):
        if variable["name"] in ("HEARTH__BUS__PASSWORD", "HEARTH__BUS__TOKEN"):
            identities.add(f"secret {namespace}/{variable['valueFrom']['secretKeyRef']['name']}")
    credentials = env.get("HEARTH__BUS__CREDENTIALS_FILE")
    if credentials:
        mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        volume = volumes.get(mounts.get(credentials.rsplit("/", 1)[0]), {})
        identities.add(f"credentials {namespace}/{volume.get('secret', {}).get('secretName')}")
    return identities


def labels_match(selector, labels):
    return all(labels.get(key) == value for key, value in selector.items())


# --- the checks -------------------------------------------------------------------------------

def check_isolation(label, first, second):
    a, b = first, second
    check(f"{label}: each county's workloads all serve one county",
          a["slug"] and b["slug"], f"slugs {a['slugs']} / {b['slugs']}")
    for key in ("streams", "subject prefixes", "databases", "database users", "nats identities",
                "secrets", "configmaps", "resources"):
        shared = a[key] & b[key]
        check(f"{label}: no shared {key} ({len(a[key])} vs {len(b[key])})",
              a[key] and b[key] and not shared,
              f"shared: {sorted(shared)}" if shared else f"empty: {a[key]} / {b[key]}")
    for prefix_a in a["subject prefixes"]:
        for prefix_b in b["subject prefixes"]:
            check(f"{label}: subjects {prefix_a}> and {prefix_b}> cannot overlap",
                  not prefix_a.startswith(prefix_b) and not prefix_b.startswith(prefix_a))
    for database in a["databases"] | b["databases"]:
        slug = a["slug"] if database in a["databases"] else b["slug"]
        check(f"{label}: database {database} names county {slug}",
              slug.replace("-", "_") in database)


def check_network_policies_stay_in_county(label, docs, slug):
    """Peers given by pod labels alone (same namespace) must carry the county label, so a
    second county in the same namespace is not let in."""
    problems = []
    for policy in (d for d in docs if d["kind"] == "NetworkPolicy"):
        if not labels_match({"hearth/county": slug}, policy["spec"]["podSelector"].get("matchLabels", {})):
            problems.append(f"{policy['metadata']['name']}: selects pods of other counties")
        for direction, peers_key in (("ingress", "from"), ("egress", "to")):
            for rule in policy["spec"].get(direction, []):
                for peer in rule.get(peers_key, []):
                    if "podSelector" in peer and "namespaceSelector" not in peer:
                        if peer["podSelector"].get("matchLabels", {}).get("hearth/county") != slug:
                            problems.append(f"{policy['metadata']['name']}: {direction} peer {peer}")
    check(f"{label}: NetworkPolicies admit only county {slug}'s pods", not problems, problems)


def check_hardening(label, docs):
    problems = []
    accounts = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ServiceAccount"}
    for doc, spec in pod_specs(docs):
        name = f"{doc['kind']}/{doc['metadata']['name']}"
        if spec.get("automountServiceAccountToken") is not False:
            problems.append(f"{name}: mounts a service-account token")
        account = accounts.get(spec.get("serviceAccountName"))
        if account is None or account.get("automountServiceAccountToken") is not False:
            problems.append(f"{name}: no own ServiceAccount without token ({spec.get('serviceAccountName')})")
        if spec.get("hostNetwork") or spec.get("hostPID") or spec.get("hostIPC"):
            problems.append(f"{name}: uses the host's namespaces")
        if not spec.get("securityContext", {}).get("runAsNonRoot"):
            problems.append(f"{name}: pod may run as root")
        if spec.get("securityContext", {}).get("seccompProfile", {}).get("type") != "RuntimeDefault":
            problems.append(f"{name}: no RuntimeDefault seccomp profile")
        for volume in spec.get("volumes", []):
            if "hostPath" in volume:
                problems.append(f"{name}: hostPath volume")
        for container in spec["containers"]:
            context = container.get("securityContext", {})
            if context.get("readOnlyRootFilesystem") is not True:
                problems.append(f"{name}: writable root filesystem")
            if context.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{name}: privilege escalation allowed")
            if "ALL" not in context.get("capabilities", {}).get("drop", []):
                problems.append(f"{name}: capabilities not dropped")
            if context.get("privileged"):
                problems.append(f"{name}: privileged")
            if not container.get("resources", {}).get("limits", {}).get("memory"):
                problems.append(f"{name}: no memory limit")
    check(f"{label}: every pod is non-root, read-only, unprivileged, without API token", not problems, problems)


def check_services(label, docs, services=True, migrate=True, yearly=True, hook=False):
    problems = []
    deployments = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}
    services_ = [d for d in docs if d["kind"] == "Service"]
    budgets = [d for d in docs if d["kind"] == "PodDisruptionBudget"]
    policies = [d for d in docs if d["kind"] == "NetworkPolicy"]
    autoscalers = [d for d in docs if d["kind"] == "HorizontalPodAutoscaler"]
    for component in SERVICES if services else []:
        matching = [d for name, d in deployments.items() if name.endswith(f"-{component}")]
        if len(matching) != 1:
            problems.append(f"{component}: {len(matching)} Deployments")
            continue
        deployment = matching[0]
        pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        if container["command"][0] != f"hearth-{component}":
            problems.append(f"{component}: runs {container['command'][0]}")
        readiness = container.get("readinessProbe", {}).get("grpc", {})
        if readiness.get("port") != 50051 or not re.fullmatch(rf"hearth\.{component}\.v1\.\w+Service", readiness.get("service", "")):
            problems.append(f"{component}: readiness is not grpc.health.v1 of its service ({readiness})")
        if container.get("livenessProbe", {}).get("grpc", {}).get("port") != 50051:
            problems.append(f"{component}: no gRPC liveness probe")
        if not any(s["spec"].get("clusterIP") == "None" and labels_match(s["spec"]["selector"], pod_labels) for s in services_):
            problems.append(f"{component}: no headless Service")
        if not any(labels_match(b["spec"]["selector"]["matchLabels"], pod_labels) for b in budgets):
            problems.append(f"{component}: no PodDisruptionBudget")
        if not any(labels_match(p["spec"]["podSelector"]["matchLabels"], pod_labels)
                   and {"Ingress", "Egress"} <= set(p["spec"]["policyTypes"]) for p in policies):
            problems.append(f"{component}: no NetworkPolicy for ingress and egress")
        if component == "intake" and not any(a["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"] for a in autoscalers):
            problems.append("intake: no HorizontalPodAutoscaler")
    jobs = [d for d in docs if d["kind"] == "Job"]
    migrations = [j for j in jobs if j["spec"]["template"]["spec"]["containers"][0]["command"] == ["hearth", "migrate"]]
    if migrate and not migrations:
        problems.append("no `hearth migrate` Job")
    if hook and not any(j["metadata"].get("annotations", {}).get("helm.sh/hook") == "pre-install,pre-upgrade" for j in migrations):
        problems.append("`hearth migrate` is not a pre-install/pre-upgrade hook")
    for job in migrations:
        labels = job["spec"]["template"]["metadata"]["labels"]
        if not any(labels_match(p["spec"]["podSelector"]["matchLabels"], labels) for p in policies):
            problems.append("the migration job has no NetworkPolicy")
    cron = [c for d, _, c in containers(docs) if d["kind"] == "CronJob"]
    if yearly and not any(c["command"][:3] == ["hearth", "allocation", "submit"] and c["command"][-2:] == ["--year", "next"] for c in cron):
        problems.append("no yearly `hearth allocation submit --year next` CronJob")
    what = ", ".join(part for part, wanted in (
        ("six services with gRPC probes, headless Service, PDB, NetworkPolicy, intake HPA", services),
        ("migration " + ("hook" if hook else "job"), migrate), ("yearly allocation CronJob", yearly)) if wanted)
    check(f"{label}: {what}", not problems, problems)


def check_metrics_endpoints(label, docs):
    """Every service pod serves /metrics on 9464, says so, and its NetworkPolicy lets Prometheus in."""
    problems = []
    policies = [d for d in docs if d["kind"] == "NetworkPolicy"]
    deployments = [d for d in docs if d["kind"] == "Deployment"]
    for deployment in deployments:
        name = deployment["metadata"]["name"]
        template = deployment["spec"]["template"]
        container = template["spec"]["containers"][0]
        ports = {p.get("name"): p["containerPort"] for p in container.get("ports", [])}
        if ports.get("metrics") != METRICS_PORT:
            problems.append(f"{name}: no container port metrics={METRICS_PORT} ({ports})")
        env = effective_env(docs, container)
        if env.get("HEARTH__TELEMETRY__METRICS_LISTEN") != f"0.0.0.0:{METRICS_PORT}":
            problems.append(f"{name}: HEARTH__TELEMETRY__METRICS_LISTEN is {env.get('HEARTH__TELEMETRY__METRICS_LISTEN')!r}")
        annotations = template["metadata"].get("annotations", {})
        expected = {"prometheus.io/scrape": "true", "prometheus.io/port": str(METRICS_PORT),
                    "prometheus.io/path": "/metrics"}
        if any(annotations.get(key) != value for key, value in expected.items()):
            problems.append(f"{name}: scrape annotations {annotations}")
        pod_labels = template["metadata"]["labels"]
        admitted = any(
            labels_match(p["spec"]["podSelector"].get("matchLabels", {}), pod_labels)
            and any(any(port.get("port") == METRICS_PORT for port in rule.get("ports", []))
                    and any("namespaceSelector" in peer for peer in rule.get("from", []))
                    for rule in p["spec"].get("ingress", []))
            for p in policies)
        if not admitted:
            problems.append(f"{name}: no NetworkPolicy lets Prometheus reach port {METRICS_PORT}")
    check(f"{label}: {len(deployments)} Deployments serve metrics on {METRICS_PORT} (port, setting, "
          "annotations, NetworkPolicy)", deployments and not problems, problems)


def check_monitoring_configmaps(label, docs, slug):
    """The dashboard and the county's alert rules, as the chart ships them."""
    configmaps = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ConfigMap"}
    dashboard = configmaps.get(f"hearth-{slug}-dashboard")
    expected = json.loads((MONITORING / "dashboard.json").read_text(encoding="utf-8"))
    check(f"{label}: dashboard ConfigMap for Grafana's sidecar (grafana_dashboard=1) holds dashboard.json",
          dashboard is not None
          and dashboard["metadata"]["labels"].get("grafana_dashboard") == "1"
          and json.loads(dashboard["data"]["hearth-pipeline.json"]) == expected,
          "missing, unlabelled or different" if dashboard else f"no ConfigMap hearth-{slug}-dashboard")
    rules = configmaps.get(f"hearth-{slug}-alert-rules")
    problems = []
    groups = []
    if rules is None:
        problems.append(f"no ConfigMap hearth-{slug}-alert-rules")
    else:
        groups = yaml.safe_load(rules["data"]["hearth-alerts.yaml"])["groups"]
        source = yaml.safe_load((MONITORING / "alerts.yaml").read_text(encoding="utf-8"))["groups"]
        names = [r["alert"] for g in groups for r in g["rules"]]
        if names != [r["alert"] for g in source for r in g["rules"]]:
            problems.append(f"alerts {names} are not those of alerts.yaml")
        if [g["name"] for g in groups] != [f"hearth-{slug}"]:
            problems.append(f"groups {[g['name'] for g in groups]}")
        for rule in (r for g in groups for r in g["rules"]):
            if f'hearth_county="{slug}"' not in rule["expr"] or 'hearth_county!=""' in rule["expr"]:
                problems.append(f"{rule['alert']}: not narrowed to hearth_county=\"{slug}\"")
            if not rule["annotations"].get("runbook_url", "").startswith("https://"):
                problems.append(f"{rule['alert']}: no runbook_url")
    check(f"{label}: alert rules ConfigMap holds alerts.yaml narrowed to county {slug}",
          not problems, problems)
    return groups


def check_operator_objects(label, docs, groups):
    """With the flags on: a PrometheusRule with the ConfigMap's rules, a PodMonitor selecting
    every service pod's `metrics` port."""
    problems = []
    rules = [d for d in docs if d["kind"] == "PrometheusRule"]
    monitors = [d for d in docs if d["kind"] == "PodMonitor"]
    if len(rules) != 1 or rules[0]["spec"]["groups"] != groups:
        problems.append(f"{len(rules)} PrometheusRules, or groups differ from the rules ConfigMap")
    if len(monitors) != 1:
        problems.append(f"{len(monitors)} PodMonitors")
    else:
        monitor = monitors[0]["spec"]
        selector = monitor["selector"]
        ports = {e["port"] for e in monitor["podMetricsEndpoints"]}
        for doc, spec in pod_specs(docs):
            pod_labels = (doc["spec"]["template"] if doc["kind"] != "CronJob"
                          else doc["spec"]["jobTemplate"]["spec"]["template"])["metadata"]["labels"]
            selected = labels_match(selector["matchLabels"], pod_labels) and all(
                pod_labels.get(e["key"]) in e["values"] for e in selector.get("matchExpressions", []))
            named = {p.get("name") for c in spec["containers"] for p in c.get("ports", [])}
            if (doc["kind"] == "Deployment") != selected:
                problems.append(f"{doc['kind']}/{doc['metadata']['name']}: selected={selected}")
            if selected and not ports <= named:
                problems.append(f"{doc['metadata']['name']}: no port {ports}")
    check(f"{label}: PrometheusRule = the rules ConfigMap; PodMonitor selects exactly the service pods",
          not problems, problems)


def county_file_of(docs):
    for doc in docs:
        if doc["kind"] == "ConfigMap" and "county.toml" in doc.get("data", {}) and \
                doc["metadata"].get("labels", {}).get("app.kubernetes.io/component") == "county":
            return doc["data"]["county.toml"]
    return None


def expect_refusal(helm, label, expected, *args):
    result = helm_template(helm, "jonkoping", *args)
    check(f"guard: {label}", result.returncode != 0 and expected in result.stderr,
          f"exit {result.returncode}, stderr: {result.stderr.strip()[:300]}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--helm", required=True)
    parser.add_argument("--kustomize", required=True)
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    helm_renders, kustomize_renders = {}, {}
    for slug in COUNTIES:
        result = helm_template(args.helm, slug, "--values", f"helm/counties/{slug}.yaml")
        check(f"helm template renders {slug}", result.returncode == 0, result.stderr.strip())
        if result.returncode != 0:
            continue
        (args.out / f"helm-{slug}.yaml").write_text(result.stdout, encoding="utf-8")
        helm_renders[slug] = documents(result.stdout)
        for overlay in (f"k8s/overlays/{slug}", f"k8s/overlays/{slug}/migrate"):
            result = run([args.kustomize, "build", overlay])
            check(f"kustomize build {overlay}", result.returncode == 0, result.stderr.strip())
            if result.returncode == 0:
                name = "kustomize-" + overlay.removeprefix("k8s/overlays/").replace("/", "-")
                (args.out / f"{name}.yaml").write_text(result.stdout, encoding="utf-8")
                kustomize_renders.setdefault(slug, []).extend(documents(result.stdout))
                kustomize_renders[f"{slug}/{overlay.rsplit('/', 1)[-1]}"] = documents(result.stdout)

    if len(helm_renders) == 2:
        first, second = (tenancy(helm_renders[slug], "shared-namespace") for slug in COUNTIES)
        check_isolation("helm dalarna vs jonkoping", first, second)
        for slug in COUNTIES:
            check_network_policies_stay_in_county(f"helm {slug}", helm_renders[slug], slug)
    if all(slug in kustomize_renders for slug in COUNTIES):
        first, second = (tenancy(kustomize_renders[slug], f"hearth-{slug}") for slug in COUNTIES)
        check_isolation("kustomize dalarna vs jonkoping", first, second)

    for slug, docs in helm_renders.items():
        check_hardening(f"{slug} (helm)", docs)
        check_services(f"{slug} (helm)", docs, hook=True)
        rendered = county_file_of(docs)
        expected = tomllib.loads((ROOT / "counties" / f"{slug}.toml").read_text(encoding="utf-8"))
        check(f"{slug} (helm): the rendered county file is counties/{slug}.toml",
              rendered is not None and tomllib.loads(rendered) == expected,
              "differs (helm/counties/{slug}.yaml members or feeLevels)")
        check_metrics_endpoints(f"{slug} (helm)", docs)
        groups = check_monitoring_configmaps(f"{slug} (helm)", docs, slug)
        if slug == COUNTIES[0]:
            result = helm_template(args.helm, slug, "--values", f"helm/counties/{slug}.yaml",
                                   "--set", "monitoring.prometheusRule.enabled=true",
                                   "--set", "monitoring.podMonitor.enabled=true")
            check(f"helm template renders {slug} with the PrometheusRule and PodMonitor",
                  result.returncode == 0, result.stderr.strip())
            if result.returncode == 0:
                (args.out / f"helm-{slug}-operator.yaml").write_text(result.stdout, encoding="utf-8")
                check_operator_objects(f"{slug} (helm, operator)", documents(result.stdout), groups)
    for slug in COUNTIES:
        if slug in kustomize_renders:
            check_metrics_endpoints(f"{slug} (kustomize)", kustomize_renders[f"{slug}/{slug}"])
            check_hardening(f"{slug} (kustomize)", kustomize_renders[slug])
            check_services(f"{slug} (kustomize)", kustomize_renders[f"{slug}/{slug}"], migrate=False)
            check_services(f"{slug} (kustomize migrate)", kustomize_renders[f"{slug}/migrate"],
                           services=False, yearly=False)
        copy = ROOT / "k8s" / "overlays" / slug / "county" / "county.toml"
        check(f"k8s/overlays/{slug}/county/county.toml is counties/{slug}.toml",
              copy.read_bytes() == (ROOT / "counties" / f"{slug}.toml").read_bytes(),
              f"cp counties/{slug}.toml {copy.relative_to(ROOT)}")

    # Guards: Jönköping's release made from Dalarna's values file, one leftover at a time.
    copied = ["--values", "helm/counties/dalarna.yaml", "--set", "county.slug=jonkoping",
              "--set", "county.scbCode=06", "--set", "county.existingConfigMap=hearth-jonkoping-county"]
    result = helm_template(args.helm, "jonkoping", *copied)
    check("guard baseline: the copied values with every reference changed render",
          result.returncode == 0, result.stderr.strip()[:300])
    for key, value in (("database.name", "hearth_dalarna"), ("database.user", "hearth_dalarna"),
                       ("database.passwordSecret.name", "hearth-dalarna-database"),
                       ("keys.secretName", "hearth-dalarna-keys"), ("nats.auth.user", "dalarna"),
                       ("nats.auth.secretName", "hearth-dalarna-nats"),
                       ("allocation.cronJob.tokenSecret.name", "hearth-dalarna-allocation-token"),
                       ("county.existingConfigMap", "hearth-dalarna-county")):
        expect_refusal(args.helm, f"{key}={value} in Jönköping's release is refused",
                       "does not name county", *copied, "--set", f"{key}={value}")
    expect_refusal(args.helm, "Dalarna's members in Jönköping's release are refused", "is not in county 06",
                   "--values", "helm/counties/dalarna.yaml", "--set", "county.slug=jonkoping",
                   "--set", "county.scbCode=06")
    expect_refusal(args.helm, "a misspelt key is refused by values.schema.json", "slgu",
                   "--values", "helm/counties/jonkoping.yaml", "--set", "county.slgu=x")
    expect_refusal(args.helm, "an unquoted municipality code is refused by values.schema.json", "code",
                   "--values", "helm/counties/jonkoping.yaml", "--set", "county.members[0].code=604")
    expect_refusal(args.helm, "a release without a county is refused", "county",
                   "--set", "image.repository=x")

    passed, failed = results.count(True), results.count(False)
    print(f"deploy: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
