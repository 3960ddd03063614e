#!/usr/bin/env bash
# Start-up benchmark: how far is one run of bin/vault-ssh-helper from "a bare
# Go binary doing one TLS request", and from that binary with vault/api
# imported? Prints a markdown report to stdout (and keeps a copy in
# $BENCH_OUT/report.md). Everything runs on 127.0.0.1.
#
# Cases, measured interleaved in one run (compare the ratios, not the
# absolute figures, on a noisy machine):
#   (0) an empty Go program                       -- process + runtime start
#   (a) floor: static Go binary, one HTTPS PUT     -- the first yardstick
#   (a2) the floor offering HTTP/2 as well
#   (f) the floor plus a blank import of vault/api -- the second yardstick:
#       the price of the mandated library; the helper's own work is on top
#   (b) vault-ssh-helper -verify-only
#   (c) vault-ssh-helper full login (OTP on stdin, PAM_USER=u)
#   (d) vault-ssh-helper -version                  -- start-up only
#   (t) TOTP mode login, token from vault_token_file (one round trip)
#   (u) TOTP mode login with AppRole (two round trips: login, then validate)
#   (v) TOTP mode login, token file, with the shared record of used codes
#       (three round trips: read the record, validate, write the record)
#
# Knobs (environment):
#   BENCH_RUNS=200 BENCH_WARMUP=10   interleaved rounds / warm-up rounds
#   BENCH_CALLGRIND=3                callgrind runs per case (0 = skip)
#   BENCH_CALLGRIND_DIR=<dir>        keep the callgrind.out files there (for callgrind_annotate)
#   BENCH_INITTRACE=30               GODEBUG=inittrace=1 runs (0 = skip)
#   BENCH_KEY=ecdsa|rsa              the server's certificate key type
#   BENCH_SKIP_BUILD=1               use bin/vault-ssh-helper as it is
#   BENCH_OUT=<dir>                  where to keep report.md (default: a new /tmp/vsh-bench.*/out)
#   BENCH_CANDIDATE=<binary>         also measure (b') (c') (d') with this build of the
#   BENCH_CANDIDATE_LABEL=<text>     helper, e.g. a branch that trims start-up
# No timing here is asserted: this prints figures, it never fails on them.
set -euo pipefail

cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"
export CGO_ENABLED=0

RUNS="${BENCH_RUNS:-200}"
WARMUP="${BENCH_WARMUP:-10}"
CALLGRIND="${BENCH_CALLGRIND:-3}"
INITTRACE="${BENCH_INITTRACE:-30}"
KEY="${BENCH_KEY:-ecdsa}"

log() { printf 'bench: %s\n' "$*" >&2; }

if [[ "$CALLGRIND" != 0 ]] && ! command -v valgrind >/dev/null; then
	log "installing valgrind"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null
	apt-get install -y -qq valgrind >/dev/null
fi

# The helper refuses a config under /tmp: keep it where it trusts the whole path.
safe_tmp=$(bash scripts/test-tmpdir.sh)
work="$(mktemp -d "$safe_tmp/vsh-bench.XXXXXX")"
out="${BENCH_OUT:-$work/out}"
mkdir -p "$out" "$work/bin"
server_pid=""
cleanup() {
	if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
		kill "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	# Keep only the report (when it is inside the work directory).
	find "$work" -mindepth 1 -maxdepth 1 ! -name out -exec rm -rf {} +
	rmdir "$work" 2>/dev/null || true
}
trap cleanup EXIT

if [[ "${BENCH_SKIP_BUILD:-}" != 1 || ! -x bin/vault-ssh-helper ]]; then
	log "building bin/vault-ssh-helper (make build)"
	make --no-print-directory build >&2
fi
helper="$PWD/bin/vault-ssh-helper"

# The floor is built exactly as the Makefile builds the helper.
build() { go build -trimpath -buildvcs=false -ldflags '-s -w -buildid=' "${@:3}" -o "$work/bin/$1" "./internal/bench/$2"; }
log "building the floors, the empty program, the TLS server and the runner"
for p in floor empty tlsserver runner; do build "$p" "$p"; done
# The same source as the floor, plus only `import _ "github.com/hashicorp/vault/api"`.
build floorapi floor -tags=vaultapi
# The floor's request made through a vault/api client, as the helper makes it.
build viaapi viaapi

# How a binary got into the page cache changes what each exec costs: the same
# bytes cost about 15% more CPU per run as the Go linker writes them than as
# cp(1) writes them (measured here, -version against -version). So every
# measured binary is written the same way, by cp, as a package manager would.
rewrite() { cp "$1" "$1.cp" && mv -f "$1.cp" "$1"; }
for p in floor floorapi viaapi empty; do rewrite "$work/bin/$p"; done
cp "$helper" "$work/bin/vault-ssh-helper"
helper="$work/bin/vault-ssh-helper"

mkdir -p "$work/tls" "$work/cfg"
"$work/bin/tlsserver" -ca="$work/tls/ca.pem" -addr-file="$work/tls/addr" -key="$KEY" -lifetime=60m \
	2>"$work/server.log" &
