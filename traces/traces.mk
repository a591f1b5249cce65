# traces/: the event struct, names, the fold of events into state, JSON Lines, checker, export.
traces_SRCS := traces/names.c traces/fold.c traces/json.c traces/narrate.c traces/check.c \
	traces/export.c traces/join.c
traces_CFLAGS := $(CJSON_CFLAGS)
$(eval $(call lib_rule,traces,$(traces_SRCS)))
LIBS += $(B)/libnps_traces.a

# The reader's fuzzer (libFuzzer, clang, ASan+UBSan), built from the sources directly. Its seed
# corpus is every trace the tests use; what it finds lands in build/fuzz/corpus.
#   make fuzz                 FUZZ_SECONDS (default 60)
#   make fuzz-short           10 seconds, as in make test (tests/t_fuzz_short.sh), from the seeds
#                             alone: replaying the corpus that long runs have grown (thousands of
#                             traces) would take the whole 10 s and try nothing new
FUZZ_SECONDS ?= 60
FUZZ_CORPUS ?= build/fuzz/corpus
FUZZ_BIN := build/fuzz/fuzz_reader
FUZZ_SRCS := traces/fuzz_reader.c traces/json.c traces/fold.c traces/narrate.c traces/names.c

$(FUZZ_BIN): $(FUZZ_SRCS) $(wildcard traces/*.h)
	$(call msg,FUZZ,$@)
	@mkdir -p $(@D)
	$(Q)$(CLANG) -std=gnu11 -g -O1 -D_GNU_SOURCE -I. $(CJSON_CFLAGS) \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		$(FUZZ_SRCS) -o $@ $(CJSON_LIBS) -lpthread

fuzz-corpus:
	@mkdir -p $(FUZZ_CORPUS) build/fuzz/seeds
	@cp -f tests/data/traces/*.jsonl tests/data/traces/illegal/*.jsonl build/fuzz/seeds/
	@cp -f traces/samples/echo.jsonl traces/samples/close.jsonl build/fuzz/seeds/ 2>/dev/null || true

fuzz: $(FUZZ_BIN) fuzz-corpus
	$(FUZZ_BIN) -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -timeout=10 -rss_limit_mb=1024 \
		-print_final_stats=1 -artifact_prefix=build/fuzz/ $(FUZZ_CORPUS) build/fuzz/seeds

fuzz-short:
	$(Q)rm -rf build/fuzz/short
	$(Q)$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=10 FUZZ_CORPUS=build/fuzz/short

.PHONY: fuzz-short fuzz-corpus
