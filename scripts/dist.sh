#!/usr/bin/env bash
# Release artifacts: `make dist VERSION=x.y.z` (or `VERSION=x.y.z bash scripts/dist.sh`).
#
# For linux/386, amd64, arm, arm64 and s390x it builds a static binary
# (CGO_ENABLED=0, -trimpath, version and commit stamped) and writes into
# $DIST_DIR (default dist/):
#   vault-ssh-helper_<version>_linux_<goarch>.zip  the binary alone at the zip's root
#   vault-ssh-helper_<debversion>_<debarch>.deb    \ built with nfpm from
#   vault-ssh-helper-<rpmversion>.<rpmarch>.rpm    / packaging/nfpm.yaml
#   vault-ssh-helper-selinux-<rpmversion>.noarch.rpm  the SELinux policy module
#                                                  (packaging/selinux, nfpm-selinux.yaml)
#   vault-ssh-helper_<version>_SHA256SUMS          sha256sum lines for all of the above
#   vault-ssh-helper_<version>_SHA256SUMS.sig      its detached GPG signature, when
#                                                  GPG_KEY names a secret key
#
# Reproducible: every time stored in an archive is SOURCE_DATE_EPOCH (the
# commit time of HEAD unless set), so two runs from the same commit with the
# same Go toolchain give the same bytes. Needs Go and the Go module proxy
# (nfpm is built from tools/go.mod into tools/bin/, and reused), and for the
# SELinux module Debian's selinux-policy-dev, checkpolicy and semodule-utils
# (scripts/selinux-deps.sh installs them when missing; that needs root).
#
# Environment: VERSION (required; a leading "v" is dropped), COMMIT (default:
# short hash of HEAD), SOURCE_DATE_EPOCH, DIST_DIR, GPG_KEY (a key id,
# fingerprint or e-mail of a secret key in gpg's keyring, GNUPGHOME if set:
# signs SHA256SUMS), VSH_MAINTAINER (the packages' Maintainer/Packager and
# changelog signature, "Name <e-mail>").
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

die() { echo "dist: $*" >&2; exit 1; }
START=$SECONDS