server_pid=$!
for _ in $(seq 100); do
	[[ -s "$work/tls/addr" ]] && break
	kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
	sleep 0.1
done
[[ -s "$work/tls/addr" ]] || { log "the TLS server did not start"; exit 1; }
addr="$(cat "$work/tls/addr")"
log "TLS server ($KEY) on $addr"

cfg="$work/cfg/config.hcl"
cat >"$cfg" <<EOF
vault_addr = "https://$addr"
ssh_mount_point = "ssh"
ca_cert = "$work/tls/ca.pem"
allowed_roles = "r"
# Generous, so that runs under valgrind finish; the bench never waits on it.
timeout = "60s"
EOF
chmod 0600 "$cfg"
otp="$work/cfg/otp"
printf '%s' 0b3e2c6a-1d5f-4e8b-9a7c-2f6d8e4b1a93 >"$otp"
chmod 0600 "$otp"

# The TOTP mode: the same server, one config with a token file, one with
# AppRole, one with a token file and the shared record of used codes. Their
# failure counts and accepted codes live in a state_dir of their own. Every
# run types a fresh code (the runner's fresh_code), as the helper refuses a
# code it accepted; a lifetime of 1s and one user per case keep each user's
# record at a few dozen codes, far from its bound of 100.
secret_file() { printf '%s\n' "$2" >"$work/cfg/$1"; chmod 0600 "$work/cfg/$1"; }
secret_file token hvs.bench-token-file
secret_file role_id 6f1b2c3d-bench-role
secret_file secret_id 9a8b7c6d-bench-secret
secret_file used_key 5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a
totp_cfg() {
	cat <<EOT
vault_addr = "https://$addr"
ca_cert = "$work/tls/ca.pem"
totp_mount_point = "totp"
state_dir = "$work/state"
totp_code_lifetime = "1s"
timeout = "60s"
EOT
}
cfg_token="$work/cfg/totp-token.hcl"
{ totp_cfg; echo "vault_token_file = \"$work/cfg/token\""; } >"$cfg_token"
cfg_approle="$work/cfg/totp-approle.hcl"
{
	totp_cfg
	echo "approle_role_id_file = \"$work/cfg/role_id\""
	echo "approle_secret_id_file = \"$work/cfg/secret_id\""
} >"$cfg_approle"
cfg_shared="$work/cfg/totp-shared.hcl"
{
	totp_cfg
	echo "vault_token_file = \"$work/cfg/token\""
	echo "totp_used_codes_path = \"kv/vsh/used\""
	echo "totp_used_codes_key_file = \"$work/cfg/used_key\""
} >"$cfg_shared"
chmod 0600 "$cfg_token" "$cfg_approle" "$cfg_shared"

