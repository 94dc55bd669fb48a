/*
 * control_cmd.c — the control protocol's command parser; see control_cmd.h.
 * The line is copied into a bounded, NUL-terminated buffer on the stack
 * first, so the parsing below can use the C string functions on bytes that
 * came from a socket.
 */
#include "control_cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"

#define STEP_MAX 1000000

static int refuse(cs_control_cmd *cmd, const char *msg)
{
    cmd->error = msg;
    return -1;
}

static int parse_set(const char *arg, cs_control_cmd *cmd)
{
    char key[32], val[64];
    if (sscanf(arg, "%31[^=]=%63s", key, val) != 2)
        return refuse(cmd, "usage: set slice=10ms | set preempt=0|1 | set hooks=0|1 | set delay=250ms");
    uint64_t ns;
    if (!strcmp(key, "delay")) {
        if (cs_parse_duration(val, &ns) || ns > 2000000000ull)
            return refuse(cmd, "delay: a duration from 0 to 2s (e.g. 250ms; 0 turns slow motion off)");
        cmd->setting = CS_SET_DELAY;
        cmd->value = ns;
        return 0;
    }
    if (!strcmp(key, "slice")) {
        if (cs_parse_duration(val, &ns)) return refuse(cmd, "slice: not a duration (e.g. 10ms, 500us)");
        cmd->setting = CS_SET_SLICE;
        cmd->value = ns;
        return 0;
    }
    if (!strcmp(key, "preempt") || !strcmp(key, "hooks")) {
        if (strcmp(val, "0") && strcmp(val, "1")) return refuse(cmd, "expected 0 or 1");
        cmd->setting = !strcmp(key, "preempt") ? CS_SET_PREEMPT : CS_SET_HOOKS;
        cmd->value = (uint64_t)(val[0] - '0');
        return 0;
    }
    return refuse(cmd, "unknown setting (slice, preempt, hooks, delay)");
}

int cs_control_parse(const char *line, size_t len, cs_control_cmd *cmd)
{
    memset(cmd, 0, sizeof *cmd);
    if (len > CS_CONTROL_LINE_MAX) return refuse(cmd, "command line too long");
    if (memchr(line, '\0', len)) return refuse(cmd, "a NUL byte in the command line: line ignored");
    char buf[CS_CONTROL_LINE_MAX + 1];
    memcpy(buf, line, len);
    buf[len] = '\0';
    char *arg = strchr(buf, ' ');
    if (arg)
        *arg++ = '\0';
    else
        arg = buf + len;
    static const struct {
        const char *word;
        int verb;
    } verbs[] = {
        {"hello", CS_CMD_HELLO},
        {"pause", CS_CMD_PAUSE},
        {"resume", CS_CMD_RESUME},
        {"step", CS_CMD_STEP},
        {"set", CS_CMD_SET},
        {"snapshot", CS_CMD_SNAPSHOT},
        {"subscribe", CS_CMD_SUBSCRIBE},
        {"unsubscribe", CS_CMD_UNSUBSCRIBE},
        {"detach", CS_CMD_DETACH},
        {"stack", CS_CMD_STACK},
    };
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
        if (!strcmp(buf, verbs[i].word)) cmd->verb = verbs[i].verb;
    switch (cmd->verb) {
    case 0:
        return refuse(cmd, "unknown command (hello, pause, step, resume, set, snapshot, subscribe, unsubscribe, "
                           "detach, stack)");
    case CS_CMD_STEP: {
        cmd->steps = 1;
        if (!*arg) return 0;
        char *end;
        long n = strtol(arg, &end, 10);
        if (*end || n < 1 || n > STEP_MAX) return refuse(cmd, "usage: step [N], 1 <= N <= 1000000");
        cmd->steps = n;
        return 0;
    }
    case CS_CMD_SET: return parse_set(arg, cmd);
    case CS_CMD_STACK: {
        char *end;
        unsigned long long id = strtoull(arg, &end, 10);
        if (!*arg || *end || *arg == '-' || id == 0) return refuse(cmd, "usage: stack CO (a coroutine id)");
        cmd->co = id;
        return 0;
    }
    case CS_CMD_SUBSCRIBE:
        cmd->policy = -1;
        if (!*arg) return 0;
        if (!strcmp(arg, "policy=lossless"))
            cmd->policy = 1;
        else if (!strcmp(arg, "policy=drop"))
            cmd->policy = 0;
        else
            return refuse(cmd, "usage: subscribe [policy=drop|policy=lossless]");
        return 0;
    default: return 0;
    }
}
