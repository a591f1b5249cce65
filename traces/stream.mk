# traces/evring.c: the event rings and their merge (the transport of the event stream).
stream_SRCS := traces/evring.c traces/livemerge.c
$(eval $(call lib_rule,stream,$(stream_SRCS)))
LIBS += $(B)/libnps_stream.a
