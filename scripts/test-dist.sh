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
#    commit stamped (-version run for amd64 and 386, as strings for the rest:
#    no emulator is installed);
#  - each zip holds the binary alone, mode 0755; SHA256SUMS covers exactly the
#    artifacts and verifies;
#  - each .deb/.rpm: names, metadata, exact file list with modes and owners,
#    the config file marked as such (conffile / %config(noreplace)), no
#    maintainer scripts, the packaged binary equal to the zip's, every mtime
#    SOURCE_DATE_EPOCH; the shipped example config loads in the real binary;
#  - as root on amd64: installs the .deb with dpkg, runs vault-ssh-helper
#    -version, checks the config's mode/owner, that an edited config survives
#    a reinstall, that /etc/pam.d/sshd and sshd_config are untouched, then
#    removes and purges the package and checks nothing is left. Skipped (with
#    a message) when a vault-ssh-helper is already on the machine.
# Installs binutils, unzip and rpm with apt-get when missing (needs root).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
START=$SECONDS

PASS=0 FAIL=0 SKIP=0
ok() { echo "ok   - $*"; PASS=$((PASS + 1)); }
bad() { echo "FAIL - $*"; FAIL=$((FAIL + 1)); }
skip() { echo "skip - $*"; SKIP=$((SKIP + 1)); }
die() { echo "test-dist: $*" >&2; exit 1; }
# expect DESC WANT GOT
expect() {
	if [[ $2 == "$3" ]]; then ok "$1"; else
		bad "$1"
		diff <(printf '%s\n' "$2") <(printf '%s\n' "$3") | sed 's/^/       /' || true
	fi
}
# check DESC CMD...: passes when CMD succeeds
check() { local d=$1; shift; if "$@"; then ok "$d"; else bad "$d"; fi; }

# --- what the checks need
need=()
command -v readelf >/dev/null || need+=(binutils)
command -v unzip >/dev/null || need+=(unzip)
command -v rpm >/dev/null || need+=(rpm)
command -v dpkg-deb >/dev/null || need+=(dpkg)
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
run_dist "$ROOT" "$A" "$T/dist-a.log"

# The second build runs from a copy of the work tree (tracked and untracked
# files, not ignored ones) at another path: -trimpath must leave no trace of it.
mkdir -p "$T/src"
git ls-files -z --cached --others --exclude-standard |
	while IFS= read -r -d '' f; do [[ -e $f || -L $f ]] && printf '%s\0' "$f"; done |
	tar -cf - --null -T - | tar -xf - -C "$T/src"
extra=()
if [[ ${VSH_DIST_FRESH_CACHE:-1} != 0 ]]; then extra=(GOCACHE="$T/gocache"); fi
run_dist "$T/src" "$B" "$T/dist-b.log" "${extra[@]}"

# --- reproducible
expect "both builds wrote the same file names" "$(ls -A "$A")" "$(ls -A "$B")"
for f in "$A"/*; do
	n=${f##*/}
	if cmp -s "$f" "$B/$n"; then ok "reproducible: $n byte-identical"; else bad "reproducible: $n differs between the two builds"; fi
done

# --- artifacts per architecture
declare -A DEBARCH=([386]=i386 [amd64]=amd64 [arm]=armhf [arm64]=arm64 [s390x]=s390x)
declare -A RPMARCH=([386]=i386 [amd64]=x86_64 [arm]=armv6hl [arm64]=aarch64 [s390x]=s390x)
declare -A MACHINE=([386]="Intel 80386" [amd64]="Advanced Micro Devices X86-64" [arm]="ARM" [arm64]="AArch64" [s390x]="IBM S/390")
declare -A CLASS=([386]=ELF32 [amd64]=ELF64 [arm]=ELF32 [arm64]=ELF64 [s390x]=ELF64)

