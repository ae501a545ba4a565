# Makefile - builds libactors, the broker, the tools, the services, the
# tests and the benchmarks into $(BUILD)/ (binaries in $(BUILD)/bin).
#
#   make                 build everything
#   make test            install missing packages, build, run every test
#   make run             install missing packages, build, run the demo
#   make bench           run the benchmark table (docs/BENCHMARKS.md)
#   make clients         the Python and Go clients' tests (part of make test)
#   make test SANITIZE=address|undefined|thread
#   make memcheck        unit tests under valgrind
#   make format | format-check
#   make install | uninstall [PREFIX=/usr/local] [DESTDIR=]
#
# Programs are discovered by directory, so adding a file needs no edit here:
#   libactors/src/*.c                 -> libactors.a / libactors.so
#   broker/*.c                        -> bin/actors-broker
#   tools/<name>/*.c                  -> bin/<name>
#   services/<name>/*.c               -> bin/<name>
#   bench/<name>/*.c                  -> bin/<name>
#       (except bench/persist: a module linked into two of them)
#   tests/unit/<component>/test_*.c   -> tests/unit/<component>/test_*
#       (linked with libactors and, for broker/, the broker's modules)
#   tests/integration/test_*.c        -> tests/integration/test_*

SANITIZE ?=
BUILD    ?= build$(if $(SANITIZE),-$(SANITIZE))
CC       ?= cc
PKGS     := libzmq libczmq msgpack check jansson hiredis libmicrohttpd
# (check's flags are asked for apart: make install builds without it.)

WARN     := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wformat=2 -Wvla -Wno-missing-field-initializers
CFLAGS   ?= -O2 -g
CFLAGS   += -std=c11 -D_POSIX_C_SOURCE=200809L -fPIC -fvisibility=hidden \
            $(WARN) -MMD -MP -Ilibactors/include -Ilibactors/internal \
            $(shell pkg-config --cflags $(filter-out check,$(PKGS)) 2>/dev/null) \
            $(shell pkg-config --cflags check 2>/dev/null)
ifeq ($(CI),true)
  CFLAGS += -Werror
endif
LDLIBS   := $(shell pkg-config --libs libzmq libczmq msgpack jansson hiredis \
                libmicrohttpd 2>/dev/null) \
            -lpthread -lm
CHECKLIBS := $(shell pkg-config --libs check 2>/dev/null)
ifneq ($(SANITIZE),)
  CFLAGS  += -O1 -fno-omit-frame-pointer -fsanitize=$(SANITIZE) \
             -fno-sanitize-recover=all
  LDFLAGS += -fsanitize=$(SANITIZE)
endif

# ---------------------------------------------------------------- sources
LIB_SRCS     := $(wildcard libactors/src/*.c)
LIB_OBJS     := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
LIB_A        := $(BUILD)/lib/libactors.a
LIB_SO       := $(BUILD)/lib/libactors.so
# The shared library is versioned from actors/export.h: libactors.so.X.Y.Z
# with SONAME libactors.so.X, and the two symlinks (mk/install.mk).
VERSION      := $(shell sed -n 's/^\#define ACTORS_VERSION_[A-Z]* //p' \
                  libactors/include/actors/export.h | paste -sd.)
SOMAJOR      := $(firstword $(subst ., ,$(VERSION)))
LIB_SO_REAL  := $(LIB_SO).$(VERSION)

BROKER_SRCS  := $(wildcard broker/*.c)
BROKER_MODS  := $(filter-out broker/main.c,$(BROKER_SRCS))
SUPER_SRCS   := $(wildcard supervisor/*.c)
SUPER_MODS   := $(filter-out supervisor/main.c,$(SUPER_SRCS))
CTL_MODS     := $(filter-out tools/actorctl/main.c,$(wildcard tools/actorctl/*.c))

TOOL_DIRS    := $(patsubst %/,%,$(dir $(wildcard tools/*/*.c)))
SERVICE_DIRS := $(patsubst %/,%,$(dir $(wildcard services/*/*.c)))
# bench/persist is a module, not a program: the persisted-calls rows,
# linked into actors-bench and actors-persist-bench (PERSIST_BENCH_USERS).
BENCH_MOD_DIRS := bench/persist
BENCH_DIRS   := $(filter-out $(BENCH_MOD_DIRS),\
                $(patsubst %/,%,$(dir $(wildcard bench/*/*.c))))
PERSIST_BENCH_OBJS  := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard bench/persist/*.c))
PERSIST_BENCH_USERS := actors-bench actors-persist-bench
# actors-bench forks its chaos actors from itself rather than exec them
# (bench/actors-bench/env.c): it links the chaos service's module.
CHAOS_BENCH_OBJS    := $(BUILD)/obj/services/chaos/chaos.o
CHAOS_BENCH_USERS   := actors-bench
PROG_DIRS    := $(sort $(TOOL_DIRS) $(SERVICE_DIRS) $(BENCH_DIRS))
PROGS        := $(foreach d,$(PROG_DIRS),$(BUILD)/bin/$(notdir $(d)))
BROKER_BIN   := $(BUILD)/bin/actors-broker
SUPER_BIN    := $(if $(SUPER_SRCS),$(BUILD)/bin/actors-supervisor)

TESTUTIL_SRCS := $(wildcard tests/*.c)
TESTUTIL_OBJS := $(TESTUTIL_SRCS:%.c=$(BUILD)/obj/%.o)
UNIT_SRCS    := $(wildcard tests/unit/*/test_*.c)
UNIT_BINS    := $(UNIT_SRCS:%.c=$(BUILD)/%)
INTEG_SRCS   := $(wildcard tests/integration/test_*.c)
INTEG_BINS   := $(INTEG_SRCS:%.c=$(BUILD)/%)

