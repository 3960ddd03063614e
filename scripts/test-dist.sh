#!/usr/bin/env bash
# make test-dist: checks what `make dist` produces.
#
#  - runs `make dist` twice, the second time from a copy of the tree at
#    another path, and checks every artifact (and each binary inside the
#    zips) is byte-identical; the second run has an empty Go build cache, so
#    the compile itself is repeated, not taken from the first run's cache
#    (VSH_DIST_FRESH_CACHE=0 shares the cache: quicker, proves only the archives);
#  - what plain `make` builds (bin/vault-ssh-helper): static, stripped,
#    CGO_ENABLED=0, -trimpath, and -version names HEAD's commit;
#  - each binary: ELF for its architecture, static (no PT_INTERP, no dynamic
#    section), CGO_ENABLED=0 and -trimpath (go version -m), version and
#    commit stamped; each one's -version runs, and each logs in once against
#    the real Vault (e2e/logins TestReleaseBinariesLogIn): amd64
#    and 386 natively, arm, arm64 and s390x under qemu-user (qemu-i386 cannot
#    run Go's 386 runtime, so 386 needs an x86 machine);
#  - each zip holds the binary alone, mode 0755; SHA256SUMS covers exactly the
#    artifacts and verifies; the first build signs it with a throwaway GPG key
#    and the detached .sig verifies with only the public key, as a user would;
#  - each .deb/.rpm: names, metadata, exact file list with modes and owners,
#    the config file marked as such (conffile / %config(noreplace)), no
#    maintainer scripts, the packaged binary equal to the zip's, every mtime
#    SOURCE_DATE_EPOCH; the shipped example config loads in the real binary;
#  - lintian passes every .deb and rpmlint every .rpm: a tag that is neither
#    fixed nor overridden (packaging/lintian-overrides, packaging/rpmlint.toml,
#    each with its reason) fails, and so does an override that matches nothing;
#  - the man page renders with `man -l` without a warning, names exactly the
#    flags of `-h` and the config keys of config/ and of each mode (helper/*),
#    and packaging/copyright names exactly the Go modules built into the binary;
#  - as root on amd64: installs the .deb with dpkg, runs vault-ssh-helper
#    -version, checks the config's mode/owner, that an edited config survives
#    a reinstall, that /etc/pam.d/sshd and sshd_config are untouched, then
#    removes and purges the package and checks nothing is left. Skipped (with
#    a message) when a vault-ssh-helper is already on the machine.
# Installs binutils, unzip, rpm, qemu-user-static, lintian, rpmlint, man-db
# and gnupg with apt-get when missing (needs root).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
START=$SECONDS

die() { echo "test-dist: $*" >&2; exit 1; }
VSH_ROOT=$ROOT
# shellcheck source=scripts/tap.sh
source scripts/tap.sh

