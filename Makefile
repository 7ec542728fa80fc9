# Gatehouse. `make run` starts a server with an embedded default; `make test` runs every test.
GO      ?= go
BIN     := bin/gatehouse
export GOFLAGS ?= -mod=readonly

.PHONY: all build run test test-go test-blackbox test-web bench fuzz vet fmt clean docs postgres-deps

all: build

# First-party plugins, examples and test fixtures (mk/plugins.mk defines `plugins`).
-include mk/plugins.mk
ifeq ($(wildcard mk/plugins.mk),)
plugins: ; @true
endif

# `gatehouse version` and the gatehouse_build_info metric say which build runs (core/buildinfo).
VERSION  ?= $(shell sed -n 's/^const Base = "\(.*\)"/\1/p' core/buildinfo/buildinfo.go)
REVISION ?= $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS  := -X github.com/gatehouse/gatehouse/core/buildinfo.version=$(VERSION) -X github.com/gatehouse/gatehouse/core/buildinfo.revision=$(REVISION)

# -trimpath -s -w: no DWARF and no symbol table (stack traces keep their function names and
# module-relative file:line from the runtime's own tables): 39.5 -> 28.0 MB (BENCHMARKS.md).
build: plugins
	$(GO) build -trimpath -ldflags '-s -w $(LDFLAGS)' -o $(BIN) ./cmd/gatehouse

# Development server: data in ./data, 127.0.0.1:8080, registration open.
run: build
	GATEHOUSE_REGISTRATION=$${GATEHOUSE_REGISTRATION:-open} ./$(BIN) serve

# The SDK and its test kit are modules of their own (sdk/go.mod, sdk/sdktest/go.mod), named by
# import path so the root module's commands reach them.
SDK_PKGS := github.com/gatehouse/gatehouse/sdk/... github.com/gatehouse/gatehouse/sdk/sdktest/...

vet:
	$(GO) vet ./... $(SDK_PKGS)
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }

# The suites of `make test`. mk/test-all.sh runs every one even when an earlier one fails,
# prints which failed and exits non-zero if any did. Add a new suite here.
TEST_SUITES := vet test-go test-blackbox test-blackbox-pg test-web

test: build
	@MAKE="$(MAKE)" mk/test-all.sh $(TEST_SUITES)

# PostgreSQL from Debian for the tests of the PostgreSQL store (internal/pgtest starts private
# clusters of it; nothing is left running).
postgres-deps:
	@ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || { echo "installing postgresql from Debian"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }

test-go: postgres-deps
	@command -v systemd-analyze >/dev/null || { echo "installing systemd from Debian (tests/docs verifies the README's unit)"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq systemd >/dev/null; }
	@command -v protoc >/dev/null || { echo "installing protobuf-compiler from Debian (sdk/abi checks abi.proto with protoc)"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq protobuf-compiler >/dev/null; }
	GATEHOUSE_BIN=$(CURDIR)/$(BIN) $(GO) test -race -count=1 -timeout 30m ./... $(SDK_PKGS)

# Generated documentation: docs/API.md from the route table, the README's settings table from
# core/config. tests/docs fails when either is out of date.
docs: build
	./$(BIN) docs api > docs/API.md
	./$(BIN) docs settings > .cache/settings.md
	awk 'FNR==NR { t = t $$0 "\n"; next } /<!-- settings:end/ { printf "%s", t; skip = 0 } !skip { print } /<!-- settings:begin/ { skip = 1 }' .cache/settings.md README.md > .cache/README.md
	mv .cache/README.md README.md

# The black-box suite in a language other than Go (Node.js, standard library only).
test-blackbox: build
	@command -v node >/dev/null || { echo "installing nodejs from Debian"; apt-get install -y nodejs >/dev/null; }
	GATEHOUSE_BIN=$(CURDIR)/$(BIN) node --test tests/blackbox/

