#!/usr/bin/env bash
# Wall time of one successful sshd login with bin/vault-ssh-helper against the same sshd with
# a helper that exits 0 at once (e2e/sshd BenchmarkLogin), as a table of
# medians over COUNT runs of BENCHTIME logins each. A figure, never a pass/fail.
# Root only (like scripts/test-sshd.sh). Run from the repo root after `make`.
set -euo pipefail

cd "$(dirname "$0")/.."
root=$PWD

if [[ $(id -u) -ne 0 ]]; then
	echo "bench-sshd.sh: the sshd benchmark needs root (useradd, /etc/pam.d, sshd)" >&2
	exit 1
fi
bash scripts/sshd-deps.sh </dev/null
# The helper refuses trusted files under a directory others can write (/tmp): the tests keep
# theirs under a TMPDIR whose whole path it trusts.
TMPDIR=$(bash scripts/test-tmpdir.sh)
export TMPDIR

export VSH_BIN=${VSH_BIN:-$root/bin/vault-ssh-helper}
[[ -x $VSH_BIN ]] || {
	echo "bench-sshd.sh: $VSH_BIN is missing; run make first" >&2
	exit 1
}

out=$(mktemp)
trap 'rm -f "$out"' EXIT
(cd e2e && go test -count="${COUNT:-5}" -run '^$' -bench '^BenchmarkLogin$' \
	-benchtime "${BENCHTIME:-20x}" ./sshd/ </dev/null) | tee "$out" | grep -E '^(Benchmark|ok|FAIL|---)' || true
grep -q '^ok' "$out" || {
	echo "bench-sshd.sh: benchmark failed" >&2
	exit 1
}

echo
# Median, min and max over the runs of every per-login metric.
awk '
/^BenchmarkLogin\// {
	for (i = 3; i <= NF; i++) if ($i ~ /^ms\//) {
		name = substr($i, 4)
		v[name] = v[name] " " $(i - 1); n[name]++
	}
}
function sorted(list, a,   c, j, l, t) {
	c = split(list, a, " ")
	for (j = 2; j <= c; j++) { t = a[j]; l = j - 1; while (l > 0 && a[l] + 0 > t + 0) { a[l + 1] = a[l]; l-- } a[l + 1] = t }
	return c
}
END {
	desc["exit0-login"] = "sshd login, helper exits 0 at once"
	desc["vsh-login"] = "sshd login, vault-ssh-helper + Vault"
	desc["vsh-cost"] = "difference (the helper\x27s own cost)"
	desc["vsh-alone"] = "vault-ssh-helper alone (no sshd/PAM)"
	printf "| %-38s | %4s | %9s | %8s | %8s |\n", "one successful login", "runs", "median ms", "min ms", "max ms"
	printf "|%s|%s|%s|%s|%s|\n", "----------------------------------------", "------", "-----------", "----------", "----------"
	k = split("exit0-login vsh-login vsh-cost vsh-alone", order, " ")
	for (j = 1; j <= k; j++) {
		if (!(order[j] in n)) continue
		c = sorted(v[order[j]], a)
		med = (c % 2) ? a[(c + 1) / 2] : (a[c / 2] + a[c / 2 + 1]) / 2
		d = (order[j] in desc) ? desc[order[j]] : order[j]
		printf "| %-38s | %4d | %9.1f | %8.1f | %8.1f |\n", d, c, med, a[1], a[c]
	}
}' "$out"
