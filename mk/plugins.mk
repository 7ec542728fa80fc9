# mk/plugins.mk: building the plugins. Included by the Makefile.
#
#   make plugins            first-party Go plugins -> plugins/wasm/*.wasm.zst (embedded by
#                           `go build`; those in PLUGINS_FIRST_PARTY_AS are embedded from
#                           their committed AssemblyScript build instead), Go examples
#                           -> .cache/wasm/ (where the tests' sdktest.Build puts them
#                           too), and a check that the committed non-Go .wasm are present
#   make plugins-fixtures   regenerate host/testdata/*.wat and *.wasm (installs wabt)
#   make plugins-c          rebuild examples/c-policy/plugin/policy.wasm (installs clang, lld)
#   make plugins-as         rebuild the committed AssemblyScript .wasm (npm ci from the lockfiles)
#   make plugins-clean      remove built plugins (not the committed .wasm)
#
# Go plugins build with the standard toolchain: GOOS=wasip1 GOARCH=wasm
# -buildmode=c-shared. The go tool's build cache makes a rebuild of unchanged
# code a no-op, so `plugins` is phony and always asks it.

GO ?= go
PLUGINS_GOENV := GOOS=wasip1 GOARCH=wasm CGO_ENABLED=0 GOFLAGS=
PLUGINS_GOBUILD := $(PLUGINS_GOENV) $(GO) build -buildmode=c-shared -trimpath

# First-party plugins: folders under plugins/ (package plugins lists them in FirstParty).
PLUGINS_FIRST_PARTY := password-default totp email-otp mailer-smtp mailer-outbox passkey
# Those embedded as their committed AssemblyScript build, plugins/<name>/as/<name>.wasm (package
# plugins lists them in AssemblyScript; build.sh --check reproduces them byte for byte). Their Go
# source stays the reference implementation: built to .cache/wasm/plugins_<name>.wasm, where
# sdktest.Build puts it, for tests/assemblyscript/identity_test.go. The rest are embedded from Go.
PLUGINS_FIRST_PARTY_AS := password-default totp email-otp mailer-smtp mailer-outbox passkey
PLUGINS_FIRST_PARTY_GO := $(filter-out $(PLUGINS_FIRST_PARTY_AS),$(PLUGINS_FIRST_PARTY))
# Go examples, built as a third party would.
PLUGINS_GO_EXAMPLES := examples/nist-policy examples/http-mailer examples/hotp
# Non-Go plugins and fixtures whose .wasm is committed with its source.
PLUGINS_COMMITTED_WASM := examples/c-policy/plugin/policy.wasm $(wildcard host/testdata/*.wasm) \
	examples/as-totp/as-totp.wasm sdk/assemblyscript/test/codec.wasm \
	$(foreach p,$(PLUGINS_FIRST_PARTY_AS),plugins/$(p)/as/$(p).wasm)

.PHONY: plugins-as plugins-as-check
# The AssemblyScript modules (sdk/assemblyscript, examples/as-*): rebuilt from source with the
# npm lockfiles; tests/assemblyscript runs the --check form in `make test` (byte for byte).
plugins-as:
	@command -v npm >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; }
	sh sdk/assemblyscript/build.sh
plugins-as-check:
	sh sdk/assemblyscript/build.sh --check

.PHONY: plugins plugins-first-party plugins-examples plugins-committed plugins-fixtures plugins-c plugins-clean

plugins: plugins-first-party plugins-examples plugins-committed

plugins-first-party:
	@mkdir -p plugins/wasm .cache/wasm
	@for p in $(PLUGINS_FIRST_PARTY_GO); do \
		echo "plugin  plugins/wasm/$$p.wasm.zst (from .cache/wasm/plugins_$$p.wasm)"; \
		rm -f plugins/wasm/$$p.wasm; \
		$(PLUGINS_GOBUILD) -o .cache/wasm/plugins_$$p.wasm ./plugins/$$p || exit 1; \
		[ plugins/wasm/$$p.wasm.zst -nt .cache/wasm/plugins_$$p.wasm ] || \
			$(GO) run ./internal/wasmpack .cache/wasm/plugins_$$p.wasm plugins/wasm/$$p.wasm.zst || exit 1; \
	done
	@for p in $(PLUGINS_FIRST_PARTY_AS); do \
		rm -f plugins/wasm/$$p.wasm plugins/wasm/$$p.wasm.zst; \
		echo "plugin  plugins/$$p/as/$$p.wasm (committed, AssemblyScript; Go reference .cache/wasm/plugins_$$p.wasm)"; \
		$(PLUGINS_GOBUILD) -o .cache/wasm/plugins_$$p.wasm ./plugins/$$p || exit 1; \
	done

plugins-examples:
	@mkdir -p .cache/wasm
	@for p in $(PLUGINS_GO_EXAMPLES); do \
		out=.cache/wasm/$$(echo $$p | tr / _).wasm; \
		echo "example $$out"; \
		$(PLUGINS_GOBUILD) -o $$out ./$$p || exit 1; \
	done

plugins-committed:
	@for f in $(PLUGINS_COMMITTED_WASM); do \
		test -s $$f || { echo "missing $$f: rebuild it (make plugins-fixtures / make plugins-c)"; exit 1; }; \
	done

# Fault fixtures: WAT generated from host/testdata/gen, assembled by wabt.
plugins-fixtures:
	@command -v wat2wasm >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wabt >/dev/null; }
	$(GO) run ./host/testdata/gen host/testdata
	@for f in host/testdata/*.wat; do wat2wasm -o $${f%.wat}.wasm $$f || exit 1; done

# The C example: clang's wasm32 target, no libc (Debian's clang and lld).
plugins-c:
	@command -v clang >/dev/null 2>&1 && command -v wasm-ld >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang lld >/dev/null; }
	clang --target=wasm32 -O2 -nostdlib -fno-builtin -Wall -Werror \
		-Wl,--no-entry -Wl,--export-dynamic -Wl,--strip-all \
		-o examples/c-policy/plugin/policy.wasm examples/c-policy/plugin/policy.c

plugins-clean:
	rm -f plugins/wasm/*.wasm plugins/wasm/*.wasm.zst
	rm -rf .cache/wasm
