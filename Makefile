# bastion: `make demo` runs the product on embedded defaults, `make test`
# runs the whole suite. Both install what they need on a fresh Debian machine.

GO        ?= go
BIN       := bin/bastion
APT_PKGS  := openssh-server openssh-client asciinema
export CGO_ENABLED := 1

.PHONY: all build demo test test-unit test-e2e deps vet fmt bench bench-smoke bench-go clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/bastion

# deps installs the system tools the tests drive (real sshd, ssh, scp,
# sftp, asciinema) when they are missing. apt-get update runs once.
deps:
	@missing=""; \
	command -v sshd >/dev/null 2>&1 || [ -x /usr/sbin/sshd ] || missing="$$missing openssh-server"; \
	command -v ssh >/dev/null 2>&1 || missing="$$missing openssh-client"; \
	command -v asciinema >/dev/null 2>&1 || missing="$$missing asciinema"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

demo: deps build
	./$(BIN) dev

# test runs every package under the race detector, except the end-to-end
# tests, which drive real ssh/sshd processes and run without it.
test: deps vet
	$(GO) test -race -count=1 -timeout 20m $$($(GO) list ./... | grep -v '/e2e$$')
	$(GO) test -count=1 -timeout 20m ./e2e

vet:
	$(GO) vet ./...
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi

# bench measures bastion against direct OpenSSH on this machine (needs root);
# bench-smoke is its quick mode. Results: bench-results/latest.json.
bench: deps
	$(GO) run ./scripts/bench

bench-smoke: deps
	BENCH_QUICK=1 $(GO) run ./scripts/bench

bench-go:
	$(GO) test -run='^$$' -bench=. -benchmem ./...

clean:
	rm -rf bin .bastion-dev
