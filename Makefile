# shapesync — one non-recursive GNU Makefile.
# Targets: all (default), check, check-asan, install, clean, deps, bench,
# bench-electric, fuzz, fuzz-regress, format, format-check
# (tests/fuzz/README.md), deb, example.
# Objects go under $(BUILD) (default build/), programs under $(BUILD)/bin.
# V=1 shows full commands; SANITIZE=1 builds with ASan+UBSan.

VERSION    := 0.1.0
PREFIX     ?= /usr/local
DESTDIR    ?=
BUILD      ?= build
CC         ?= cc
PKG_CONFIG ?= pkg-config
PKGS       := libpq sqlite3 jansson libmicrohttpd

WARN   := -Wall -Wextra -Wstrict-prototypes -Wmissing-prototypes -Wvla \
          -Wformat-security -Wshadow -Wimplicit-fallthrough -Wwrite-strings \
          -fno-common
CFLAGS ?= -O2 -g
ifeq ($(CI),true)
WARN   += -Werror
endif
ifeq ($(SANITIZE),1)
CFLAGS += -O1 -fsanitize=address,undefined -fno-omit-frame-pointer \
          -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE -DSS_VERSION='"$(VERSION)"' $(WARN) \
              -Ilib -Icmd $(PKG_CFLAGS) $(CFLAGS) -MMD -MP
LIBS       := $(PKG_LIBS) -lpthread -lm

ifneq ($(V),1)
Q  = @
QCC = @echo "  CC      $@";
QLD = @echo "  LINK    $@";
QAR = @echo "  AR      $@";
else
Q  =
QCC =
QLD =
QAR =
endif

