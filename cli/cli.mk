# cli/: main and the subcommands; the only place where the modules meet.
cli_SRCS := $(wildcard cli/*.c)
cli_CFLAGS := $(CJSON_CFLAGS) $(CURSES_CFLAGS)
CLI_OBJS := $(patsubst %.c,$(B)/obj/%.o,$(cli_SRCS))

$(B)/netpollsim: $(CLI_OBJS) $(CLI_LIBS) $(LIBS)
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $(CLI_OBJS) -Wl,--start-group $(CLI_LIBS) $(LIBS) -Wl,--end-group $(CJSON_LIBS) $(CURSES_LIBS) $(CLI_EXTRA_LIBS) $(LDLIBS)
