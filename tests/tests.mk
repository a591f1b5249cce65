# tests/: Criterion suites (tests/test_*.c), each linked against the module libraries, and
# shell tests (tests/t_*.sh) that drive the built binary. tests/run.sh runs them all.
TEST_SRCS := $(wildcard tests/test_*.c)
TEST_BINS += $(patsubst tests/%.c,$(B)/tests/%,$(TEST_SRCS))
TEST_SCRIPTS += $(wildcard tests/t_*.sh)
tests_CFLAGS := $(CJSON_CFLAGS)
TEST_SUPPORT := $(B)/obj/tests/testutil.o
ifeq ($(VARIANT),tsan)
# Criterion under ThreadSanitizer needs help to place its arena (see the file).
TEST_SUPPORT += $(B)/obj/tests/tsan_criterion.o
endif

$(B)/tests/%: $(B)/obj/tests/%.o $(TEST_SUPPORT) $(LIBS)
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $< $(TEST_SUPPORT) -Wl,--start-group $(LIBS) -Wl,--end-group $(CJSON_LIBS) $(CRITERION_LIBS) $(TEST_EXTRA_LIBS) $(LDLIBS)
