# The two commands a new user needs are `make` and `make test`; everything else is a helper.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

BIN      := bin/vault-ssh-helper
VERSION  ?= $(shell git describe --tags --match 'v*' 2>/dev/null | sed 's/^v//' || true)
VERSION  := $(if $(VERSION),$(VERSION),0.1.0-dev)
COMMIT   ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
LDFLAGS  := -s -w -buildid= -X main.version=$(VERSION) -X main.commit=$(COMMIT)
GOFLAGS_BUILD := -trimpath -buildvcs=false
FUZZTIME ?= 30s

export CGO_ENABLED := 0

.PHONY: all build test test-unit test-vault test-sshd test-dist dist fmt vet fuzz bench bench-startup bench-fleet clean

all: build

build:
	go build $(GOFLAGS_BUILD) -ldflags '$(LDFLAGS)' -o $(BIN) .

# Every test, real components included. Scripts install what they need.
test: test-unit test-vault test-sshd test-dist

test-unit: build vet
	@unformatted=$$(git ls-files -co --exclude-standard '*.go' | xargs -r gofmt -l); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	@# The helper refuses files under /tmp (see README, Configuration): the tests keep theirs
	@# under a TMPDIR whose whole path it trusts (scripts/test-tmpdir.sh).
	@# The syslog tests start a real rsyslogd on a private socket: as root it is installed
	@# first; otherwise they skip when it is missing (under CI=true they fail).
	@if [ "$$(id -u)" -eq 0 ]; then bash scripts/syslog-deps.sh </dev/null; fi
	tmp=$$(bash scripts/test-tmpdir.sh); TMPDIR=$$tmp CGO_ENABLED=1 go test -race -count=1 ./...

test-vault: build
	bash scripts/test-vault.sh

test-sshd: build
	bash scripts/test-sshd.sh

test-dist:
	bash scripts/test-dist.sh

dist:
	VERSION=$(VERSION) COMMIT=$(COMMIT) GPG_KEY=$(GPG_KEY) bash scripts/dist.sh

fmt:
	gofmt -w $$(git ls-files '*.go')

vet:
	go vet ./...

# Short coverage-guided runs of every fuzz target; the seed corpus runs in `make test`.
FUZZ_TARGETS := \
	config:FuzzParse \
	config:FuzzVaultAddrNeverQuotesItsPassword \
	helper/sshotp:FuzzReadOTP \
	helper/sshotp:FuzzDecodeVerify \
	agent:FuzzDecodeError \
	agent:FuzzDecodeAuth \
	agent:FuzzDecodeObject \
	helper/totp:FuzzReadCode \
	helper/totp:FuzzKeyName \
	helper/totp:FuzzParseSettings \
	helper/totp:FuzzDecodeAnswers \
	helper/totp/ratelimit:FuzzParseStamps \
	helper/totp/ratelimit:FuzzParseState \
	helper/totp:FuzzDecodeRecord

fuzz:
	@# The config and main test binaries refuse an unsafe TMPDIR (scripts/test-tmpdir.sh).
	tmp=$$(bash scripts/test-tmpdir.sh); for t in $(FUZZ_TARGETS); do \
	  echo "fuzz: $${t#*:} in ./$${t%%:*}"; \
	  TMPDIR=$$tmp go test ./$${t%%:*} -run '^$$' -fuzz "^$${t#*:}\$$" -fuzztime $(FUZZTIME); \
	done

# Both benchmarks; each prints a table. `make bench-startup` or `make bench-fleet` runs one.
bench: bench-startup bench-fleet

# Start-up cost against a bare Go binary doing one TLS request.
bench-startup:
	bash scripts/bench-startup.sh

# A fleet against the real 3-node Vault cluster: login times, Vault requests per login,
# tokens left (long: minutes; VSH_FLEET_LOGINS=100 for a quick run). Not part of `make test`.
bench-fleet: build
	BENCH_SKIP_BUILD=1 bash scripts/bench-fleet.sh

clean:
	rm -rf bin dist
