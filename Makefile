# bastion: `make demo` runs the product on embedded defaults, `make test`
# runs the whole suite. Both install what they need on a fresh Debian machine.

GO        ?= go
BIN       := bin/bastion
APT_PKGS  := openssh-server openssh-client asciinema
VERSITYGW_VERSION := v1.8.0
export CGO_ENABLED := 1

.PHONY: all build demo test test-unit test-e2e deps vet fmt bench bench-smoke bench-go measure clean package

all: build

build:
	$(GO) build -o $(BIN) ./cmd/bastion

# deps installs the system tools the tests drive (real sshd, ssh, scp,
# sftp, asciinema, PostgreSQL for the store's second backend, the
# versitygw S3 server) when they are missing. apt-get update runs once.
deps:
	@missing=""; \
	command -v sshd >/dev/null 2>&1 || [ -x /usr/sbin/sshd ] || missing="$$missing openssh-server"; \
	command -v ssh >/dev/null 2>&1 || missing="$$missing openssh-client"; \
	command -v asciinema >/dev/null 2>&1 || missing="$$missing asciinema"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v vim >/dev/null 2>&1 || missing="$$missing vim"; \
	command -v top >/dev/null 2>&1 || missing="$$missing procps"; \
	command -v python3 >/dev/null 2>&1 || missing="$$missing python3"; \
	[ -x /usr/local/bin/initdb ] || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi
	@# The recording-shipping tests run a real S3-compatible server.
	@[ -x "$$($(GO) env GOPATH)/bin/versitygw" ] || command -v versitygw >/dev/null 2>&1 || \
		{ echo "installing: versitygw"; $(GO) install github.com/versity/versitygw/cmd/versitygw@$(VERSITYGW_VERSION); }

# demo says what it does: the first build compiles SQLite through cgo and
# takes a few minutes on a small machine; later builds take seconds.
demo: deps
	@echo "make demo: building $(BIN) (the first build compiles SQLite with cgo: a few minutes; then seconds)"
	@start=$$(date +%s); $(MAKE) --no-print-directory build && echo "make demo: built in $$(( $$(date +%s) - start ))s; starting bastion dev"
	./$(BIN) dev

# test runs every package under the race detector, except the end-to-end
# tests, which drive real ssh/sshd processes and run without it. The store
# tests also run on a PostgreSQL they start; here a missing PostgreSQL is a
# failure, not a skip.
test: export BASTION_REQUIRE_POSTGRES := 1
test: deps vet
	$(GO) test -race -count=1 -timeout 20m $$($(GO) list ./... | grep -v '/e2e$$')
	cd $(XCRYPTO) && $(GO) test -race -count=1 -timeout 10m ./ssh/
	$(GO) test -count=1 -timeout 20m ./e2e

# XCRYPTO is golang.org/x/crypto as published, with one patch (see its
# PATCHES.md); go.mod builds with it.
XCRYPTO := third_party/golang.org/x/crypto

vet:
	$(GO) vet ./...
	cd $(XCRYPTO) && $(GO) vet ./ssh/
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi

# bench measures bastion against direct OpenSSH on this machine (needs root),
# then loads a two-node cluster (PostgreSQL and versitygw from deps);
# bench-smoke is its quick mode, without the cluster. Results:
# bench-results/latest.json.
bench: deps
	$(GO) run ./scripts/bench

bench-smoke: deps
	BENCH_QUICK=1 $(GO) run ./scripts/bench

# measure prints the masker's recall per value type and layout and its wrongly
# altered lines per 10,000 ordinary lines (see README, PHI masking).
measure:
	$(GO) test -count=1 -run TestRecallAndFalsePositives -v ./masking

# bench-go runs the Go benchmarks of each stage of the output path, with
# allocation counts: the vector byte scans, the masker alone (a fresh stream
# per MiB, one long stream, base64), the screen model's bulk lines, the
# recorder alone (escape, hash, write) and its floor (hash and write only),
# the masker's pacing with the screen model, the whole output pipe, and the
# proxy over SSH. BENCH_GO_COUNT=5 repeats them (for medians).
BENCH_GO_COUNT ?= 1
bench-go:
	$(GO) test -run='^$$' -bench='^(BenchmarkCursor|BenchmarkIndexTrigger|BenchmarkIndexUnplainJSON|BenchmarkMasker|BenchmarkMaskerLongStream|BenchmarkMaskerBase64|BenchmarkScreenLines|BenchmarkWriterOutput|BenchmarkRecordingFloor|BenchmarkAppendJSONString|BenchmarkPipeline|BenchmarkOutputPipe|BenchmarkOutputPipeMasked|BenchmarkProxyDownload)$$' \
		-benchmem -count=$(BENCH_GO_COUNT) ./internal/bytescan ./masking ./recorder ./server

# package builds dist/bastion_VERSION_amd64.deb with nfpm: the binary,
# the hardened systemd unit, man pages and bash/zsh completions generated
# from the binary's own command definitions, and the license.
NFPM_VERSION := v2.45.2
NFPM        ?= $(shell command -v nfpm 2>/dev/null || echo $$($(GO) env GOPATH)/bin/nfpm)
VERSION     ?= $(shell git describe --tags --match 'v[0-9]*' 2>/dev/null | sed 's/^v//' || true)
DEB_VERSION := $(or $(VERSION),0.1.0+git$(shell git rev-parse --short HEAD 2>/dev/null || echo unknown))
package:
	@test -x "$(NFPM)" || { echo "installing nfpm $(NFPM_VERSION) (first time only; a few minutes)"; $(GO) install github.com/goreleaser/nfpm/v2/cmd/nfpm@$(NFPM_VERSION); }
	rm -rf dist && mkdir -p dist/root/usr/bin dist/root/usr/share/man/man1 dist/root/usr/share/bash-completion/completions dist/root/usr/share/zsh/vendor-completions
	$(GO) build -buildvcs=auto -ldflags "-X main.version=$(DEB_VERSION)" -o dist/root/usr/bin/bastion ./cmd/bastion
	dist/root/usr/bin/bastion man --dir dist/root/usr/share/man/man1 >/dev/null
	gzip -n -9 dist/root/usr/share/man/man1/*.1
	dist/root/usr/bin/bastion completion bash > dist/root/usr/share/bash-completion/completions/bastion
	dist/root/usr/bin/bastion completion zsh > dist/root/usr/share/zsh/vendor-completions/_bastion
	VERSION=$(DEB_VERSION) $(NFPM) package --config packaging/nfpm.yaml --packager deb --target dist/
	@ls dist/*.deb

clean:
	rm -rf bin .bastion-dev dist
