# pgiris: hand-written Makefile.  configure (autoconf) only finds the
# libraries and writes config.mk; it is run by this Makefile when needed.
#
#   make            build build/pgiris
#   make run        install what is missing, build, start on 127.0.0.1:6432 (SQLite demo)
#   make check      install what is missing, build, run unit and integration tests
#   make check-asan the same tests with AddressSanitizer and UBSan
#   make unit       unit tests only

BUILD ?= build
SAN_FLAGS ?=
PYTHON ?= /usr/bin/python3

# The set-up targets run before the libraries (and autoconf) may exist, so
# only the others need config.mk; make regenerates it and restarts if needed.
NEEDS_CONFIG := $(filter-out deps check run check-asan bench clean distclean,$(or $(MAKECMDGOALS),all))
ifneq ($(NEEDS_CONFIG),)
-include config.mk
endif

WARN = -Wall -Wextra -Werror -Wno-unused-parameter
CFLAGS ?= -O2 -g
ALL_CFLAGS = -std=gnu11 $(CFLAGS) $(WARN) $(SAN_FLAGS) -I. -D_GNU_SOURCE \
             -DPGIRIS_VERSION='"$(VERSION)"' $(PKG_CFLAGS)
LIBS = $(PKG_LIBS) -lpthread

LIB_SRCS = $(filter-out broker/main.c,$(wildcard common/*.c shm/*.c broker/*.c worker/*.c))
LIB_OBJS = $(LIB_SRCS:%.c=$(BUILD)/%.o)
UNIT_SRCS = $(wildcard tests/unit/test_*.c)
UNIT_BINS = $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all deps run check check-asan unit integration clean distclean demo-db fuzz fuzz-short bench-translate bench

all: $(BUILD)/pgiris

config.mk: configure config.mk.in
	./configure -q

configure: configure.ac
	autoreconf -fi >/dev/null

deps:
	@./scripts/install-deps.sh

$(BUILD)/%.o: %.c config.mk
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libpgiris.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/pgiris: $(BUILD)/broker/main.o $(BUILD)/libpgiris.a
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libpgiris.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(CMOCKA_CFLAGS) -o $@ $< $(BUILD)/libpgiris.a $(LIBS) $(CMOCKA_LIBS)

var/demo.db: etc/demo.sql
	@mkdir -p var
	rm -f $@.tmp && sqlite3 $@.tmp < etc/demo.sql && mv $@.tmp $@

demo-db: var/demo.db

run: deps
	$(MAKE) all demo-db
	$(BUILD)/pgiris etc/pgiris.ini

unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; $$t; done

integration: $(BUILD)/pgiris $(BUILD)/tests/test_odbc var/demo.db
	PGIRIS_BIN=$(abspath $(BUILD)/pgiris) $(PYTHON) -m pytest -q tests/integration

TRANSLATE_SRCS = common/sql_lexer.c common/sql_translate.c $(wildcard common/sql_rules_*.c) common/pgproto.c
FUZZ_SECONDS ?= 60

# libFuzzer target for the SQL translator (clang); the corpus starts from the golden files.
$(BUILD)/fuzz_translate: tests/fuzz/fuzz_translate.c $(TRANSLATE_SRCS) $(wildcard common/*.h)
	@mkdir -p $(dir $@)
	clang -g -O1 -fsanitize=fuzzer,address,undefined -I. -D_GNU_SOURCE $(TRANSLATE_SRCS) $< -o $@

fuzz: $(BUILD)/fuzz_translate
	@rm -rf $(BUILD)/fuzz-corpus && mkdir -p $(BUILD)/fuzz-corpus
	@for f in tests/sql/*/*.sql; do d=$${f#tests/sql/}; cp $$f $(BUILD)/fuzz-corpus/$${d%%/*}-$${f##*/}; done
	$(BUILD)/fuzz_translate -max_len=2048 -max_total_time=$(FUZZ_SECONDS) -artifact_prefix=$(BUILD)/ $(FUZZ_FLAGS) $(BUILD)/fuzz-corpus

fuzz-short:
	$(MAKE) fuzz FUZZ_SECONDS=120 FUZZ_FLAGS="-seed=1 -runs=30000"

# The translator alone, plus the worker's cache in front of it (no shared region: its cache is off).
# Built in one step without -MMD, so it depends on the headers by name.
XLATE_SRCS = $(TRANSLATE_SRCS) worker/xlate.c shm/qcache.c shm/shm.c shm/ring.c common/log.c
$(BUILD)/translate_bench: bench/translate_bench.c $(XLATE_SRCS) $(wildcard common/*.h worker/*.h shm/*.h)
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -g -Wall -Wextra -Werror -Wno-unused-parameter -I. -D_GNU_SOURCE $(XLATE_SRCS) $< -o $@

bench-translate: $(BUILD)/translate_bench
	$(BUILD)/translate_bench

# pgiris, pgbouncer and PostgreSQL side by side (bench/README.md); about ten minutes.
bench: deps
	$(MAKE) all $(BUILD)/translate_bench
	bash bench/suite.sh

check: deps
	$(MAKE) all
	$(MAKE) unit
	$(MAKE) fuzz-short
	$(MAKE) integration

check-asan: deps
	$(MAKE) BUILD=build-asan SAN_FLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" CFLAGS="-O1 -g" all unit integration

clean:
	rm -rf build build-asan

distclean: clean
	rm -rf config.mk config.log config.status configure autom4te.cache aclocal.m4 var/demo.db

-include $(LIB_OBJS:.o=.d) $(BUILD)/broker/main.d
