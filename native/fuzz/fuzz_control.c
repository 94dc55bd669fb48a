/*
 * fuzz_control.c — libFuzzer target: the control socket's command parser
 * (engine/src/control_cmd.h, cs_control_parse).
 *
 * Input: bytes as a client could send them. The whole input is parsed as
 * one line, then split at '\n' (a trailing '\r' dropped) as the control
 * thread splits what it receives, and each piece parsed.
 *
 * Checked beyond "no crash, no undefined behaviour":
 *   - a refused line has a non-empty message; an accepted one a known verb;
 *   - step counts are 1..1000000; set values are in their documented ranges
 *     (delay at most 2 s, preempt and hooks 0 or 1);
 *   - a line with a NUL byte or longer than CS_CONTROL_LINE_MAX is refused;
 *   - parsing is a function of the bytes: the same line twice gives the
 *     same result, and a line followed by other bytes that are not part of
 *     it (the length says where it ends) gives the same result too.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control_cmd.h"
#include "fuzz.h"

static int same(const cs_control_cmd *a, const cs_control_cmd *b)
{
    return a->verb == b->verb && a->steps == b->steps && a->setting == b->setting && a->value == b->value &&
           a->co == b->co && a->error == b->error;
}

static void parse_checked(const uint8_t *line, size_t len)
{
    cs_control_cmd cmd, again;
    int rc = cs_control_parse((const char *)line, len, &cmd);
    FUZZ_CHECK(rc == 0 || rc == -1);
    if (rc) {
        FUZZ_CHECK(cmd.error != NULL && cmd.error[0] != '\0');
        fuzz_touch(cmd.error, strlen(cmd.error));
    } else {
        FUZZ_CHECK(cmd.error == NULL);
        FUZZ_CHECK(cmd.verb >= CS_CMD_HELLO && cmd.verb < CS_CMD_COUNT);
        FUZZ_CHECK(len <= CS_CONTROL_LINE_MAX && !memchr(line, '\0', len));
        if (cmd.verb == CS_CMD_STEP) FUZZ_CHECK(cmd.steps >= 1 && cmd.steps <= 1000000);
        if (cmd.verb == CS_CMD_STACK) FUZZ_CHECK(cmd.co >= 1);
        if (cmd.verb == CS_CMD_SET) {
            FUZZ_CHECK(cmd.setting >= CS_SET_SLICE && cmd.setting <= CS_SET_DELAY);
            if (cmd.setting == CS_SET_DELAY) FUZZ_CHECK(cmd.value <= 2000000000ull);
            if (cmd.setting == CS_SET_PREEMPT || cmd.setting == CS_SET_HOOKS) FUZZ_CHECK(cmd.value <= 1);
        }
    }
    FUZZ_CHECK(cs_control_parse((const char *)line, len, &again) == rc && same(&cmd, &again));
    /* The same line with bytes after it, which the length excludes. */
    uint8_t *longer = malloc(len + 8);
    FUZZ_CHECK(longer != NULL);
    memcpy(longer, line, len);
    memcpy(longer + len, " 7=9\n\0xx", 8);
    FUZZ_CHECK(cs_control_parse((const char *)longer, len, &again) == rc && same(&cmd, &again));
    free(longer);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    parse_checked(data, size);
    const uint8_t *line = data, *end = data + size, *nl;
    while ((nl = memchr(line, '\n', (size_t)(end - line)))) {
        size_t len = (size_t)(nl - line);
        if (len && line[len - 1] == '\r') len--;
        parse_checked(line, len);
        line = nl + 1;
    }
    return 0;
}
