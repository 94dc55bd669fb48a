/*
 * parse.h — parsing the engine's values from text: the environment
 * (config.c) and the control socket (control_cmd.c) use the same rules.
 * Functions of their argument only (no state of their own), any thread;
 * they read the NUL-terminated string they are given and nothing else.
 */
#ifndef CS_PARSE_H
#define CS_PARSE_H

#include <stddef.h>
#include <stdint.h>

/* Parse "256K", "1M", "65536" into bytes; "10ms", "500us", "2s", "100000ns"
 * into nanoseconds. Return 0 or EINVAL. Exposed for tests. */
int cs_parse_size(const char *s, size_t *out);
int cs_parse_duration(const char *s, uint64_t *out);
/* "SIGURG", "USR1", "SIGRTMIN+3", "23" -> signal number, or -1. */
int cs_parse_signal(const char *s);

#endif
