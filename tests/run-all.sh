#!/usr/bin/env bash
# The whole suite: pytest (module_utils and modules against the real databases,
# then end-to-end runs against the lab), molecule on the roles, ansible-lint.
# Called by `bash bootstrap.sh test`, which installs everything first.
set -o errexit -o nounset -o pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH" ANSIBLE_CONFIG="$PWD/ansible.cfg"
started=$(date +%s)
status=0

step() { echo; echo "=== $1"; }

step "lab up (databases, SQS, hosts, daemons)"
python -m lab up --reset

step "pytest"
pytest -q -p no:cacheprovider tests || status=1

# reset first: molecule remembers "prepared" from earlier runs on this machine
for scenario_dir in roles/*/molecule; do
  role=$(basename "$(dirname "$scenario_dir")")
  step "molecule ($role role, against the lab)"
  (cd "roles/$role" && molecule reset && molecule test --all) || status=1
done

step "ansible-lint (production profile)"
ansible-lint --profile production --offline || status=1

step "lab down"
python -m lab down --all

echo; echo "suite finished in $(( $(date +%s) - started ))s: $([ $status -eq 0 ] && echo PASS || echo FAIL)"
exit $status
