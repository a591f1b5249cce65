# traces/: the event struct, names, the fold of events into state, JSON Lines, checker, export.
traces_SRCS := traces/names.c
traces_CFLAGS := $(CJSON_CFLAGS)
$(eval $(call lib_rule,traces,$(traces_SRCS)))
LIBS += $(B)/libnps_traces.a
