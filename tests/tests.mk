# tests/: Criterion suites (tests/test_*.c), each linked against the module libraries, and
# shell tests (tests/*.sh) that drive the built binary. tests/run.sh runs them all.
TEST_SRCS := $(wildcard tests/test_*.c)
TEST_BINS += $(patsubst tests/%.c,$(B)/tests/%,$(TEST_SRCS))
TEST_SCRIPTS += $(wildcard tests/t_*.sh)
tests_CFLAGS := $(CJSON_CFLAGS)

$(B)/tests/%: $(B)/obj/tests/%.o $(B)/obj/tests/testutil.o $(LIBS)
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $< $(B)/obj/tests/testutil.o -Wl,--start-group $(LIBS) -Wl,--end-group $(CJSON_LIBS) $(CRITERION_LIBS) $(TEST_EXTRA_LIBS) $(LDLIBS)