# The seed's FilePersistence example (snapshot style) is also built here,
# for the tests that kill it (tests/integration/test_persist.c).
EXAMPLE_BINS := $(BUILD)/bin/file_account

ALL_BINS := $(BROKER_BIN) $(SUPER_BIN) $(PROGS) $(EXAMPLE_BINS)

.PHONY: all lib test unit integration interop run bench deps clean \
        format format-check memcheck docker-test docker-clean swarm-test
all: $(LIB_A) $(LIB_SO) $(ALL_BINS) $(UNIT_BINS) $(INTEG_BINS)
lib: $(LIB_A) $(LIB_SO)

# ---------------------------------------------------------------- rules
# Include folders: everyone sees the public headers (libactors/include)
# and the internal library's (libactors/internal: what the broker, the
# supervisor and the tests share with libactors, never installed); only
# libactors itself and its white-box unit tests see libactors/src.
$(BUILD)/obj/libactors/%.o: CFLAGS += -Ilibactors/src
$(BUILD)/obj/tests/%.o: CFLAGS += -Ilibactors/src

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(LIB_A): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(LIB_SO_REAL): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) -shared $(LDFLAGS) -Wl,-soname,libactors.so.$(SOMAJOR) -o $@ $^ $(LDLIBS)

$(LIB_SO): $(LIB_SO_REAL)
	ln -sf $(notdir $<) $(LIB_SO).$(SOMAJOR)
	ln -sf $(notdir $<) $@

$(BROKER_BIN): $(BROKER_SRCS:%.c=$(BUILD)/obj/%.o) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

ifneq ($(SUPER_SRCS),)
$(SUPER_BIN): $(SUPER_SRCS:%.c=$(BUILD)/obj/%.o) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
endif

define PROGRAM_RULE
$(BUILD)/bin/$(notdir $(1)): $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard $(1)/*.c)) \
    $(if $(filter $(PERSIST_BENCH_USERS),$(notdir $(1))),$(PERSIST_BENCH_OBJS)) \
    $(if $(filter $(CHAOS_BENCH_USERS),$(notdir $(1))),$(CHAOS_BENCH_OBJS)) $(LIB_A)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS)
endef
$(foreach d,$(PROG_DIRS),$(eval $(call PROGRAM_RULE,$(d))))

$(BUILD)/bin/file_account: $(BUILD)/obj/examples/persistence/file_account.o $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# A unit test links the modules of its component (minus main.c).
unit_mods = $(if $(filter broker,$(1)),$(BROKER_MODS:%.c=$(BUILD)/obj/%.o),\
            $(if $(filter supervisor,$(1)),$(SUPER_MODS:%.c=$(BUILD)/obj/%.o),\
            $(if $(filter actorctl,$(1)),$(CTL_MODS:%.c=$(BUILD)/obj/%.o))))
# Objects of tests and programs are not intermediates: keep them.
.SECONDARY:
.SECONDEXPANSION:
$(BUILD)/tests/unit/%: $(BUILD)/obj/tests/unit/%.o $$(call unit_mods,$$(firstword $$(subst /, ,$$*))) $(TESTUTIL_OBJS) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(CHECKLIBS) $(LDLIBS)

$(BUILD)/tests/integration/%: $(BUILD)/obj/tests/integration/%.o $(TESTUTIL_OBJS) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(CHECKLIBS) $(LDLIBS)

# ---------------------------------------------------------------- targets
# deps installs what is missing (apt-get as root, sudo otherwise).
deps:
	@scripts/install-deps.sh

# The test run: unit tests, integration tests against the real binaries,
# the Python interop test. One summary line at the end.
test: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) scripts/run-tests.sh

unit: all
	@BUILD=$(BUILD) scripts/run-tests.sh unit

integration: all
	@BUILD=$(BUILD) scripts/run-tests.sh integration

interop: all
	@BUILD=$(BUILD) scripts/run-tests.sh interop

# The Python and Go clients (clients/*/run-tests.sh) against the real broker.
.PHONY: clients
clients: all
	@BUILD=$(BUILD) scripts/run-tests.sh clients

run: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) scripts/demo.sh

bench: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) bench/run.sh

memcheck: all
	@BUILD=$(BUILD) MEMCHECK=1 scripts/run-tests.sh unit

FORMAT_SRCS = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
format:
	clang-format -i $(FORMAT_SRCS)

format-check:
	clang-format --dry-run --Werror $(FORMAT_SRCS)

clean:
	rm -rf build build-*

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# make install / uninstall (PREFIX, DESTDIR): mk/install.mk
include mk/install.mk

# The Docker deployment end to end (docs/DEPLOYMENT.md): base image, image,
# compose stack with 2 nodes, demo, crash checks, teardown.
docker-test:
	@scripts/docker-test.sh

# The same on a single-node Docker Swarm (docker/stack.yml).
swarm-test:
	@scripts/swarm-test.sh

# The Docker images the project built (labelled, and the known tags).
docker-clean:
	@scripts/docker-clean.sh