# --- what the checks need
need=()
command -v readelf >/dev/null || need+=(binutils)
command -v unzip >/dev/null || need+=(unzip)
command -v rpm >/dev/null || need+=(rpm)
command -v dpkg-deb >/dev/null || need+=(dpkg)
command -v qemu-s390x-static >/dev/null || need+=(qemu-user-static)
command -v lintian >/dev/null || need+=(lintian)
command -v rpmlint >/dev/null || need+=(rpmlint)
command -v man >/dev/null || need+=(man-db)
command -v groff >/dev/null || need+=(groff-base)
command -v gpg >/dev/null || need+=(gnupg)
if ((${#need[@]})); then
	[[ $EUID -eq 0 ]] && command -v apt-get >/dev/null ||
		die "needs ${need[*]} (apt-get install ${need[*]}, as root)"
	echo "test-dist: installing ${need[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get -o DPkg::Lock::Timeout=120 update -qq >/dev/null
	apt-get -o DPkg::Lock::Timeout=120 install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# The config checks below need a directory the helper trusts (not /tmp).
TMPDIR=$(bash scripts/test-tmpdir.sh)
export TMPDIR
T=$(mktemp -d "$TMPDIR/vsh-test-dist.XXXXXX")
INSTALLED_BY_US=0
cleanup() {
	# The throwaway keyrings' gpg-agents would outlive the test.
	local home
	for home in "$T/gnupg" "$T/verify"; do
		[[ -d $home ]] && GNUPGHOME=$home gpgconf --kill all >/dev/null 2>&1
	done
	if ((INSTALLED_BY_US)); then
		echo "test-dist: purging the vault-ssh-helper package this test installed" >&2
		dpkg --purge vault-ssh-helper >/dev/null 2>&1 || true
	fi
	rm -rf "$T"
}
trap cleanup EXIT

# --- the two builds
V=1.2.3-rc.1                # a prerelease, to pin the deb/rpm "~" ordering too
DEBV=1.2.3~rc.1-1 RPMV=1.2.3~rc.1-1
C=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
SDE=$(git log -1 --format=%ct HEAD 2>/dev/null || echo 1700000000)
export SOURCE_DATE_EPOCH=$SDE

# dist refuses bad input before building anything
out=$(VERSION= bash scripts/dist.sh 2>&1) && bad "dist refuses a missing VERSION" ||
	{ [[ $out == *"VERSION is required"* ]] && ok "dist refuses a missing VERSION" || bad "dist refuses a missing VERSION: $out"; }
out=$(VERSION=1.2 bash scripts/dist.sh 2>&1) && bad "dist refuses VERSION=1.2" ||
	{ [[ $out == *"must look like"* ]] && ok "dist refuses a VERSION that is not semver" || bad "dist refuses VERSION=1.2: $out"; }

# A throwaway signing key, in a keyring of its own: the first build signs with it.
GNUPGHOME_SIGN=$T/gnupg
mkdir -m 0700 "$GNUPGHOME_SIGN"
GNUPGHOME=$GNUPGHOME_SIGN gpg --batch --quiet --passphrase '' \
	--quick-gen-key 'vault-ssh-helper test-dist <test-dist@example.invalid>' ed25519 sign 1d 2>/dev/null ||
	die "gpg could not make a throwaway key"
FPR=$(GNUPGHOME=$GNUPGHOME_SIGN gpg --batch --with-colons --list-secret-keys 2>/dev/null | awk -F: '$1 == "fpr" {print $10; exit}')
[[ $FPR =~ ^[0-9A-F]{40}$ ]] || die "no fingerprint for the throwaway key: '$FPR'"
GNUPGHOME=$GNUPGHOME_SIGN gpg --batch --armor --export "$FPR" >"$T/release-key.asc"

out=$(GNUPGHOME=$GNUPGHOME_SIGN GPG_KEY=nobody@example.invalid VERSION=$V bash scripts/dist.sh 2>&1) &&
	bad "dist refuses a GPG_KEY that names no secret key" ||
	{ [[ $out == *"names no secret key"* ]] && ok "dist refuses a GPG_KEY that names no secret key (before building)" ||
		bad "dist refuses GPG_KEY=nobody@example.invalid: $out"; }

run_dist() { # DIR DIST_DIR LOG [env...]
	local dir=$1 dd=$2 log=$3; shift 3
	local t0=$SECONDS
	if ! (cd "$dir" && env "$@" DIST_DIR="$dd" make --no-print-directory -s dist VERSION="$V" COMMIT="$C") >"$log" 2>&1; then
		cat "$log" >&2
		die "make dist failed in $dir"
	fi
	echo "test-dist: make dist in $dir took $((SECONDS - t0))s"
}
A=$T/a B=$T/b
run_dist "$ROOT" "$A" "$T/dist-a.log" GNUPGHOME="$GNUPGHOME_SIGN" GPG_KEY="$FPR"

# The second build runs from a copy of the work tree (tracked and untracked
# files, not ignored ones) at another path: -trimpath must leave no trace of it.
mkdir -p "$T/src"
git ls-files -z --cached --others --exclude-standard |
	while IFS= read -r -d '' f; do [[ -e $f || -L $f ]] && printf '%s\0' "$f"; done |
	tar -cf - --null -T - | tar -xf - -C "$T/src"
extra=()
if [[ ${VSH_DIST_FRESH_CACHE:-1} != 0 ]]; then extra=(GOCACHE="$T/gocache"); fi
run_dist "$T/src" "$B" "$T/dist-b.log" "${extra[@]}"

# --- reproducible (but for the signature, which only the first build made)
expect "both builds wrote the same file names" "$(ls -A "$A" | grep -v '\.sig$')" "$(ls -A "$B")"
for f in "$A"/*; do
	n=${f##*/}
	[[ $n == *.sig ]] && continue
	if cmp -s "$f" "$B/$n"; then ok "reproducible: $n byte-identical"; else bad "reproducible: $n differs between the two builds"; fi
done

# --- artifacts per architecture
declare -A DEBARCH=([386]=i386 [amd64]=amd64 [arm]=armhf [arm64]=arm64 [s390x]=s390x)
declare -A RPMARCH=([386]=i386 [amd64]=x86_64 [arm]=armv6hl [arm64]=aarch64 [s390x]=s390x)
declare -A MACHINE=([386]="Intel 80386" [amd64]="Advanced Micro Devices X86-64" [arm]="ARM" [arm64]="AArch64" [s390x]="IBM S/390")
declare -A CLASS=([386]=ELF32 [amd64]=ELF64 [arm]=ELF32 [arm64]=ELF64 [s390x]=ELF64)
declare -A QEMU=([386]=i386 [amd64]=x86_64 [arm]=arm [arm64]=aarch64 [s390x]=s390x)
# emulator_for GOARCH: "" when this machine runs the binary itself, else the
# qemu-user binary that does.
emulator_for() {
	local host
	host=$(go env GOHOSTARCH)
	if [[ $1 == "$host" || ($1 == 386 && $host == amd64) ]]; then return; fi
	command -v "qemu-${QEMU[$1]}-static" || echo "qemu-${QEMU[$1]}-static-not-installed"
}
how_run() { if [[ -n $1 ]]; then echo "under ${1##*/}"; else echo natively; fi; }
release_binaries=""

when=$(date -u -d "@$SDE" '+%Y-%m-%d %H:%M:%S')
# (nfpm writes the changelog it generates with numeric owners)
want_deb_files="drwxr-xr-x root/root ./etc/
drwxr-xr-x root/root ./etc/vault-ssh-helper.d/
-rw-r----- root/root ./etc/vault-ssh-helper.d/config.hcl
drwxr-xr-x root/root ./usr/
drwxr-xr-x root/root ./usr/bin/
-rwxr-xr-x root/root ./usr/bin/vault-ssh-helper
drwxr-xr-x root/root ./usr/share/
drwxr-xr-x root/root ./usr/share/doc/
drwxr-xr-x root/root ./usr/share/doc/vault-ssh-helper/
-rw-r--r-- root/root ./usr/share/doc/vault-ssh-helper/README.md
-rw-r--r-- 0/0 ./usr/share/doc/vault-ssh-helper/changelog.Debian.gz
-rw-r--r-- root/root ./usr/share/doc/vault-ssh-helper/copyright
drwxr-xr-x root/root ./usr/share/lintian/
drwxr-xr-x root/root ./usr/share/lintian/overrides/
-rw-r--r-- root/root ./usr/share/lintian/overrides/vault-ssh-helper
drwxr-xr-x root/root ./usr/share/man/
drwxr-xr-x root/root ./usr/share/man/man8/
-rw-r--r-- root/root ./usr/share/man/man8/vault-ssh-helper.8.gz
drwxr-xr-x root/root ./var/
drwxr-xr-x root/root ./var/lib/
drwx------ root/root ./var/lib/vault-ssh-helper/"
want_rpm_list="/etc/vault-ssh-helper.d
/etc/vault-ssh-helper.d/config.hcl
/usr/bin/vault-ssh-helper
/usr/share/doc/vault-ssh-helper
/usr/share/doc/vault-ssh-helper/README.md
/usr/share/licenses/vault-ssh-helper
/usr/share/licenses/vault-ssh-helper/LICENSE
/usr/share/man/man8/vault-ssh-helper.8.gz
/var/lib/vault-ssh-helper"
# perms owner:group flags (c config, n noreplace, d doc, l license) path
want_rpm_files="drwxr-xr-x root:root  /etc/vault-ssh-helper.d
-rw-r----- root:root cn /etc/vault-ssh-helper.d/config.hcl
-rwxr-xr-x root:root  /usr/bin/vault-ssh-helper
drwxr-xr-x root:root  /usr/share/doc/vault-ssh-helper
-rw-r--r-- root:root d /usr/share/doc/vault-ssh-helper/README.md
drwxr-xr-x root:root  /usr/share/licenses/vault-ssh-helper
-rw-r--r-- root:root l /usr/share/licenses/vault-ssh-helper/LICENSE
-rw-r--r-- root:root d /usr/share/man/man8/vault-ssh-helper.8.gz
drwx------ root:root  /var/lib/vault-ssh-helper"
# The one changelog entry, as each format shows it.
want_deb_changelog_head="vault-ssh-helper ($DEBV) unstable; urgency=medium
  * Release $V, built from commit $C."

expected=()
for arch in 386 amd64 arm arm64 s390x; do
	zip=vault-ssh-helper_${V}_linux_${arch}.zip
	deb=vault-ssh-helper_${DEBV}_${DEBARCH[$arch]}.deb
	rpmf=vault-ssh-helper-${RPMV}.${RPMARCH[$arch]}.rpm
	expected+=("$zip" "$deb" "$rpmf")
	for f in "$zip" "$deb" "$rpmf"; do
		[[ -f $A/$f ]] || { bad "$arch: $f was not written"; continue 2; }
	done

	# zip: the binary alone, executable
	expect "$arch: $zip holds only vault-ssh-helper" "vault-ssh-helper" "$(unzip -Z1 "$A/$zip")"
	expect "$arch: zip entry mode is 0755" "-rwxr-xr-x" "$(unzip -Z "$A/$zip" | awk '$NF == "vault-ssh-helper" {print $1}')"
	x=$T/x/$arch
	mkdir -p "$x" "$T/xb/$arch"
	unzip -q -o "$A/$zip" -d "$x"
	unzip -q -o "$B/$zip" -d "$T/xb/$arch"
	bin=$x/vault-ssh-helper
	check "$arch: binary byte-identical across the two builds" cmp -s "$bin" "$T/xb/$arch/vault-ssh-helper"

	# static ELF for the right machine
	hdr=$(readelf -hW "$bin")
	check "$arch: ELF class ${CLASS[$arch]}, machine ${MACHINE[$arch]}" \
		grep -Eq "Class: +${CLASS[$arch]}\$" <<<"$hdr"
	grep -Eq "Machine: +${MACHINE[$arch]}\$" <<<"$hdr" || bad "$arch: ELF machine is not ${MACHINE[$arch]}"
	if readelf -lW "$bin" | grep -q INTERP; then bad "$arch: binary has a program interpreter (dynamically linked)"; else ok "$arch: no program interpreter"; fi
	check "$arch: no dynamic section" grep -q "There is no dynamic section" <(readelf -dW "$bin")

	# stamped version, commit and build settings (go version -m leaves the
	# -ldflags out under -trimpath, so the -X values are looked for as strings)
	bi=$(go version -m "$bin" | tr '\t' ' ')
	check "$arch: go version -m: CGO_ENABLED=0, -trimpath, GOOS=linux, GOARCH=$arch" \
		bash -c 'for w in "${@:2}"; do grep -qxF " build $w" <<<"$1" || exit 1; done' _ "$bi" \
		CGO_ENABLED=0 -trimpath=true GOOS=linux "GOARCH=$arch"
	check "$arch: the stamped version ($V) and commit ($C) strings are in the binary" \
		bash -c 'grep -aqF -- "$1" "$3" && grep -aqF -- "$2" "$3"' _ "$V" "$C" "$bin"
	emu=$(emulator_for "$arch")
	expect "$arch: -version prints the stamped version ($(how_run "$emu"))" \
		"$(version_line "$V" "$C")" "$(env -i ${emu:+"$emu"} "$bin" -version 2>&1)"
	release_binaries+="$arch $bin${emu:+ $emu}"$'\n'

	# .deb
	expect "$arch: deb Package/Version/Architecture" \
		"vault-ssh-helper $DEBV ${DEBARCH[$arch]}" \
		"$(dpkg-deb -f "$A/$deb" Package Version Architecture | cut -d' ' -f2 | paste -sd' ')"
	expect "$arch: deb file list, modes and owners" "$want_deb_files" \
		"$(dpkg-deb -c "$A/$deb" | awk '{print $1, $2, $6}')"
	expect "$arch: deb every mtime is SOURCE_DATE_EPOCH ($when)" "$when" \
		"$(dpkg-deb --fsys-tarfile "$A/$deb" | tar -tv --full-time --utc | awk '{print $4, $5}' | sort -u)"
	expect "$arch: deb conffiles" "/etc/vault-ssh-helper.d/config.hcl" "$(dpkg-deb -I "$A/$deb" conffiles)"
	expect "$arch: deb has no maintainer scripts" "./conffiles ./control ./md5sums" \
		"$(dpkg-deb --ctrl-tarfile "$A/$deb" | tar -t | sort | paste -sd' ')"
	check "$arch: deb's /usr/bin/vault-ssh-helper is the zip's binary" \
		cmp -s "$bin" <(dpkg-deb --fsys-tarfile "$A/$deb" | tar -xOf - ./usr/bin/vault-ssh-helper)
	check "$arch: deb's config.hcl is packaging/config.hcl" \
		cmp -s packaging/config.hcl <(dpkg-deb --fsys-tarfile "$A/$deb" | tar -xOf - ./etc/vault-ssh-helper.d/config.hcl)
	check "$arch: deb's copyright is packaging/copyright" \
		cmp -s packaging/copyright <(dpkg-deb --fsys-tarfile "$A/$deb" | tar -xOf - ./usr/share/doc/vault-ssh-helper/copyright)
	check "$arch: deb's lintian overrides are packaging/lintian-overrides" \
		cmp -s packaging/lintian-overrides <(dpkg-deb --fsys-tarfile "$A/$deb" | tar -xOf - ./usr/share/lintian/overrides/vault-ssh-helper)
	check "$arch: deb's man page is packaging/vault-ssh-helper.8, gzipped" \
		cmp -s packaging/vault-ssh-helper.8 <(dpkg-deb --fsys-tarfile "$A/$deb" | tar -xOf - ./usr/share/man/man8/vault-ssh-helper.8.gz | gzip -dc)
	expect "$arch: deb Maintainer has an e-mail address; no License field (not a Debian field)" \
		"vault-ssh-helper maintainers <vault-ssh-helper@users.noreply.github.com>|" \
		"$(dpkg-deb -f "$A/$deb" Maintainer)|$(dpkg-deb -f "$A/$deb" License)"
	expect "$arch: deb changelog.Debian.gz: one entry, for $DEBV" "$want_deb_changelog_head" \
		"$(dpkg-deb --fsys-tarfile "$A/$deb" | tar -xOf - ./usr/share/doc/vault-ssh-helper/changelog.Debian.gz | gzip -dc | head -2)"

	# .rpm
	expect "$arch: rpm -qlp lists the expected files" "$want_rpm_list" "$(rpm -qlp "$A/$rpmf" 2>&1)"
	expect "$arch: rpm modes, owners, %config(noreplace), %doc, %license" "$want_rpm_files" \
		"$(rpm -qp --qf '[%{FILEMODES:perms} %{FILEUSERNAME}:%{FILEGROUPNAME} %{FILEFLAGS:fflags} %{FILENAMES}\n]' "$A/$rpmf" 2>&1)"
	expect "$arch: rpm name, version, arch, build time" \
		"vault-ssh-helper ${RPMV} ${RPMARCH[$arch]} $SDE" \
		"$(rpm -qp --qf '%{NAME} %{VERSION}-%{RELEASE} %{ARCH} %{BUILDTIME}' "$A/$rpmf" 2>&1)"
	expect "$arch: rpm has no scriptlets" "" "$(rpm -qp --scripts "$A/$rpmf" 2>&1)"
	expect "$arch: rpm License (SPDX), Packager, %changelog entry for $RPMV" \
		"MPL-2.0|vault-ssh-helper maintainers <vault-ssh-helper@users.noreply.github.com>|vault-ssh-helper maintainers <vault-ssh-helper@users.noreply.github.com> - $RPMV" \
		"$(rpm -qp --qf '%{LICENSE}|%{PACKAGER}|[%{CHANGELOGNAME}]' "$A/$rpmf" 2>&1)"
	expect "$arch: rpm's man page digest is the deb's" \
		"$(dpkg-deb --fsys-tarfile "$A/$deb" | tar -xOf - ./usr/share/man/man8/vault-ssh-helper.8.gz | sha256sum | cut -c1-64)" \
		"$(rpm -qp --qf '[%{FILEDIGESTS} %{FILENAMES}\n]' "$A/$rpmf" | awk '$2 == "/usr/share/man/man8/vault-ssh-helper.8.gz" {print $1}')"
	expect "$arch: rpm's /usr/bin/vault-ssh-helper digest is the zip binary's sha256" \
		"$(sha256sum "$bin" | cut -c1-64)" \
		"$(rpm -qp --qf '[%{FILEDIGESTS} %{FILENAMES}\n]' "$A/$rpmf" | awk '$2 == "/usr/bin/vault-ssh-helper" {print $1}')"
	check "$arch: rpm digests verify (rpm -K)" bash -c 'rpm -K --nosignature "$1" 2>&1 | grep -q "digests OK"' _ "$A/$rpmf"
done

source scripts/test-dist-selinux.sh # the SELinux module and its rpm; adds the rpm to expected
# --- checksums
SUMS=vault-ssh-helper_${V}_SHA256SUMS
expected+=("$SUMS" "$SUMS.sig")
expect "dist holds exactly the zips, packages and $SUMS" \
	"$(printf '%s\n' "${expected[@]}" | LC_ALL=C sort)" "$(ls -A "$A" | LC_ALL=C sort)"
expect "$SUMS lists every artifact but itself (and its signature)" \
	"$(printf '%s\n' "${expected[@]}" | grep -vxF -e "$SUMS" -e "$SUMS.sig" | LC_ALL=C sort)" "$(awk '{print $2}' "$A/$SUMS")"
check "sha256sum -c --strict $SUMS verifies" bash -c 'cd "$1" && sha256sum -c --strict --quiet "$2"' _ "$A" "$SUMS"

# --- the signature, checked as a user would: only the published public key
# in an empty keyring, then gpg --verify.
mkdir -m 0700 "$T/verify"
GNUPGHOME=$T/verify gpg --batch --quiet --import "$T/release-key.asc" 2>/dev/null
sig_verifies() { # SIG FILE: gpg says the throwaway key made a good signature
	GNUPGHOME=$T/verify gpg --batch --status-fd 1 --verify "$1" "$2" 2>/dev/null | grep -q "^\[GNUPG:\] VALIDSIG $FPR "
}
check "$SUMS.sig verifies with the release key alone (gpg --verify)" sig_verifies "$A/$SUMS.sig" "$A/$SUMS"
check "$SUMS.sig is a binary detached signature (not armored)" \
	bash -c '! grep -aq "BEGIN PGP" "$1" && [[ $(gpg --list-packets "$1" 2>/dev/null) == *":signature packet:"* ]]' _ "$A/$SUMS.sig"
{ cat "$A/$SUMS"; echo "0000000000000000000000000000000000000000000000000000000000000000  evil.zip"; } >"$T/tampered"
if sig_verifies "$A/$SUMS.sig" "$T/tampered"; then bad "the signature verifies an altered $SUMS"; else ok "the signature refuses an altered $SUMS"; fi

# same_set DESC NAME_A A NAME_B B: two sorted lists, one item a line, are the
# same set; otherwise says which items only one side has.
same_set() {
	local only_a only_b
	only_a=$(comm -23 <(printf '%s\n' "$3" | sed '/^$/d' | LC_ALL=C sort -u) <(printf '%s\n' "$5" | sed '/^$/d' | LC_ALL=C sort -u) | paste -sd' ')
	only_b=$(comm -13 <(printf '%s\n' "$3" | sed '/^$/d' | LC_ALL=C sort -u) <(printf '%s\n' "$5" | sed '/^$/d' | LC_ALL=C sort -u) | paste -sd' ')
	if [[ -z $3 && -z $5 ]]; then bad "$1: both lists are empty (the check could not read them)"
	elif [[ -z $only_a && -z $only_b ]]; then ok "$1"
	else
		bad "$1"
		[[ -z $only_a ]] || echo "       only in $2: $only_a"
		[[ -z $only_b ]] || echo "       only in $4: $only_b"
	fi
}

# --- every release binary logs in once against the real Vault, natively or
# under qemu-user (e2e/logins, TestReleaseBinariesLogIn)
t0=$SECONDS
if (cd e2e && VSH_RELEASE_BINARIES=$release_binaries CGO_ENABLED=0 \
	go test -count=1 -timeout 15m -run '^TestReleaseBinariesLogIn$' -v ./logins) >"$T/release-login.log" 2>&1 </dev/null; then
	ok "TestReleaseBinariesLogIn ran ($((SECONDS - t0))s)"
else
	bad "TestReleaseBinariesLogIn failed"
	tail -60 "$T/release-login.log" | sed 's/^/       /'
fi
for arch in 386 amd64 arm arm64 s390x; do
	check "$arch: the release binary logged in against the real Vault and denied another host's OTP ($(how_run "$(emulator_for "$arch")"))" \
		grep -qE "^    --- PASS: TestReleaseBinariesLogIn/$arch " "$T/release-login.log"
done

# --- the packages' own linters: lintian for the .debs, rpmlint for the .rpms.
# Any message fails unless packaging/lintian-overrides or packaging/rpmlint.toml
# overrides it (each with its reason); so does an override that matches nothing.
package_paths_present() {
	local p
	for p in /usr/bin/vault-ssh-helper /etc/vault-ssh-helper.d /usr/share/doc/vault-ssh-helper \
		/usr/share/licenses/vault-ssh-helper /usr/share/man/man8/vault-ssh-helper.8.gz /var/lib/vault-ssh-helper; do
		[[ -e $p ]] && echo "$p"
	done
	return 0
}
paths_before_lint=$(package_paths_present)

lintian --display-info --pedantic --show-overrides "$A"/*.deb >"$T/lintian.out" 2>"$T/lintian.err" || true
echo "test-dist: $(lintian --version) on the five .debs:"
grep -v '^N:' "$T/lintian.out" | sed 's/^/       /'
expect "lintian: no tag on any .deb but those overridden" "" "$(grep -E '^[EWIPX]: ' "$T/lintian.out")"
n_overrides=$(grep -c '^vault-ssh-helper: ' packaging/lintian-overrides)
expect "lintian: each of the $n_overrides overrides used on each of the 5 .debs" "$((5 * n_overrides))" \
	"$(grep -c '^O: vault-ssh-helper: ' "$T/lintian.out")"

# rpmlint unpacks a package with `rpm2cpio | cpio -id`. nfpm names the payload's
# files /usr/bin/... where rpmbuild writes ./usr/bin/..., and GNU cpio keeps
# absolute names, so as root rpmlint would write the package into /. A cpio
# that strips them keeps the unpacking in rpmlint's own directory.
mkdir -p "$T/cpio-bin"
printf '#!/bin/sh\nexec %q --no-absolute-filenames "$@"\n' "$(command -v cpio)" >"$T/cpio-bin/cpio"
chmod 0755 "$T/cpio-bin/cpio"
rpmlint_run() { # CONFIG OUT
	PATH="$T/cpio-bin:$PATH" rpmlint -c "$1" "$A"/vault-ssh-helper-[0-9]*.rpm >"$2" 2>&1 </dev/null || true
}
rpmlint_run packaging/rpmlint.toml "$T/rpmlint.out"
echo "test-dist: rpmlint $(rpmlint --version 2>/dev/null) on the five .rpms:"
grep -E ': [EW]: |packages and' "$T/rpmlint.out" | sed 's/^/       /'
expect "rpmlint: no message on any .rpm but those filtered" "" "$(grep -E ': [EW]: ' "$T/rpmlint.out")"
check "rpmlint: checked 5 packages, 0 errors, 0 warnings" \
	grep -qE '^ *5 packages and 0 specfiles checked; 0 errors, 0 warnings' "$T/rpmlint.out"
# Without the filters each one must still match a message on every package.
sed '/^Filters = \[/,$d' packaging/rpmlint.toml >"$T/rpmlint-unfiltered.toml"
rpmlint_run "$T/rpmlint-unfiltered.toml" "$T/rpmlint-unfiltered.out"
mapfile -t filters < <(sed -n "s/^ *'\(.*\)',\$/\1/p" packaging/rpmlint.toml)
((${#filters[@]})) || bad "rpmlint: no filter read from packaging/rpmlint.toml"
for f in "${filters[@]}"; do
	expect "rpmlint: filter '$f' still matches on each of the 5 .rpms" 5 \
		"$(grep -E ': [EW]: ' "$T/rpmlint-unfiltered.out" | grep -cE -- "$f")"
done
expect "rpmlint unpacked nothing outside its own directory" "$paths_before_lint" "$(package_paths_present)"

# --- the man page: renders, and names what -h and config/ name
mkdir -p "$T/man"
dpkg-deb --fsys-tarfile "$A/vault-ssh-helper_${DEBV}_amd64.deb" | tar -xOf - ./usr/share/man/man8/vault-ssh-helper.8.gz >"$T/man/vault-ssh-helper.8.gz"
rendered=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$T/man/vault-ssh-helper.8.gz" 2>"$T/man/err")
check "man -l renders the packaged vault-ssh-helper(8): title line, NAME" \
	bash -c '[[ $1 == "VAULT-SSH-HELPER(8) "* ]] && grep -A1 -x NAME <<<"$1" | grep -qE "^ +vault-ssh-helper +- "' _ "$rendered"
expect "man -l: no warning from man or groff" "" "$(cat "$T/man/err")"
# The words a section of the page defines: its .TP tags, read from the roff
# source (the rendered text wraps and hyphenates), without quoted separators
# such as ", " and without "=value".
man_tags() { # SECTION
	gzip -dc "$T/man/vault-ssh-helper.8.gz" |
		awk -v s="$1" '/^\.SH / {sect = $0; sub(/^\.SH +/, "", sect); gsub(/"/, "", sect); next}
			/^\.TP/ {tp = 1; next}
			tp {tp = 0; if (sect == s) print}' |
		sed 's/"[^"]*"//g; s/\\-/-/g' | awk '{for (i = 2; i <= NF; i++) print $i}' | sed 's/=.*//'
}
usage=$("$T/x/amd64/vault-ssh-helper" -h 2>&1 || true)
same_set "man page OPTIONS name exactly the flags of -h" "-h" \
	"$(sed -n 's/^  \(-[a-z][^ ]*\(, -[a-z][^ ]*\)*\)  .*/\1/p' <<<"$usage" | sed 's/, /\n/g; s/=.*//')" \
	"the man page" "$(man_tags OPTIONS | grep -E '^-[a-z][a-z-]*$')"
# The keys: config's shared ones (config/decode.go's sharedKeys) and each
# mode's, the Keys of the config.Mode in its helper.NewPlugin call.
shared_keys() {
	sed -n '/^var sharedKeys = \[\]string{/,/^}/p' config/decode.go | grep -o '"[a-z_]*"' | tr -d '"'
}
mode_keys() {
	grep -l 'helper\.NewPlugin(' helper/*/*.go | grep -v '_test\.go$' | while IFS= read -r f; do
		sed -n '/helper\.NewPlugin(/,/^}/p' "$f" | sed -n '/Keys: *\[\]string{/,/}/p' | grep -o '"[a-z_]*"' | tr -d '"' | grep .
	done | sort -u
}
same_set "man page CONFIGURATION names exactly the keys config/ and the modes accept" "config/decode.go and helper/*" \
	"$(shared_keys; mode_keys)" \
	"the man page" "$(man_tags CONFIGURATION | grep -E '^[a-z][a-z_]*$')"

# --- packaging/copyright names exactly the Go modules built into the binary
# (a stanza for a module's sub-directory counts as naming the module)
deps=$(go version -m "$T/x/amd64/vault-ssh-helper" | awk '$1 == "dep" {print $2}')
copyright_modules=$(awk '/^[A-Z][A-Za-z-]*:/ {f = /^Files:/} f' packaging/copyright | sed 's/^Files://' | tr ' ' '\n' |
	grep -E '^[a-z0-9-]+\.[a-z.]+/' | sed 's|/\*$||' |
	while IFS= read -r path; do
		mod=$path
		while IFS= read -r d; do [[ $path == "$d" || $path == "$d"/* ]] && mod=$d; done <<<"$deps"
		echo "$mod"
	done)
same_set "packaging/copyright names exactly the modules in the binary (go version -m)" \
	"the binary" "$deps" "packaging/copyright" "$copyright_modules"

# --- what `make` builds for a user: the same build settings as a release
make --no-print-directory -s build >"$T/make.log" 2>&1 || { cat "$T/make.log"; die "make failed"; }
mk=$ROOT/bin/vault-ssh-helper
if readelf -lW "$mk" | grep -q INTERP; then bad "make: bin/vault-ssh-helper has a program interpreter (dynamically linked)"; else ok "make: bin/vault-ssh-helper has no program interpreter"; fi
check "make: bin/vault-ssh-helper has no dynamic section" grep -q "There is no dynamic section" <(readelf -dW "$mk")
check "make: bin/vault-ssh-helper is stripped (-s -w)" bash -c '! readelf -SW "$1" | grep -q "\.symtab"' _ "$mk"
bi=$(go version -m "$mk" | tr '\t' ' ')
check "make: go version -m: CGO_ENABLED=0, -trimpath" \
	bash -c 'for w in "${@:2}"; do grep -qxF " build $w" <<<"$1" || exit 1; done' _ "$bi" CGO_ENABLED=0 -trimpath=true
mkv=$(make --no-print-directory -s -f Makefile -f <(echo 'print-version: ; @echo $(VERSION)') print-version)
expect "make: -version names the Makefile's version ($mkv) and HEAD's commit ($C)" \
	"$(version_line "$mkv" "$C")" "$("$mk" -version 2>&1)"

# --- the shipped example config is valid for the product: with it the binary
# gets past loading the file (logs the mount point) and then refuses a
# password that is not an OTP, before contacting anything.
# The texts come from testdata/reasons.json (see reasons_test.go): pinned
# once, in the Go tests.
reason() { # NAME [ARG...]: the text of the product's message called NAME
	local text
	text=$(sed -n "s/^  \"$1\": \"\(.*\)\",\{0,1\}\$/\1/p" "$ROOT/testdata/reasons.json")
	[[ -n $text ]] || die "no reason $1 in testdata/reasons.json"
	# shellcheck disable=SC2059 # the reason is the format
	printf "$text" "${@:2}"
}
config_loads() { # BINARY CONFIG
	local err
	err=$(printf 'not-an-otp' | env -i PAM_USER=nobody "$1" -config="$2" 2>&1 >/dev/null) && return 1
	grep -qF "$(reason sshotp.announce ssh)" <<<"$err" && grep -qF "$(reason sshotp.ErrNotOTPShape)" <<<"$err" ||
		{ echo "$err" | sed 's/^/       /'; return 1; }
}
install -m 0600 packaging/config.hcl "$T/config.hcl"
check "packaging/config.hcl loads in the amd64 binary" config_loads "$T/x/amd64/vault-ssh-helper" "$T/config.hcl"

# --- install the amd64 .deb on this machine
deb=$A/vault-ssh-helper_${DEBV}_amd64.deb
# The package's dpkg status unless it is absent or purged ("" then).
pkg_status() {
	local st
	st=$(dpkg-query -W -f='${Status} ${Version}' vault-ssh-helper 2>/dev/null) || true
	[[ $st == *" not-installed"* ]] && st=""
	echo "$st"
}
state_of_operator_files() {
	local f
	for f in /etc/ssh/sshd_config /etc/pam.d; do [[ -e $f ]] || echo "absent $f"; done
	find /etc/pam.d /etc/ssh/sshd_config /etc/ssh/sshd_config.d -xdev \( -type f -o -type l \) 2>/dev/null |
		LC_ALL=C sort | while IFS= read -r f; do
			echo "$(stat -c '%A %U:%G' "$f") $(sha256sum <"$f" | cut -c1-64) $f"
		done
}
if [[ $EUID -ne 0 ]]; then
	skip "deb install: not root (CI runs this as root)"
elif [[ $(dpkg --print-architecture) != amd64 ]]; then
	skip "deb install: this machine is $(dpkg --print-architecture), not amd64"
elif [[ -n $(pkg_status) ]]; then
	skip "deb install: a vault-ssh-helper package is already on this machine ($(pkg_status)); not touching it"
elif [[ -e /usr/bin/vault-ssh-helper || -e /etc/vault-ssh-helper.d || -e /usr/share/doc/vault-ssh-helper || -e /var/lib/vault-ssh-helper ]]; then
	skip "deb install: /usr/bin/vault-ssh-helper, /etc/vault-ssh-helper.d, /var/lib/vault-ssh-helper or the doc dir already exists; not overwriting it"
else
	before=$(state_of_operator_files)
	INSTALLED_BY_US=1
	if dpkg -i "$deb" </dev/null >"$T/dpkg.log" 2>&1; then ok "dpkg -i installs the amd64 .deb"; else bad "dpkg -i failed"; cat "$T/dpkg.log"; fi
	expect "dpkg reports it installed" "install ok installed $DEBV" "$(dpkg-query -W -f='${Status} ${Version}' vault-ssh-helper 2>&1)"
	expect "vault-ssh-helper -version (from PATH)" "$(version_line "$V" "$C")" "$(PATH=/usr/sbin:/usr/bin:/sbin:/bin vault-ssh-helper -version 2>&1)"
	expect "/usr/bin/vault-ssh-helper is 755 root:root" "755 root:root" "$(stat -c '%a %U:%G' /usr/bin/vault-ssh-helper)"
	expect "/etc/vault-ssh-helper.d/config.hcl is 640 root:root" "640 root:root" "$(stat -c '%a %U:%G' /etc/vault-ssh-helper.d/config.hcl)"
	expect "/var/lib/vault-ssh-helper (TOTP state_dir) is 700 root:root" "700 root:root" "$(stat -c '%a %U:%G' /var/lib/vault-ssh-helper)"
	expect "README.md, changelog.Debian.gz and copyright in /usr/share/doc/vault-ssh-helper" \
		"README.md changelog.Debian.gz copyright" "$(ls /usr/share/doc/vault-ssh-helper | paste -sd' ')"
	expect "man finds vault-ssh-helper(8)" "/usr/share/man/man8/vault-ssh-helper.8.gz" "$(man -w 8 vault-ssh-helper 2>&1)"
	check "dpkg knows config.hcl as a conffile" grep -q "/etc/vault-ssh-helper.d/config.hcl [0-9a-f]" <(dpkg-query -W -f='${Conffiles}\n' vault-ssh-helper)
	check "the installed config loads in the installed binary" config_loads /usr/bin/vault-ssh-helper /etc/vault-ssh-helper.d/config.hcl

	echo '# edited by test-dist' >>/etc/vault-ssh-helper.d/config.hcl
	edited=$(sha256sum </etc/vault-ssh-helper.d/config.hcl)
	if timeout 120 dpkg -i "$deb" </dev/null >"$T/dpkg.log" 2>&1; then ok "dpkg -i again (reinstall) succeeds without a prompt"; else bad "reinstall failed"; cat "$T/dpkg.log"; fi
	expect "an edited config survives the reinstall" "$edited" "$(sha256sum </etc/vault-ssh-helper.d/config.hcl)"

	if dpkg -r vault-ssh-helper </dev/null >"$T/dpkg.log" 2>&1; then ok "dpkg -r removes it"; else bad "dpkg -r failed"; cat "$T/dpkg.log"; fi
	check "after remove: binary gone, edited config kept" \
		bash -c '[[ ! -e /usr/bin/vault-ssh-helper && -f /etc/vault-ssh-helper.d/config.hcl ]]'
	if dpkg --purge vault-ssh-helper </dev/null >"$T/dpkg.log" 2>&1; then ok "dpkg --purge purges it"; else bad "dpkg --purge failed"; cat "$T/dpkg.log"; fi
	INSTALLED_BY_US=0
	expect "after purge: none of the package's files is left" "" "$(package_paths_present)$(ls /usr/share/lintian/overrides/vault-ssh-helper 2>/dev/null)"
	expect "after purge: dpkg no longer knows the package" "" "$(pkg_status)"
	expect "/etc/pam.d and sshd_config untouched throughout" "$before" "$(state_of_operator_files)"
fi

source scripts/test-dist-lifecycle.sh "$A" # install, upgrade, remove the amd64 .deb and .rpm in private roots
echo "test-dist: $((SECONDS - START))s"
echo "test-dist: $PASS passed, $FAIL failed, $SKIP skipped"
((FAIL == 0))