when=$(date -u -d "@$SDE" '+%Y-%m-%d %H:%M:%S')
want_deb_files="drwxr-xr-x root/root ./etc/
drwxr-xr-x root/root ./etc/vault-ssh-helper.d/
-rw-r----- root/root ./etc/vault-ssh-helper.d/config.hcl
drwxr-xr-x root/root ./usr/
drwxr-xr-x root/root ./usr/bin/
-rwxr-xr-x root/root ./usr/bin/vault-ssh-helper
drwxr-xr-x root/root ./usr/share/
drwxr-xr-x root/root ./usr/share/doc/
drwxr-xr-x root/root ./usr/share/doc/vault-ssh-helper/
-rw-r--r-- root/root ./usr/share/doc/vault-ssh-helper/LICENSE
-rw-r--r-- root/root ./usr/share/doc/vault-ssh-helper/README.md"
want_rpm_list="/etc/vault-ssh-helper.d
/etc/vault-ssh-helper.d/config.hcl
/usr/bin/vault-ssh-helper
/usr/share/doc/vault-ssh-helper
/usr/share/doc/vault-ssh-helper/LICENSE
/usr/share/doc/vault-ssh-helper/README.md"
# perms owner:group flags (c config, n noreplace, d doc, l license) path
want_rpm_files="drwxr-xr-x root:root  /etc/vault-ssh-helper.d
-rw-r----- root:root cn /etc/vault-ssh-helper.d/config.hcl
-rwxr-xr-x root:root  /usr/bin/vault-ssh-helper
drwxr-xr-x root:root  /usr/share/doc/vault-ssh-helper
-rw-r--r-- root:root l /usr/share/doc/vault-ssh-helper/LICENSE
-rw-r--r-- root:root d /usr/share/doc/vault-ssh-helper/README.md"

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
	if [[ $arch == amd64 || $arch == 386 ]] && [[ $(uname -m) == x86_64 ]] && vout=$("$bin" -version 2>&1); then
		expect "$arch: -version prints the stamped version" "vault-ssh-helper v$V ($C)" "$vout"
	elif [[ $arch == amd64 ]]; then
		bad "amd64: the binary does not run here: ${vout:-?}"
	else
		skip "$arch: -version not run (no emulation on this machine; stamp checked as strings)"
	fi

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

	# .rpm
	expect "$arch: rpm -qlp lists the expected files" "$want_rpm_list" "$(rpm -qlp "$A/$rpmf" 2>&1)"
	expect "$arch: rpm modes, owners, %config(noreplace), %doc, %license" "$want_rpm_files" \
		"$(rpm -qp --qf '[%{FILEMODES:perms} %{FILEUSERNAME}:%{FILEGROUPNAME} %{FILEFLAGS:fflags} %{FILENAMES}\n]' "$A/$rpmf" 2>&1)"
	expect "$arch: rpm name, version, arch, build time" \
		"vault-ssh-helper ${RPMV} ${RPMARCH[$arch]} $SDE" \
		"$(rpm -qp --qf '%{NAME} %{VERSION}-%{RELEASE} %{ARCH} %{BUILDTIME}' "$A/$rpmf" 2>&1)"
	expect "$arch: rpm has no scriptlets" "" "$(rpm -qp --scripts "$A/$rpmf" 2>&1)"
	expect "$arch: rpm's /usr/bin/vault-ssh-helper digest is the zip binary's sha256" \
		"$(sha256sum "$bin" | cut -c1-64)" \
		"$(rpm -qp --qf '[%{FILEDIGESTS} %{FILENAMES}\n]' "$A/$rpmf" | awk '$2 == "/usr/bin/vault-ssh-helper" {print $1}')"
	check "$arch: rpm digests verify (rpm -K)" bash -c 'rpm -K --nosignature "$1" 2>&1 | grep -q "digests OK"' _ "$A/$rpmf"
done

# --- checksums
SUMS=vault-ssh-helper_${V}_SHA256SUMS
expected+=("$SUMS")
expect "dist holds exactly the zips, packages and $SUMS" \
	"$(printf '%s\n' "${expected[@]}" | LC_ALL=C sort)" "$(ls -A "$A" | LC_ALL=C sort)"
expect "$SUMS lists every artifact but itself" \
	"$(printf '%s\n' "${expected[@]}" | grep -vxF "$SUMS" | LC_ALL=C sort)" "$(awk '{print $2}' "$A/$SUMS")"
check "sha256sum -c --strict $SUMS verifies" bash -c 'cd "$1" && sha256sum -c --strict --quiet "$2"' _ "$A" "$SUMS"

