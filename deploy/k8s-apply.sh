#!/usr/bin/env bash
# Deploys (or upgrades) one county from k8s/overlays/<county> without Helm, in the order Helm's
# hooks give: the migration job first, waited for, then the services.
#
#   deploy/k8s-apply.sh dalarna
#
# The namespace hearth-<county> and its Secrets must exist (docs/operations.md, "Adding a
# county"). Uses kubectl's built-in kustomize and the current kubectl context.
set -euo pipefail
cd "$(dirname "$0")/.."

county="${1:?usage: deploy/k8s-apply.sh COUNTY (a directory under k8s/overlays)}"
overlay="k8s/overlays/${county}"
namespace="hearth-${county}"
[[ -d "$overlay" ]] || { echo "error: no overlay $overlay" >&2; exit 2; }

# A Job's template cannot change: the previous run's job goes before the new one is applied.
kubectl --namespace "$namespace" delete job hearth-migrate --ignore-not-found --wait=true
kubectl apply -k "${overlay}/migrate"
if ! kubectl --namespace "$namespace" wait --for=condition=complete job/hearth-migrate --timeout=15m; then
  kubectl --namespace "$namespace" logs job/hearth-migrate --tail=50 >&2 || true
  echo "error: hearth migrate failed in $namespace; the services were not changed" >&2
  exit 1
fi
kubectl apply -k "$overlay"
for service in intake assessment matching training followup allocation; do
  kubectl --namespace "$namespace" rollout status "deployment/hearth-${service}" --timeout=10m
done
