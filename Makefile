# cairn — one GNU Makefile. Everything built or generated goes under $(BUILD).
#   make          build build/libcairn.a and build/cairn
#   make test     build and run the whole suite (unit, crash, fuzz replay + short fuzz)
#   make asan     the same suite under ASan+UBSan (into build/asan)
#   make fuzz     libFuzzer binaries (clang) into build/fuzz
#   make bench    benchmark programs into build/bench
#   make run      build and serve on ./data
BUILD   ?= build
CC      ?= cc
PKGS    := lmdb libzstd libxxhash libmicrohttpd re2 libprotobuf-c snappy zlib
DEPS_OK := $(shell ./scripts/deps.sh >&2 && echo ok)
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) cmocka)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS)) -lroaring -lstdc++ -lpthread -lm
CMOCKA_LIBS := $(shell pkg-config --libs cmocka)

OPT     ?= -O2 -g
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wformat=2 -Wvla -Wno-format-nonliteral
CFLAGS  += -std=c11 -D_GNU_SOURCE $(OPT) $(WARN) -fvisibility=hidden -MMD -MP \
           -Iinclude -Ibase -Iengine -Iquery -Iingest -Iapi -I$(BUILD)/query -I$(BUILD)/ingest $(PKG_CFLAGS) $(SAN)
LDFLAGS += $(SAN)
# The one C++ file (engine/re2_shim.cc, the C API over RE2) and only it.
CXX     ?= c++
CXXFLAGS += -std=c++17 $(OPT) -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-format-nonliteral \
            -fvisibility=hidden -MMD -MP -Iinclude -Ibase -Iengine $(shell pkg-config --cflags re2) $(SAN)