# --- what `make` builds for a user: the same build settings as a release
make --no-print-directory -s build >"$T/make.log" 2>&1 || { cat "$T/make.log"; die "make failed"; }
mk=$ROOT/bin/vault-ssh-helper
if readelf -lW "$mk" | grep -q INTERP; then bad "make: bin/vault-ssh-helper has a program interpreter (dynamically linked)"; else ok "make: bin/vault-ssh-helper has no program interpreter"; fi
check "make: bin/vault-ssh-helper has no dynamic section" grep -q "There is no dynamic section" <(readelf -dW "$mk")
check "make: bin/vault-ssh-helper is stripped (-s -w)" bash -c '! readelf -SW "$1" | grep -q "\.symtab"' _ "$mk"
bi=$(go version -m "$mk" | tr '\t' ' ')
check "make: go version -m: CGO_ENABLED=0, -trimpath" \
	bash -c 'for w in "${@:2}"; do grep -qxF " build $w" <<<"$1" || exit 1; done' _ "$bi" CGO_ENABLED=0 -trimpath=true
[[ $("$mk" -version 2>&1) =~ ^vault-ssh-helper\ v[0-9][^\ ]*\ \($C\)$ ]] &&
	ok "make: -version names a version and HEAD's commit ($C)" || bad "make: -version says '$("$mk" -version 2>&1)', want 'vault-ssh-helper v<version> ($C)'"

# --- the shipped example config is valid for the product: with it the binary
# gets past loading the file (logs the mount point) and then refuses a
# password that is not an OTP, before contacting anything.
config_loads() { # BINARY CONFIG
	local err
	err=$(printf 'not-an-otp' | env -i PAM_USER=nobody "$1" -config="$2" 2>&1 >/dev/null) && return 1
	grep -q "using SSH mount point: ssh" <<<"$err" || { echo "$err" | sed 's/^/       /'; return 1; }
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
elif [[ -e /usr/bin/vault-ssh-helper || -e /etc/vault-ssh-helper.d || -e /usr/share/doc/vault-ssh-helper ]]; then
	skip "deb install: /usr/bin/vault-ssh-helper, /etc/vault-ssh-helper.d or its doc dir already exists; not overwriting it"
else
	before=$(state_of_operator_files)
	INSTALLED_BY_US=1
	if dpkg -i "$deb" </dev/null >"$T/dpkg.log" 2>&1; then ok "dpkg -i installs the amd64 .deb"; else bad "dpkg -i failed"; cat "$T/dpkg.log"; fi
	expect "dpkg reports it installed" "install ok installed $DEBV" "$(dpkg-query -W -f='${Status} ${Version}' vault-ssh-helper 2>&1)"
	expect "vault-ssh-helper -version (from PATH)" "vault-ssh-helper v$V ($C)" "$(PATH=/usr/sbin:/usr/bin:/sbin:/bin vault-ssh-helper -version 2>&1)"
	expect "/usr/bin/vault-ssh-helper is 755 root:root" "755 root:root" "$(stat -c '%a %U:%G' /usr/bin/vault-ssh-helper)"
	expect "/etc/vault-ssh-helper.d/config.hcl is 640 root:root" "640 root:root" "$(stat -c '%a %U:%G' /etc/vault-ssh-helper.d/config.hcl)"
	expect "README.md and LICENSE in /usr/share/doc/vault-ssh-helper" "LICENSE README.md" "$(ls /usr/share/doc/vault-ssh-helper | paste -sd' ')"
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
	check "after purge: no /usr/bin/vault-ssh-helper, /etc/vault-ssh-helper.d or doc dir" \
		bash -c '[[ ! -e /usr/bin/vault-ssh-helper && ! -e /etc/vault-ssh-helper.d && ! -e /usr/share/doc/vault-ssh-helper ]]'
	expect "after purge: dpkg no longer knows the package" "" "$(pkg_status)"
	expect "/etc/pam.d and sshd_config untouched throughout" "$before" "$(state_of_operator_files)"
fi

echo "test-dist: $((SECONDS - START))s"
echo "test-dist: $PASS passed, $FAIL failed, $SKIP skipped"
((FAIL == 0))