candidate_cases="" cand="" clabel=""
if [[ -n "${BENCH_CANDIDATE:-}" ]]; then
	cp "$BENCH_CANDIDATE" "$work/bin/candidate"
	cand="$work/bin/candidate"
	clabel="${BENCH_CANDIDATE_LABEL:-candidate}"
	candidate_cases=",
    {\"id\": \"b'\", \"label\": \"$clabel -verify-only\", \"argv\": [\"$cand\", \"-verify-only\", \"-config=$cfg\"]},
    {\"id\": \"c'\", \"label\": \"$clabel login\", \"argv\": [\"$cand\", \"-config=$cfg\"],
     \"env\": [\"PAM_USER=u\", \"PAM_RHOST=127.0.0.1\"], \"stdin\": \"$otp\"},
    {\"id\": \"d'\", \"label\": \"$clabel -version\", \"argv\": [\"$cand\", \"-version\"]},
    {\"id\": \"t'\", \"label\": \"$clabel TOTP login, token file\", \"argv\": [\"$cand\", \"-config=$cfg_token\"],
     \"env\": [\"PAM_USER=ct\", \"PAM_RHOST=127.0.0.1\"], \"fresh_code\": true},
    {\"id\": \"u'\", \"label\": \"$clabel TOTP login, AppRole\", \"argv\": [\"$cand\", \"-config=$cfg_approle\"],
     \"env\": [\"PAM_USER=cu\", \"PAM_RHOST=127.0.0.1\"], \"fresh_code\": true},
    {\"id\": \"v'\", \"label\": \"$clabel TOTP login, token file + shared record\", \"argv\": [\"$cand\", \"-config=$cfg_shared\"],
     \"env\": [\"PAM_USER=cv\", \"PAM_RHOST=127.0.0.1\"], \"fresh_code\": true}"
fi

cat >"$work/spec.json" <<EOF
{
  "runs": $RUNS, "warmup": $WARMUP, "callgrind": $CALLGRIND,
  "callgrind_dir": "${BENCH_CALLGRIND_DIR:-}", "baseline": "a", "baseline2": "f",
  "cases": [
    {"id": "0", "label": "empty Go program", "argv": ["$work/bin/empty"]},
    {"id": "a", "label": "floor: Go, one HTTPS PUT (HTTP/1.1)",
     "argv": ["$work/bin/floor", "-url=https://$addr/v1/ssh/verify", "-ca=$work/tls/ca.pem"]},
    {"id": "a2", "label": "floor offering HTTP/2",
     "argv": ["$work/bin/floor", "-http2", "-url=https://$addr/v1/ssh/verify", "-ca=$work/tls/ca.pem"]},
    {"id": "f", "label": "floor + import of vault/api",
     "argv": ["$work/bin/floorapi", "-url=https://$addr/v1/ssh/verify", "-ca=$work/tls/ca.pem"]},
    {"id": "g", "label": "floor's PUT through a vault/api client",
     "argv": ["$work/bin/viaapi", "-addr=https://$addr", "-ca=$work/tls/ca.pem"]},
    {"id": "b", "label": "helper -verify-only", "argv": ["$helper", "-verify-only", "-config=$cfg"]},
    {"id": "c", "label": "helper login (OTP on stdin)", "argv": ["$helper", "-config=$cfg"],
     "env": ["PAM_USER=u", "PAM_RHOST=127.0.0.1"], "stdin": "$otp"},
    {"id": "d", "label": "helper -version", "argv": ["$helper", "-version"]},
    {"id": "t", "label": "helper TOTP login, token file", "argv": ["$helper", "-config=$cfg_token"],
     "env": ["PAM_USER=t", "PAM_RHOST=127.0.0.1"], "fresh_code": true},
    {"id": "u", "label": "helper TOTP login, AppRole (2 round trips)", "argv": ["$helper", "-config=$cfg_approle"],
     "env": ["PAM_USER=u", "PAM_RHOST=127.0.0.1"], "fresh_code": true},
    {"id": "v", "label": "helper TOTP login, token file + shared record (3 round trips)", "argv": ["$helper", "-config=$cfg_shared"],
     "env": ["PAM_USER=v", "PAM_RHOST=127.0.0.1"], "fresh_code": true}$candidate_cases
  ]
}
EOF

log "measuring: $RUNS rounds, $WARMUP warm-up, callgrind x$CALLGRIND"
report="$out/report.md"
{
	echo "## vault-ssh-helper start-up bench"
	echo
	echo "$(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, $(go version | cut -d' ' -f3-), server key: $KEY," \
		"helper $("$helper" -version 2>/dev/null | head -1)"
	echo
	"$work/bin/runner" bench -spec="$work/spec.json"
	echo
	echo "### Binary sizes (stripped, as shipped)"
	echo
	echo "| binary | bytes | MiB | packages linked |"
	echo "|---|---:|---:|---:|"
	for b in "$helper:." ${cand:+"$cand:-"} "$work/bin/viaapi:./internal/bench/viaapi" "$work/bin/floorapi:-tags=vaultapi ./internal/bench/floor" "$work/bin/floor:./internal/bench/floor" "$work/bin/empty:./internal/bench/empty"; do
		f="${b%%:*}" pkg="${b#*:}"
		n="n/a"
		# shellcheck disable=SC2086 # $pkg may carry -tags before the package
		[[ "$pkg" == - ]] || n="$(go list -deps $pkg | wc -l)"
		s="$(stat -c %s "$f")"
		awk -v b="${f##*/}" -v s="$s" -v n="$n" 'BEGIN { printf "| %s | %d | %.2f | %s |\n", b, s, s / 1048576, n }'
	done
	echo
	echo "### Where the helper's bytes come from (unstripped build, symbol sizes by module)"
	echo
	go build -trimpath -buildvcs=false -o "$work/bin/helper-syms" .
	go list -deps -f '{{.ImportPath}} {{with .Module}}{{.Path}}{{end}}' . >"$work/pkgs.txt"
	"$work/bin/runner" sizes -bin="$work/bin/helper-syms" -pkgs="$work/pkgs.txt" -top=15
	if [[ "$INITTRACE" != 0 ]]; then
		echo
		echo "### Package init (GODEBUG=inittrace=1), -version: nothing but start-up"
		echo
		"$work/bin/runner" inittrace -n="$INITTRACE" -top=10 -label="vault-ssh-helper -version" -- "$helper" -version
		echo
		"$work/bin/runner" inittrace -n="$INITTRACE" -top=5 -label="floor (for comparison)" -- \
			"$work/bin/floor" -url="https://$addr/v1/ssh/verify" -ca="$work/tls/ca.pem"
		echo
		"$work/bin/runner" inittrace -n="$INITTRACE" -top=5 -label="floor + vault/api import (for comparison)" -- \
			"$work/bin/floorapi" -url="https://$addr/v1/ssh/verify" -ca="$work/tls/ca.pem"
		if [[ -n "${cand:-}" ]]; then
			echo
			"$work/bin/runner" inittrace -n="$INITTRACE" -top=5 -label="$clabel -version" -- "$cand" -version
		fi
	fi
} | tee "$report"

kill "$server_pid" 2>/dev/null || true
wait "$server_pid" 2>/dev/null || true
server_pid=""
{
	echo
	echo "### Requests the TLS server saw (kind, protocol, status)"
	echo
	echo '```'
	sed -n 's/^tlsserver: *//p' "$work/server.log"
	echo '```'
} | tee -a "$report"
log "report kept in $report"
