#!/bin/sh
# syntax-test.sh SRC - the examples that cannot run here (Slurm, Kubernetes)
# at least parse, and every shell script in deploy/ and ours in scripts/.
set -eu
src=$1
fail() { echo "syntax-test: FAIL: $*" >&2; exit 1; }
bash -n "$src/deploy/slurm/phcluster.sbatch" || fail "phcluster.sbatch does not parse"
grep -q '^#SBATCH' "$src/deploy/slurm/phcluster.sbatch" || fail "phcluster.sbatch has no #SBATCH lines"
for f in "$src/scripts/phcluster-enable-workers" "$src/deploy/man/render-man.sh" \
    "$src"/deploy/debian/postinst "$src"/deploy/debian/prerm "$src"/deploy/debian/postrm; do
    sh -n "$f" || fail "$f does not parse"
done
for f in "$src/scripts/netns-test.sh" "$src/scripts/deb-test.sh"; do
    bash -n "$f" || fail "$f does not parse"
done
if command -v shellcheck >/dev/null 2>&1; then
    shellcheck "$src/deploy/slurm/phcluster.sbatch" "$src/scripts/phcluster-enable-workers" \
        "$src/scripts/netns-test.sh" "$src/scripts/deb-test.sh" "$src"/tests/deploy/*.sh \
        "$src"/deploy/debian/postinst "$src"/deploy/debian/prerm "$src"/deploy/debian/postrm \
        "$src/deploy/man/render-man.sh" || fail "shellcheck"
else
    echo "syntax-test: shellcheck missing, scripts only parsed"
fi
if python3 -c 'import yaml' 2>/dev/null; then
    python3 - "$src/deploy/k8s" <<'PY' || fail "Kubernetes manifests"
import glob, sys, yaml
kinds = []
for path in sorted(glob.glob(sys.argv[1] + "/*.yaml")):
    with open(path) as f:
        for doc in yaml.safe_load_all(f):
            if doc is None:
                continue
            for key in ("apiVersion", "kind", "metadata"):
                if key not in doc:
                    sys.exit(f"{path}: a document lacks {key}")
            kinds.append(doc["kind"])
for want in ("Deployment", "Service", "DaemonSet", "ConfigMap"):
    if want not in kinds:
        sys.exit(f"no {want} among {kinds}")
print("syntax-test: k8s kinds", " ".join(kinds))
PY
else
    echo "syntax-test: python3-yaml missing, Kubernetes manifests not parsed"
fi
echo "syntax-test: ok"