VERSION=${VERSION:-}
VERSION=${VERSION#v}
[[ -n $VERSION ]] || die "VERSION is required, e.g. make dist VERSION=1.2.3"
[[ $VERSION =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$ ]] ||
	die "VERSION must look like 1.2.3, 1.2.3-rc.1 or 1.2.3+meta (semver), not '$VERSION'"

COMMIT=${COMMIT:-$(git rev-parse --short=12 HEAD 2>/dev/null || true)}
COMMIT=${COMMIT:-unknown}
[[ $COMMIT =~ ^[0-9A-Za-z._-]+$ ]] || die "COMMIT may hold only letters, digits, '.', '_' and '-': '$COMMIT'"

if [[ -z ${SOURCE_DATE_EPOCH:-} ]]; then
	SOURCE_DATE_EPOCH=$(git log -1 --format=%ct HEAD 2>/dev/null) ||
		die "no commit to take the time from: set SOURCE_DATE_EPOCH (Unix seconds)"
fi
[[ $SOURCE_DATE_EPOCH =~ ^[0-9]+$ ]] && ((SOURCE_DATE_EPOCH >= 315532800)) ||
	die "SOURCE_DATE_EPOCH must be Unix seconds on or after 1980-01-01 (zip's epoch): '$SOURCE_DATE_EPOCH'"
export SOURCE_DATE_EPOCH

if [[ -n $(git status --porcelain --untracked-files=no 2>/dev/null) ]]; then
	echo "dist: warning: the work tree has uncommitted changes; the artifacts are not what commit $COMMIT alone builds" >&2
fi

for f in README.md LICENSE packaging/config.hcl packaging/nfpm.yaml packaging/vault-ssh-helper.8 \
	packaging/copyright packaging/lintian-overrides; do
	[[ -f $f ]] || die "$f is missing: the packages ship it"
done

# The address is a placeholder until the project has a list of its own;
# Debian and rpm both want one in Maintainer/Packager and in the changelog.
MAINTAINER=${VSH_MAINTAINER:-vault-ssh-helper maintainers <vault-ssh-helper@users.noreply.github.com>}
[[ $MAINTAINER =~ ^[^\<\>\"]+\ \<[^@\ \<\>]+@[^@\ \<\>]+\>$ ]] ||
	die "VSH_MAINTAINER must look like 'Name <user@example.org>', not '$MAINTAINER'"
[[ $(grep -c '^license:' packaging/nfpm.yaml) == 1 ]] ||
	die "packaging/nfpm.yaml must have exactly one top-level 'license:' line (dropped for the .deb)"

GPG_KEY=${GPG_KEY:-}
if [[ -n $GPG_KEY ]]; then
	# Checked before the builds, so a wrong key name costs seconds, not minutes.
	gpg --batch --list-secret-keys -- "$GPG_KEY" >/dev/null 2>&1 ||
		die "GPG_KEY='$GPG_KEY' names no secret key in gpg's keyring (GNUPGHOME=${GNUPGHOME:-~/.gnupg})"
fi

DIST_DIR=${DIST_DIR:-dist}
mkdir -p "$DIST_DIR"
DIST_DIR=$(cd "$DIST_DIR" && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/vsh-dist.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# --- tools: nfpm (pinned in tools/go.mod, kept out of the product's module) and distzip
TOOLS_BIN=$PWD/tools/bin
stamp=$( { go version; cat tools/go.mod tools/go.sum tools/distzip/*.go; } | sha256sum | cut -c1-64)
if [[ ! -x $TOOLS_BIN/nfpm || ! -x $TOOLS_BIN/distzip || $(cat "$TOOLS_BIN/.stamp" 2>/dev/null) != "$stamp" ]]; then
	echo "dist: building nfpm and distzip into tools/bin"
	t0=$SECONDS
	rm -f "$TOOLS_BIN/.stamp"
	(cd tools && env CGO_ENABLED=0 GOOS= GOARCH= GOFLAGS=-mod=readonly \
		go build -trimpath -o bin/ github.com/goreleaser/nfpm/v2/cmd/nfpm ./distzip)
	echo "$stamp" >"$TOOLS_BIN/.stamp"
	echo "dist: tools built ($((SECONDS - t0))s)"
fi

# --- clear this script's earlier output, whatever its version
rm -f "$DIST_DIR"/vault-ssh-helper_*.zip "$DIST_DIR"/vault-ssh-helper_*.deb \
	"$DIST_DIR"/vault-ssh-helper-*.rpm "$DIST_DIR"/vault-ssh-helper_*_SHA256SUMS \
	"$DIST_DIR"/vault-ssh-helper_*_SHA256SUMS.sig

# --- what every package holds besides the binary
# The man page, gzipped without name or time (-n) so the bytes depend only on it.
MANPAGE=$WORK/vault-ssh-helper.8.gz
gzip -9nc packaging/vault-ssh-helper.8 >"$MANPAGE"

# The packages' version as nfpm writes it (a semver prerelease after "~",
# release 1), the same in both formats.
pkg_version() {
	local v=${VERSION%%+*} meta=
	[[ $VERSION == *+* ]] && meta=+${VERSION#*+}
	[[ $v == *-* ]] && v=${v%%-*}~${v#*-}
	echo "$v$meta-1"
}
PKG_VERSION=$(pkg_version)

# One changelog entry, for this version: nfpm writes it as the .deb's
# changelog.Debian.gz and as the .rpm's %changelog.
cat >"$WORK/changelog.yml" <<EOF
- semver: "$PKG_VERSION"
  date: $(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)
  packager: "$MAINTAINER"
  deb:
    urgency: medium
    distributions: [unstable]
  changes:
    - commit: "$COMMIT"
      note: "Release $VERSION, built from commit $COMMIT."
EOF

# nfpm's configuration for one format: packaging/nfpm.yaml plus the changelog,
# without the License field for the .deb.
nfpm_config() { # PACKAGER
	if [[ $1 == deb ]]; then grep -v '^license:' packaging/nfpm.yaml; else cat packaging/nfpm.yaml; fi
	printf 'changelog: %s\n' "$WORK/changelog.yml"
}
for packager in deb rpm; do nfpm_config "$packager" >"$WORK/nfpm.$packager.yaml"; done

LDFLAGS="-s -w -buildid= -X main.version=$VERSION -X main.commit=$COMMIT"
ARCHES=(386 amd64 arm arm64 s390x)
declare -A NFPM_ARCH=([386]=386 [amd64]=amd64 [arm]=arm6 [arm64]=arm64 [s390x]=s390x)
artifacts=()

for goarch in "${ARCHES[@]}"; do
	t0=$SECONDS
	bin=$WORK/$goarch/vault-ssh-helper
	# Every setting that changes the code generated is pinned here, so a
	# developer's own GOFLAGS/GOAMD64/... cannot leak into a release.
	# GOARM=6 runs on every 32-bit ARM with hard float (ARMv6 and later).
	env CGO_ENABLED=0 GOOS=linux GOARCH="$goarch" GOARM=6 GO386=sse2 GOAMD64=v1 GOARM64=v8.0 \
		GOEXPERIMENT= GOFLAGS=-mod=readonly \
		go build -trimpath -buildvcs=false -ldflags "$LDFLAGS" -o "$bin" .

	zip=vault-ssh-helper_${VERSION}_linux_${goarch}.zip
	"$TOOLS_BIN/distzip" -mtime "$SOURCE_DATE_EPOCH" -o "$DIST_DIR/$zip" "$bin"
	artifacts+=("$zip")

	for packager in deb rpm; do
		out=$WORK/$goarch/$packager
		mkdir -p "$out"
		VSH_ARCH=${NFPM_ARCH[$goarch]} VSH_VERSION=$VERSION VSH_BINARY=$bin VSH_MANPAGE=$MANPAGE \
			VSH_MAINTAINER=$MAINTAINER \
			"$TOOLS_BIN/nfpm" package --config "$WORK/nfpm.$packager.yaml" --packager "$packager" \
			--target "$out/" >"$WORK/nfpm.log" 2>&1 || { cat "$WORK/nfpm.log" >&2; die "nfpm $packager $goarch failed"; }
		pkgs=("$out"/*."$packager")
		((${#pkgs[@]} == 1)) && [[ -f ${pkgs[0]} ]] || die "nfpm wrote no single .$packager for $goarch"
		chmod 0644 "${pkgs[0]}"
		mv "${pkgs[0]}" "$DIST_DIR/"
		artifacts+=("$(basename "${pkgs[0]}")")
	done
	echo "dist: linux/$goarch: binary, zip, deb, rpm ($((SECONDS - t0))s)"
done

# --- the SELinux policy module (packaging/selinux), compiled against Debian's
# refpolicy devel files for Red Hat (DISTRO=redhat) as module version 19, the
# newest that RHEL 8's libsepol reads; and its noarch rpm.
t0=$SECONDS
bash scripts/selinux-deps.sh
SEL=$WORK/selinux
mkdir -p "$SEL"
cp packaging/selinux/vault_ssh_helper.te packaging/selinux/vault_ssh_helper.fc packaging/selinux/vault_ssh_helper.if "$SEL/"
make -s -C "$SEL" -f /usr/share/selinux/devel/Makefile DISTRO=redhat CHECKMODULE="checkmodule -M -c 19" \
	vault_ssh_helper.pp >"$WORK/selinux.log" 2>&1 || { cat "$WORK/selinux.log" >&2; die "the SELinux policy module does not compile"; }
{ cat packaging/nfpm-selinux.yaml; printf 'changelog: %s\n' "$WORK/changelog.yml"; } >"$WORK/nfpm-selinux.yaml"
mkdir -p "$SEL/rpm"
VSH_VERSION=$VERSION VSH_MAINTAINER=$MAINTAINER VSH_SELINUX_PP=$SEL/vault_ssh_helper.pp \
	"$TOOLS_BIN/nfpm" package --config "$WORK/nfpm-selinux.yaml" --packager rpm --target "$SEL/rpm/" \
	>"$WORK/nfpm.log" 2>&1 || { cat "$WORK/nfpm.log" >&2; die "nfpm rpm vault-ssh-helper-selinux failed"; }
pkgs=("$SEL/rpm"/*.rpm)
((${#pkgs[@]} == 1)) && [[ -f ${pkgs[0]} ]] || die "nfpm wrote no single vault-ssh-helper-selinux .rpm"
chmod 0644 "${pkgs[0]}"
mv "${pkgs[0]}" "$DIST_DIR/"
artifacts+=("$(basename "${pkgs[0]}")")
echo "dist: SELinux module, rpm ($((SECONDS - t0))s)"

SUMS=vault-ssh-helper_${VERSION}_SHA256SUMS
mapfile -t sorted < <(printf '%s\n' "${artifacts[@]}" | LC_ALL=C sort)
(cd "$DIST_DIR" && sha256sum -- "${sorted[@]}") >"$WORK/sums"
mv "$WORK/sums" "$DIST_DIR/$SUMS" && chmod 0644 "$DIST_DIR/$SUMS"
written=("${sorted[@]}" "$SUMS")
if [[ -n $GPG_KEY ]]; then
	# A binary detached signature named <SUMS>.sig, as HashiCorp's releases of
	# the original had: gpg --verify <SUMS>.sig <SUMS>.
	gpg --batch --yes --local-user "$GPG_KEY" --detach-sign --output "$WORK/sums.sig" "$DIST_DIR/$SUMS" ||
		die "gpg could not sign $SUMS with GPG_KEY='$GPG_KEY'"
	mv "$WORK/sums.sig" "$DIST_DIR/$SUMS.sig" && chmod 0644 "$DIST_DIR/$SUMS.sig"
	written+=("$SUMS.sig")
fi

echo "dist: vault-ssh-helper $VERSION ($COMMIT), SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH, $(go env GOVERSION), $((SECONDS - START))s"
(cd "$DIST_DIR" && for f in "${written[@]}"; do printf '  %9d  %s\n' "$(stat -c %s "$f")" "$DIST_DIR/$f"; done)
