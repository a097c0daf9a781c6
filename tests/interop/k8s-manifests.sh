#!/usr/bin/env bash
# Interop: the Kubernetes manifests (deploy/kustomization.yaml, deploy/k8s/) checked by tools
# nobody here wrote: `kubectl kustomize` renders them (the ConfigMap generated from deploy/*.toml),
# and kubernetes-validate (PyPI) checks every rendered resource against the Kubernetes 1.30 API
# schemas in strict mode (unknown fields rejected). A mutated copy must be refused, so the check
# can fail. The cross-checks against the workspace (binaries, ports, probes, configs) are
# tests/tests/deploy_k8s.rs. No cluster is needed.
# Prints PASS/FAIL per check and "N passed, M failed"; exit status 1 on any failure.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TMP=$(mktemp -d /tmp/corelab-k8s.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
PASSED=0 FAILED=0
pass() { PASSED=$((PASSED + 1)); echo "PASS: $1"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL: $1${2:+ ($2)}"; }

command -v kubectl >/dev/null || { echo "FAIL: kubectl missing (scripts/install-peers.sh)"; exit 1; }
command -v kubernetes-validate >/dev/null || { echo "FAIL: kubernetes-validate missing (scripts/install-peers.sh)"; exit 1; }

if kubectl kustomize "$ROOT/deploy" >"$TMP/lab.yaml" 2>"$TMP/kustomize.err"; then
  pass "kubectl kustomize deploy/ renders $(grep -c '^kind:' "$TMP/lab.yaml") resources"
else
  fail "kubectl kustomize deploy/" "$(tail -3 "$TMP/kustomize.err")"
fi

# The generated ConfigMap carries each deploy/*.toml unchanged.
if python3 - "$TMP/lab.yaml" "$ROOT/deploy" <<'PY'
import sys, yaml, pathlib
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
cms = [d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("corelab-config")]
assert len(cms) == 1, "one corelab-config ConfigMap"
data = cms[0]["data"]
for name, text in data.items():
    assert text == (pathlib.Path(sys.argv[2]) / name).read_text(), name
mounted = {v["configMap"]["name"] for d in docs if d["kind"] in ("Deployment", "StatefulSet")
           for v in d["spec"]["template"]["spec"].get("volumes", []) if "configMap" in v}
assert mounted == {cms[0]["metadata"]["name"]}, mounted
print(len(data), "configs")
PY
then pass "the ConfigMap holds deploy/*.toml verbatim and every node mounts it (name hash rewritten)"
else fail "ConfigMap contents"; fi

if kubernetes-validate --strict --quiet -k 1.30.0 "$TMP/lab.yaml" >"$TMP/validate.out" 2>&1; then
  pass "kubernetes-validate --strict (1.30): every resource valid"
else
  fail "kubernetes-validate --strict (1.30)" "$(grep -v '^INFO' "$TMP/validate.out" | head -5)"
fi

# The validator is not a rubber stamp: an unknown field and a wrong type are refused.
sed 's/^      containers:/      containerz:/' "$TMP/lab.yaml" >"$TMP/bad-field.yaml"
sed '0,/containerPort: [0-9]*/s//containerPort: "eighty"/' "$TMP/lab.yaml" >"$TMP/bad-type.yaml"
for bad in bad-field bad-type; do
  if kubernetes-validate --strict --quiet -k 1.30.0 "$TMP/$bad.yaml" >/dev/null 2>&1; then
    fail "kubernetes-validate refuses $bad.yaml"
  else
    pass "kubernetes-validate refuses $bad.yaml"
  fi
done

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