# ---- generated sources ---------------------------------------------------------
RE_SRCS    := $(wildcard query/*.re)
RE_GEN     := $(patsubst %.re,$(BUILD)/%.c,$(RE_SRCS))
PROTO_SRCS := $(wildcard ingest/*.proto)
PROTO_GEN  := $(patsubst %.proto,$(BUILD)/%.pb-c.c,$(PROTO_SRCS))
GEN_HDRS   := $(PROTO_GEN:.c=.h)

$(BUILD)/query/%.c: query/%.re
	@mkdir -p $(@D)
	re2c -W -Werror --no-generation-date -o $@ $<

$(BUILD)/ingest/%.pb-c.c $(BUILD)/ingest/%.pb-c.h: ingest/%.proto
	@mkdir -p $(@D)
	protoc-c --proto_path=ingest --c_out=$(BUILD)/ingest $<

# Generated code is compiled without our warning set (it is not ours); one place.
GEN_CFLAGS := -std=c11 -D_GNU_SOURCE $(OPT) -w -fvisibility=hidden -MMD -MP -Iinclude -Ibase -Iengine -Iquery -Iingest -I$(BUILD)/query -I$(BUILD)/ingest $(PKG_CFLAGS) $(SAN)

# ---- library -------------------------------------------------------------------
LIB_SRCS := $(wildcard base/*.c engine/*.c ingest/*.c query/*.c)
LIB_CXX_SRCS := $(wildcard engine/*.cc)
LIB_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(LIB_SRCS)) $(patsubst %.cc,$(BUILD)/%.o,$(LIB_CXX_SRCS)) \
            $(patsubst $(BUILD)/%.c,$(BUILD)/%.gen.o,$(RE_GEN) $(PROTO_GEN))
APP_SRCS := $(wildcard api/*.c)
APP_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(APP_SRCS))

all: $(BUILD)/libcairn.a $(BUILD)/cairn

$(BUILD)/%.o: %.c | $(GEN_HDRS) $(RE_GEN)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/%.o: %.cc
	@mkdir -p $(@D)
	$(CXX) $(CXXFLAGS) -c -o $@ $<

$(BUILD)/%.gen.o: $(BUILD)/%.c
	@mkdir -p $(@D)
	$(CC) $(GEN_CFLAGS) -c -o $@ $<

$(BUILD)/libcairn.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/cairn: $(APP_OBJS) $(BUILD)/libcairn.a
	$(CC) $(LDFLAGS) -o $@ $(APP_OBJS) $(BUILD)/libcairn.a $(PKG_LIBS)

# ---- tests ---------------------------------------------------------------------
SUP_SRCS  := $(wildcard tests/support/*.c)
SUP_OBJS  := $(patsubst %.c,$(BUILD)/%.o,$(SUP_SRCS))
UNIT_SRCS := $(wildcard tests/unit/*/test_*.c)
UNIT_BINS := $(patsubst %.c,$(BUILD)/%,$(UNIT_SRCS))
CRASH_SRCS := $(wildcard tests/crash/*.c)
CRASH_BINS := $(patsubst %.c,$(BUILD)/%,$(CRASH_SRCS))
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
REPLAY_BINS := $(patsubst tests/fuzz/%.c,$(BUILD)/replay/%,$(FUZZ_SRCS))
BENCH_SRCS := $(wildcard bench/bench_*.c)
BENCH_BINS := $(patsubst %.c,$(BUILD)/%,$(BENCH_SRCS))
TEST_CFLAGS = $(filter-out -Wmissing-prototypes,$(CFLAGS)) -Itests/support

$(BUILD)/tests/%.o: tests/%.c | $(GEN_HDRS) $(RE_GEN)
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) -c -o $@ $<

$(BUILD)/tests/unit/%: $(BUILD)/tests/unit/%.o $(SUP_OBJS) $(BUILD)/libcairn.a
	$(CC) $(LDFLAGS) -o $@ $< $(SUP_OBJS) $(BUILD)/libcairn.a $(CMOCKA_LIBS) $(PKG_LIBS)

# Tests of the server layer also link its objects (everything in api/ but main.c).
API_TEST_OBJS := $(filter-out $(BUILD)/api/main.o,$(APP_OBJS))
$(BUILD)/tests/unit/api/%: $(BUILD)/tests/unit/api/%.o $(SUP_OBJS) $(API_TEST_OBJS) $(BUILD)/libcairn.a
	$(CC) $(LDFLAGS) -o $@ $< $(SUP_OBJS) $(API_TEST_OBJS) $(BUILD)/libcairn.a $(CMOCKA_LIBS) $(PKG_LIBS)

$(BUILD)/tests/crash/%: $(BUILD)/tests/crash/%.o $(SUP_OBJS) $(BUILD)/libcairn.a
	$(CC) $(LDFLAGS) -o $@ $< $(SUP_OBJS) $(BUILD)/libcairn.a $(CMOCKA_LIBS) $(PKG_LIBS)

# Corpus replay: each fuzz target linked with a plain main() driver (no clang needed).
# fuzz_params exercises the API parameter parsers, which live in api/: it links the server objects too.
$(BUILD)/replay/fuzz_params: $(BUILD)/tests/fuzz/fuzz_params.o $(BUILD)/tests/fuzz/replay_main.o $(API_TEST_OBJS) $(BUILD)/libcairn.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(BUILD)/tests/fuzz/replay_main.o $(API_TEST_OBJS) $(BUILD)/libcairn.a $(PKG_LIBS)

$(BUILD)/replay/%: $(BUILD)/tests/fuzz/%.o $(BUILD)/tests/fuzz/replay_main.o $(BUILD)/libcairn.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(BUILD)/tests/fuzz/replay_main.o $(BUILD)/libcairn.a $(PKG_LIBS)

# bench_regex compares against PCRE2-JIT directly: the only program that links PCRE2.
$(BUILD)/bench/bench_regex: bench/bench_regex.c $(BUILD)/libcairn.a
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) $(shell pkg-config --cflags libpcre2-8) $(LDFLAGS) -o $@ $< $(BUILD)/libcairn.a $(PKG_LIBS) \
	  $(shell pkg-config --libs libpcre2-8)

$(BUILD)/bench/%: bench/%.c $(BUILD)/libcairn.a
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libcairn.a $(PKG_LIBS)

tests: $(UNIT_BINS) $(CRASH_BINS) $(REPLAY_BINS) $(BUILD)/cairn $(BUILD)/promqltest

test: tests
	BUILD=$(BUILD) ./scripts/run-tests.sh

asan:
	$(MAKE) BUILD=build/asan OPT="-O1 -g" \
	  SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" test

# libFuzzer binaries: a separate clang build of the library.
FUZZ_BUILD := build/fuzzlib
FUZZ_API_OBJS := $(patsubst %.c,$(FUZZ_BUILD)/%.o,$(filter-out api/main.c,$(APP_SRCS)))
fuzz:
	$(MAKE) BUILD=$(FUZZ_BUILD) CC=clang CXX=clang++ OPT="-O1 -g" \
	  SAN="-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer" $(FUZZ_BUILD)/libcairn.a $(FUZZ_API_OBJS)
	@mkdir -p build/fuzz
	@set -e; for f in $(FUZZ_SRCS); do n=$$(basename $$f .c); extra=; [ $$n != fuzz_params ] || extra="$(FUZZ_API_OBJS)"; \
	  clang -std=c11 -D_GNU_SOURCE -O1 -g -fsanitize=fuzzer,address,undefined -Iinclude -Ibase -Iengine -Iquery -Iingest -Iapi -I$(FUZZ_BUILD)/query -I$(FUZZ_BUILD)/ingest $(PKG_CFLAGS) \
	    -o build/fuzz/$$n $$f $$extra $(FUZZ_BUILD)/libcairn.a $(PKG_LIBS); done

# make fuzz-long: every libFuzzer target for FUZZ_LONG_SECONDS (default 300) each, new
# inputs kept in its corpus (commit the interesting ones), crashes under build/fuzz-artifacts.
FUZZ_LONG_SECONDS ?= 300
fuzz-long: fuzz
	@mkdir -p build/fuzz-artifacts
	@set -e; for f in $(FUZZ_SRCS); do n=$$(basename $$f .c); c=tests/fuzz/corpus/$${n#fuzz_}; mkdir -p $$c; \
	  echo "fuzz-long: $$n for $(FUZZ_LONG_SECONDS) s"; \
	  build/fuzz/$$n -max_total_time=$(FUZZ_LONG_SECONDS) -timeout=10 -rss_limit_mb=2048 \
	    -artifact_prefix=build/fuzz-artifacts/$$n- $$c; done

bench: $(BENCH_BINS)

run: all
	$(BUILD)/cairn serve --data ./data

lint:
	clang-format --dry-run -Werror $(wildcard engine/*.[ch] include/*.h) || true
	cppcheck --quiet --error-exitcode=1 --std=c11 -Iinclude -Ibase -Iengine base engine
	@! grep -nE '#include "(query|ingest|api)/' engine/*.[ch] || { echo "upward include"; exit 1; }
	@for h in $$(sed -n 's/^#include "\(.*\)"/\1/p' base/*.[ch] | sort -u); do \
	  [ -f base/$$h ] || [ $$h = cairn.h ] || { echo "base/ includes $$h (only base/ and cairn.h)"; exit 1; }; done

# ---- promqltest: Prometheus' own PromQL test scripts as a peer suite -----------
# `make promqltest` builds $(BUILD)/promqltest and runs it on the v3.14.0 scripts;
# it prints one line per file and `promqltest: N passed, M failed` (exit 1 if M > 0).
PROMQL_TESTDATA ?= ../shared/promql-testdata/prometheus-v3.14.0
$(BUILD)/promqltest: tests/promql/promqltest.c $(BUILD)/libcairn.a
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libcairn.a $(PKG_LIBS)

promqltest: $(BUILD)/promqltest
	$(BUILD)/promqltest $(PROMQL_TESTDATA)
.PHONY: promqltest
# ---- end promqltest ------------------------------------------------------------------

clean:
	rm -rf build

.PHONY: all test tests asan fuzz fuzz-long bench run lint clean
.SECONDARY:
-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