# The black-box suite again on two Gatehouse nodes on one PostgreSQL, requests alternating
# between them (tests/blackbox/lib.mjs under GATEHOUSE_BB_STORE=postgres; a private cluster per
# test file from internal/pgtest/cmd/pgcluster, removed when the file's process ends).
.PHONY: test-blackbox-pg
test-blackbox-pg: build postgres-deps
	@command -v node >/dev/null || { echo "installing nodejs from Debian"; apt-get install -y nodejs >/dev/null; }
	@mkdir -p .cache
	$(GO) build -o .cache/pgcluster ./internal/pgtest/cmd/pgcluster
	GATEHOUSE_BIN=$(CURDIR)/$(BIN) GATEHOUSE_BB_PGCLUSTER=$(CURDIR)/.cache/pgcluster GATEHOUSE_BB_STORE=postgres node --test tests/blackbox/

# Browser tests of /docs and of the account page /account/ (Debian's Chromium driven by
# playwright-core, no browser download) and /openapi.json validated against the OpenAPI 3.1
# schema. Screenshots: .cache/web/docs.png, tests/web/artifacts/ (every step of the account page).
test-web: build
	@command -v node >/dev/null && command -v npm >/dev/null || { echo "installing nodejs and npm from Debian"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; }
	@test -x /usr/bin/chromium || { echo "installing chromium from Debian"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	cd tests/web && npm ci --no-audit --no-fund --loglevel=error
	GATEHOUSE_BIN=$(CURDIR)/$(BIN) node --test tests/web/docs.test.mjs tests/web/passkey.test.mjs tests/web/account.test.mjs

# The long crash test (tests/crash): kill -9 at random moments under a mixed load for
# CRASH_DURATION; `make test` runs a short version of it. Then the throughput ratios of the
# plugin-fault test, which `make test` only logs (no rate is asserted on a shared machine).
CRASH_DURATION ?= 5m
.PHONY: soak
soak: build
	GATEHOUSE_BIN=$(CURDIR)/$(BIN) CRASH_DURATION=$(CRASH_DURATION) $(GO) test -count=1 -v -run TestKillNine -timeout 20m ./tests/crash/
	GATEHOUSE_BIN=$(CURDIR)/$(BIN) GATEHOUSE_THROUGHPUT_CHECK=1 $(GO) test -count=1 -v -run TestPluginFaultsContained -timeout 10m ./tests/crash/

# Every fuzz target, each for FUZZTIME (the corpus is committed under testdata/fuzz).
FUZZTIME ?= 30s
FUZZ_TARGETS := \
	./core/api:FuzzDecodeBody \
	./core/api:FuzzDecodeQuery \
	./core/token:FuzzVerify \
	./core/password:FuzzParseStored \
	./core/server:FuzzRequests \
	./sdk/abi:FuzzDecode

fuzz: plugins
	@for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "fuzz $$pkg $$name ($(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$$name$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	done

# Every benchmark; each figure is a ratio to a baseline measured in the same run (BENCHMARKS.md).
bench: build postgres-deps
	$(GO) test -run '^$$' -bench 'LoginVsArgon2' -benchtime 400x -count 3 ./core/server/
	GATEHOUSE_BIN=$(CURDIR)/$(BIN) $(GO) test -run '^$$' -bench 'TokenEndpointPostgresVsBadger|LoginVsArgon2Postgres|TwoNodesVsOne|TOTPPostgresVsBadger|PasswordChangePostgresVsBadger|TOTPTwoNodes' -benchtime 1x -count 3 -timeout 45m ./tests/multinode/
	$(GO) test -run '^$$' -bench 'TOTPAuthenticatePluginVsNative' -benchtime 2000x -count 3 ./core/server/
	$(GO) test -run '^$$' -bench 'HandlerUserTwoFA' -benchtime 3s -count 3 ./core/server/
	$(GO) test -run '^$$' -bench . -benchtime 2s -count 3 ./host/
	bench/http.sh 1 10
	bench/http.sh 8 10
	bench/http.sh 64 10
	bench/budgets.sh
	GATEHOUSE_SCALE_USERS=$${GATEHOUSE_SCALE_USERS:-1000000} $(GO) test -run '^$$' -bench 'StoreScale' -benchtime 400x -timeout 60m ./core/server/

clean:
	rm -rf bin .cache
