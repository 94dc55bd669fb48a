/*
 * control_cmd.h — the control protocol's command parser (control.h lists
 * the commands): one line of bytes in, one command or one error message
 * out. control.c executes what this parses.
 *
 * Invariants
 *   - Pure: no I/O, no global state, any thread; it reads exactly the len
 *     bytes it is given (the line need not be NUL-terminated and may hold
 *     any byte) and never fails to answer.
 *   - A line is a command word, then optionally one space and its argument.
 *     Commands that take no argument ignore it. Lines longer than
 *     CS_CONTROL_LINE_MAX and lines holding a NUL byte are refused.
 */
#ifndef CS_CONTROL_CMD_H
#define CS_CONTROL_CMD_H

#include <stddef.h>
#include <stdint.h>

#define CS_CONTROL_LINE_MAX 4095

typedef enum cs_control_verb {
    CS_CMD_HELLO = 1,
    CS_CMD_PAUSE,
    CS_CMD_RESUME,
    CS_CMD_STEP,
    CS_CMD_SET,
    CS_CMD_SNAPSHOT,
    CS_CMD_SUBSCRIBE,
    CS_CMD_UNSUBSCRIBE,
    CS_CMD_DETACH,
    CS_CMD_STACK,
    CS_CMD_COUNT, /* one past the last verb (a parsed command's verb is below it) */
} cs_control_verb;

typedef enum cs_control_setting {
    CS_SET_SLICE = 1, /* value: ns (any duration; the engine checks its range) */
    CS_SET_PREEMPT,   /* value: 0 or 1 */
    CS_SET_HOOKS,     /* value: 0 or 1 */
    CS_SET_DELAY,     /* value: ns, 0..2 s */
} cs_control_setting;

typedef struct cs_control_cmd {
    int verb;          /* cs_control_verb */
    long steps;        /* STEP: 1..1000000 (1 without an argument) */
    int setting;       /* SET: cs_control_setting */
    uint64_t value;    /* SET: see cs_control_setting */
    int policy;        /* SUBSCRIBE: -1 none given, 0 policy=drop, 1 policy=lossless */
    uint64_t co;       /* STACK: the coroutine id (>= 1) */
    const char *error; /* parse failed: the message for the client (static text) */
} cs_control_cmd;

/* Parse line[0..len). 0 with *cmd filled, or -1 with cmd->error set. */
int cs_control_parse(const char *line, size_t len, cs_control_cmd *cmd);

#endif