LIB_SRC   := $(sort $(wildcard lib/*.c))
LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/%.o)
LIB_A     := $(BUILD)/libshapesync.a
CLI_OBJ   := $(BUILD)/cmd/cli.o
PROG_SRC  := $(sort $(wildcard cmd/shapesync*.c))
PROGS     := $(PROG_SRC:cmd/%.c=$(BUILD)/bin/%)
UNIT_SRC  := $(sort $(wildcard tests/unit/test-*.c))
UNITS     := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
BENCH_SRC := $(sort $(wildcard bench/*.c bench/electric/*.c))
BENCHES   := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)
DEPS      := $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(PROG_SRC:%.c=$(BUILD)/%.d) \
             $(UNIT_SRC:%.c=$(BUILD)/%.d) $(BENCH_SRC:%.c=$(BUILD)/%.d)

.PHONY: all check check-asan install clean deps bench bench-electric units run fuzz fuzz-build \
        fuzz-regress format format-check deb example
all: $(PROGS) $(UNITS) $(BENCHES)

$(BUILD)/%.o: %.c | pkgcheck
	@mkdir -p $(dir $@)
	$(QCC)$(CC) $(ALL_CFLAGS) -c -o $@ $<

# Objects reached only through the pattern rules below are "intermediate"
# to make, which would delete them after every build (and print the `rm`
# after the test summary). Keep them.
.SECONDARY:

$(LIB_A): $(LIB_OBJ)
	$(QAR)rm -f $@ && $(AR) rcs $@ $^

# shapesync-db's commands live in more than one file.
DB_EXTRA_OBJ := $(BUILD)/cmd/db-compact.o
DEPS += $(DB_EXTRA_OBJ:.o=.d)
$(BUILD)/bin/shapesync-db: $(DB_EXTRA_OBJ)

$(BUILD)/bin/%: $(BUILD)/cmd/%.o $(CLI_OBJ) $(LIB_A)
	@mkdir -p $(dir $@)
	$(QLD)$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(filter %.a,$^) $(LIBS)

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(LIB_A)
	@mkdir -p $(dir $@)
	$(QLD)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/bench/%: $(BUILD)/bench/%.o $(LIB_A)
	@mkdir -p $(dir $@)
	$(QLD)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

.PHONY: pkgcheck
pkgcheck:
	@$(PKG_CONFIG) --exists $(PKGS) || { \
	  echo "error: missing libraries: $$($(PKG_CONFIG) --print-errors --exists $(PKGS) 2>&1 | head -1)"; \
	  echo "hint: run 'make deps'"; exit 1; }

# The test suite: TAP scripts under tests/, run by prove.
# T selects scripts, e.g. make check T='tests/t5*.sh'.
T ?= tests/t[0-9]*.sh
PROVE ?= prove
JOBS ?= 2
check: all
	$(Q)SS_BUILD=$(abspath $(BUILD)) SS_MAKE_VARS='BUILD=$(BUILD) SANITIZE=$(SANITIZE)' \
	  $(PROVE) -j$(JOBS) --timer $(T)

# The README's first command: install what is missing, build, then run the
# whole pipeline on its defaults (shapesync up: ./var, port 3000, an
# embedded PostgreSQL unless DATABASE_URL is set). UP_ARGS adds options,
# e.g. make run UP_ARGS='--port 3001'.
UP_ARGS ?=
run:
	$(Q)$(MAKE) --no-print-directory deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)exec $(BUILD)/bin/shapesync up $(UP_ARGS)

check-asan:
	$(Q)$(MAKE) --no-print-directory BUILD=build/asan SANITIZE=1 check

bench: all
	$(Q)for b in bench/*.sh; do SS_BUILD=$(abspath $(BUILD)) sh $$b || exit 1; done

# Electric's published workloads (issue 18): bench/electric/run.sh runs
# each script there and writes bench/electric/report.md and its charts.
# QUICK=1: the short sweeps (a few minutes in all).
QUICK ?= 0
bench-electric: all
	$(Q)QUICK=$(QUICK) SS_BUILD=$(abspath $(BUILD)) sh bench/electric/run.sh

# libFuzzer targets (tests/fuzz/fuzz-*.c), built with clang under
# $(FUZZ_BUILD) from their own objects: lib/ instrumented for coverage
# (-fsanitize=fuzzer-no-link) with ASan+UBSan. `make fuzz FUZZ_SECONDS=N`
# runs each target for N seconds, one after the other, on a scratch copy
# of its corpus (new inputs never land in the tree); a crash or a broken
# invariant fails it, leaving the input in $(FUZZ_BUILD)/crash/.
# `make fuzz-regress` runs each target once over every file of its
# corpus, without fuzzing (t0080 does, from make check).
FUZZ_CC      ?= clang
FUZZ_BUILD   ?= build/fuzz
FUZZ_SECONDS ?= 60
FUZZ_FLAGS   ?=
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
                -fno-omit-frame-pointer
FUZZ_CFLAGS  := -std=c11 -D_GNU_SOURCE -DSS_VERSION='"$(VERSION)"' $(WARN) \
                -Ilib $(PKG_CFLAGS) -O1 -g $(FUZZ_SAN) -MMD -MP
FUZZ_SRC     := $(sort $(wildcard tests/fuzz/fuzz-*.c))
FUZZ_NAMES   := $(FUZZ_SRC:tests/fuzz/fuzz-%.c=%)
FUZZ_BINS    := $(FUZZ_NAMES:%=$(FUZZ_BUILD)/fuzz-%)
FUZZ_LIB_OBJ := $(LIB_SRC:%.c=$(FUZZ_BUILD)/%.o)
DEPS         += $(FUZZ_LIB_OBJ:.o=.d) $(FUZZ_SRC:%.c=$(FUZZ_BUILD)/%.d)

$(FUZZ_BUILD)/lib/%.o: lib/%.c | pkgcheck
	@mkdir -p $(dir $@)
	$(QCC)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_BUILD)/tests/fuzz/%.o: tests/fuzz/%.c | pkgcheck
	@mkdir -p $(dir $@)
	$(QCC)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_BUILD)/libshapesync.a: $(FUZZ_LIB_OBJ)
	$(QAR)rm -f $@ && $(AR) rcs $@ $^

$(FUZZ_BUILD)/fuzz-%: $(FUZZ_BUILD)/tests/fuzz/fuzz-%.o $(FUZZ_BUILD)/libshapesync.a
	$(QLD)$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(LIBS)

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	$(Q)for t in $(FUZZ_NAMES); do \
	  run=$(FUZZ_BUILD)/run/$$t; rm -rf $$run; mkdir -p $$run $(FUZZ_BUILD)/crash; \
	  dict=; [ -f tests/fuzz/$$t.dict ] && dict=-dict=tests/fuzz/$$t.dict; \
	  echo "  FUZZ    $$t ($(FUZZ_SECONDS) s)"; \
	  $(FUZZ_BUILD)/fuzz-$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    -artifact_prefix=$(FUZZ_BUILD)/crash/$$t- $$dict $(FUZZ_FLAGS) \
	    $$run tests/fuzz/corpus/$$t >$(FUZZ_BUILD)/$$t.log 2>&1 || { \
	    tail -n 60 $(FUZZ_BUILD)/$$t.log; \
	    echo "fuzz: error: $$t failed (log $(FUZZ_BUILD)/$$t.log, input in $(FUZZ_BUILD)/crash/)"; \
	    exit 1; }; \
	  grep -E '^(stat::number_of_executed_units|#[0-9]+ +DONE)' $(FUZZ_BUILD)/$$t.log | sed 's/^/          /'; \
	done

fuzz-regress: fuzz-build
	$(Q)for t in $(FUZZ_NAMES); do \
	  n=$$(find tests/fuzz/corpus/$$t -type f | wc -l); \
	  echo "  REGRESS $$t ($$n inputs)"; \
	  find tests/fuzz/corpus/$$t -type f -print0 | sort -z | \
	    xargs -0 -r $(FUZZ_BUILD)/fuzz-$$t -runs=1 >$(FUZZ_BUILD)/$$t-regress.log 2>&1 || { \
	    tail -n 60 $(FUZZ_BUILD)/$$t-regress.log; \
	    echo "fuzz-regress: error: $$t failed (log $(FUZZ_BUILD)/$$t-regress.log)"; \
	    exit 1; }; \
	done

install: $(PROGS)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
	  $(DESTDIR)$(PREFIX)/share/man/man5 \
	  $(DESTDIR)$(PREFIX)/share/bash-completion/completions \
	  $(DESTDIR)$(PREFIX)/share/zsh/site-functions
	install -m 0755 $(PROGS) $(DESTDIR)$(PREFIX)/bin/
	for m in man/*.1; do [ -e "$$m" ] && install -m 0644 $$m $(DESTDIR)$(PREFIX)/share/man/man1/; done; true
	for m in man/*.5; do [ -e "$$m" ] && install -m 0644 $$m $(DESTDIR)$(PREFIX)/share/man/man5/; done; true
	install -m 0644 completions/shapesync.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/shapesync
	for p in $(filter-out shapesync,$(notdir $(PROGS))); do \
	  ln -sf shapesync $(DESTDIR)$(PREFIX)/share/bash-completion/completions/$$p; done
	install -m 0644 completions/_shapesync $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_shapesync

# examples/todo (React and TanStack DB in a browser) against shapesync
# up: http://127.0.0.1:5180; see examples/todo/README.md.
example: all
	$(Q)SS_BIN=$(abspath $(BUILD))/bin exec examples/todo/run.sh

# The Debian package: `make install` into $(BUILD)/deb/root, then
# pkg/mkdeb.sh adds the systemd units, /etc/shapesync/shapesync.env and
# the nginx example and runs dpkg-deb. Prints the .deb's path.
DEB_FILE = $(BUILD)/shapesync_$(VERSION)_$(shell dpkg --print-architecture).deb
deb: $(PROGS)
	$(Q)rm -rf $(BUILD)/deb
	$(Q)$(MAKE) --no-print-directory -s install BUILD=$(BUILD) \
	  DESTDIR=$(abspath $(BUILD))/deb/root PREFIX=/usr >/dev/null
	$(Q)sh pkg/mkdeb.sh $(BUILD)/deb/root $(VERSION) $(DEB_FILE)

# Debian packages for building and testing: perl for prove, zsh for the
# completion tests, postgresql-15 for the throwaway test clusters, clang
# and libclang-rt-dev (libFuzzer) for the fuzz targets, clang-format for
# make format-check, systemd (systemd-analyze) and man-db for the package
# test (make deb needs dpkg-dev, which build-essential brings), chromium
# for the browser tests (driven by playwright-core from tests/e2e), openssl
# for their self-signed certificate.
DEB_PKGS := build-essential pkg-config sqlite3 libpq-dev libsqlite3-dev libjansson-dev \
            libmicrohttpd-dev postgresql-15 postgresql-15-wal2json perl zsh curl \
            nginx-light bc jq clang libclang-rt-dev clang-format systemd man-db \
            chromium openssl gnuplot-nox gdb
# Installs what is missing when run as root. Otherwise prints the command to
# run as root and fails if anything is missing, so `make deps && make check`
# stops with that hint instead of a build error. Node.js is only installed
# from Debian when no npm is on PATH already.
deps:
	@missing=$$(for p in $(DEB_PKGS); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; \
	done); \
	command -v npm >/dev/null || missing="$$missing nodejs npm"; \
	missing=$$(echo $$missing); \
	if [ -z "$$missing" ]; then \
	  echo "deps: all installed"; \
	elif [ "$$(id -u)" = 0 ]; then \
	  echo "deps: installing $$missing"; \
	  log=$$(mktemp) || exit 1; \
	  if { apt-get update && DEBIAN_FRONTEND=noninteractive \
	       apt-get install -y -o Dpkg::Use-Pty=0 $$missing; } </dev/null >$$log 2>&1; then \
	    rm -f $$log; \
	  else \
	    tail -n 40 $$log; rm -f $$log; echo "deps: error: apt-get failed"; exit 1; \
	  fi; \
	else \
	  echo "deps: missing: $$missing"; \
	  echo "deps: run as root: apt-get update && apt-get install -y $$missing"; \
	  exit 1; \
	fi

# The layout of every C file is .clang-format's (Debian 12's clang-format
# 14): `make format` rewrites them, `make format-check` lists the files
# that differ and fails (CI runs it).
FORMAT_SRC = $(shell git ls-files -co --exclude-standard '*.c' '*.h' 2>/dev/null || \
               find lib cmd tests bench -name '*.[ch]')
format:
	$(Q)clang-format -i $(FORMAT_SRC)

format-check:
	$(Q)bad=$$(for f in $(FORMAT_SRC); do \
	  clang-format "$$f" | cmp -s "$$f" - || echo "$$f"; done); \
	if [ -n "$$bad" ]; then \
	  echo "format-check: these files differ from .clang-format (run make format):"; \
	  printf '%s\n' "$$bad" | sed 's/^/  /'; exit 1; \
	fi; echo "format-check: $(words $(FORMAT_SRC)) files as .clang-format lays them out"

clean:
	rm -rf build

-include $(DEPS)
