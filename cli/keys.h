// SPDX-License-Identifier: MIT
/*
 * Keys typed while a paced replay narrates on a terminal (space pauses, n steps, q ends), as
 * `less` and `top` read them: the terminal without line editing and echo for as long as the
 * replay runs, given back as it was at the end. Ctrl-C still sends SIGINT (ISIG stays on).
 */
#ifndef NPS_CLI_KEYS_H
#define NPS_CLI_KEYS_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Read keys from now on: only when stdin and stdout are the terminal and this process is in
 * its foreground (a background job that changed the terminal's mode would be stopped). True
 * when keys are read.
 */
bool keys_start(void);
/* The terminal as it was (also at exit: registered with atexit). */
void keys_stop(void);
/* Continued after Ctrl-Z since the last call: the time stopped is not the replay's to catch up. */
bool keys_continued(void);
/* A key typed within ns nanoseconds (0 none; when keys are not read it just waits). */
int keys_wait(uint64_t ns);

#endif /* NPS_CLI_KEYS_H */
