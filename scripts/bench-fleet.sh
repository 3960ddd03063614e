#!/usr/bin/env bash
# Fleet bench: what a fleet of hosts costs a Vault cluster. Runs TestFleet in
# e2e/fleet: the real 3-node Vault cluster (Vault v1.14.0), and
# VSH_FLEET_HOSTS hosts in parallel, each with its own config and state_dir,
# running bin/vault-ssh-helper as pam_exec would, VSH_FLEET_LOGINS logins in all
# per mode. Modes: ssh-otp, totp-token-file, totp-approle-service,
# totp-approle-service-1use, totp-approle-batch. Prints a markdown table: p50/p99
# login time, logins per second, Vault requests per login as Vault's file audit
# device recorded them, tokens left in Vault's token store after the run and
# how long they took to go. Everything runs on 127.0.0.1.
#
# Knobs (environment):
#   VSH_FLEET_LOGINS=1000            logins per mode
#   VSH_FLEET_HOSTS=50               hosts logging in in parallel
#   VSH_FLEET_MODES=a,b              only these modes (default: all)
#   VSH_FLEET_TOKEN_TTL=1m           the AppRole roles' token_ttl (and token_max_ttl)
#   VSH_FLEET_OUT=<dir>              keep report.md and results.json there
#                                    (default: a new directory under the safe TMPDIR)
#   BENCH_SKIP_BUILD=1               use bin/vault-ssh-helper as it is
# The counts are asserted (every login succeeds, the requests per login, batch
# tokens leave none); the times are printed, never asserted: on a shared
# machine they are noisy.
set -euo pipefail

cd "$(dirname "$0")/.."
root=$PWD
export PATH="/usr/local/go/bin:$PATH"
export CGO_ENABLED=0

log() { printf 'bench-fleet: %s\n' "$*" >&2; }

if [[ "${BENCH_SKIP_BUILD:-}" != 1 || ! -x bin/vault-ssh-helper ]]; then
	log "building bin/vault-ssh-helper (make build)"
	make --no-print-directory build >&2
fi
export VSH_BIN=$root/bin/vault-ssh-helper

# The helper refuses config files under a directory others can write (/tmp).
TMPDIR=$(bash scripts/test-tmpdir.sh)
export TMPDIR
out=${VSH_FLEET_OUT:-$(mktemp -d "$TMPDIR/vsh-fleet.XXXXXX")}
mkdir -p "$out"
export VSH_FLEET_OUT=$out VSH_FLEET=1

log "logins per mode: ${VSH_FLEET_LOGINS:-1000}, hosts: ${VSH_FLEET_HOSTS:-50}, modes: ${VSH_FLEET_MODES:-all}"
log "progress: tail -f $out/test.log"
start=$SECONDS
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
cd e2e
# -v: test.log gets each mode's row as the mode ends. The bench is long; 90 minutes bounds it.
go test -count=1 -timeout 90m -run '^TestFleet$' -v ./fleet </dev/null >"$out/test.log" 2>&1 || {
	tail -n 80 "$out/test.log" >&2
	log "failed after $((SECONDS - start)) s; whole log: $out/test.log"
	exit 1
}
{
	echo "## vault-ssh-helper fleet bench"
	echo
	echo "$(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, load average $load_start at the start and" \
		"$(cut -d' ' -f1-3 /proc/loadavg) at the end, $((SECONDS - start)) s," \
		"$(go version | cut -d' ' -f3-), helper $("$VSH_BIN" -version 2>/dev/null | head -1)"
	echo
	cat "$out/report.md"
} | tee "$out/table.md"
log "done in $((SECONDS - start)) s; kept in $out (table.md, results.json, test.log)"
