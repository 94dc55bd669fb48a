/*
 * test_control_cmd.c — the control protocol's command parser
 * (native/engine/src/control_cmd.h): one line of bytes in, one command or
 * one error message out. The parser and the value parsers it uses are
 * hidden in libcoroscope.so, so they are compiled into this program as is.
 * (control.test.mjs checks the same commands through a live socket.)
 */
#define CS_TEST_MAIN
#include "cs_test.h"

#include "../engine/src/control_cmd.c"
#include "../engine/src/parse.c"

static int parse(const char *line, cs_control_cmd *cmd)
{
    return cs_control_parse(line, strlen(line), cmd);
}

TEST(each_command_word_parses_to_its_verb_and_commands_without_arguments_ignore_them)
{
    static const struct {
        const char *line;
        int verb;
    } cases[] = {
        {"hello", CS_CMD_HELLO},          {"pause", CS_CMD_PAUSE},         {"resume now", CS_CMD_RESUME},
        {"snapshot", CS_CMD_SNAPSHOT},    {"subscribe", CS_CMD_SUBSCRIBE}, {"unsubscribe", CS_CMD_UNSUBSCRIBE},
        {"detach please", CS_CMD_DETACH}, {"step", CS_CMD_STEP},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cs_control_cmd cmd;
        CHECK_EQ_LONG(parse(cases[i].line, &cmd), 0);
        CHECK_EQ_LONG(cmd.verb, cases[i].verb);
        CHECK(cmd.error == NULL);
    }
}

TEST(an_unknown_command_is_refused_with_the_list_of_commands)
{
    cs_control_cmd cmd;
    CHECK_EQ_LONG(parse("halt now", &cmd), -1);
    CHECK_STR_CONTAINS(cmd.error, "unknown command");
    CHECK_STR_CONTAINS(cmd.error, "snapshot");
    CHECK_EQ_LONG(parse("", &cmd), -1);
    CHECK_EQ_LONG(parse("Hello", &cmd), -1); /* words are exact */
}

TEST(step_without_a_count_is_one_step_and_counts_outside_1_to_1000000_are_refused)
{
    cs_control_cmd cmd;
    CHECK_EQ_LONG(parse("step", &cmd), 0);
    CHECK_EQ_LONG(cmd.steps, 1);
    CHECK_EQ_LONG(parse("step 1000000", &cmd), 0);
    CHECK_EQ_LONG(cmd.steps, 1000000);
    const char *bad[] = {"step 0", "step 1000001", "step -3", "step 2x", "step 99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_EQ_LONG(parse(bad[i], &cmd), -1);
        CHECK_STR_CONTAINS(cmd.error, "usage: step [N]");
    }
}

TEST(set_parses_durations_and_switches_and_refuses_values_out_of_their_range)
{
    cs_control_cmd cmd;
    CHECK_EQ_LONG(parse("set slice=2.5ms", &cmd), 0);
    CHECK_EQ_LONG(cmd.setting, CS_SET_SLICE);
    CHECK_EQ_LONG(cmd.value, 2500000);
    CHECK_EQ_LONG(parse("set delay=250ms", &cmd), 0);
    CHECK_EQ_LONG(cmd.setting, CS_SET_DELAY);
    CHECK_EQ_LONG(cmd.value, 250000000);
    CHECK_EQ_LONG(parse("set delay=0", &cmd), 0);
    CHECK_EQ_LONG(cmd.value, 0);
    CHECK_EQ_LONG(parse("set preempt=0", &cmd), 0);
    CHECK_EQ_LONG(cmd.setting, CS_SET_PREEMPT);
    CHECK_EQ_LONG(cmd.value, 0);
    CHECK_EQ_LONG(parse("set hooks=1", &cmd), 0);
    CHECK_EQ_LONG(cmd.setting, CS_SET_HOOKS);
    CHECK_EQ_LONG(cmd.value, 1);

    CHECK_EQ_LONG(parse("set delay=3s", &cmd), -1);
    CHECK_STR_CONTAINS(cmd.error, "delay: a duration from 0 to 2s");
    CHECK_EQ_LONG(parse("set slice=fast", &cmd), -1);
    CHECK_STR_CONTAINS(cmd.error, "slice: not a duration");
    CHECK_EQ_LONG(parse("set preempt=2", &cmd), -1);
    CHECK_STR_CONTAINS(cmd.error, "expected 0 or 1");
    CHECK_EQ_LONG(parse("set colour=blue", &cmd), -1);
    CHECK_STR_CONTAINS(cmd.error, "unknown setting");
    CHECK_EQ_LONG(parse("set", &cmd), -1);
    CHECK_STR_CONTAINS(cmd.error, "usage: set");
    CHECK_EQ_LONG(parse("set slice", &cmd), -1);
    CHECK_STR_CONTAINS(cmd.error, "usage: set");
}

TEST(a_line_is_its_length_in_bytes_and_one_holding_a_nul_byte_is_refused)
{
    cs_control_cmd cmd;
    /* The length ends the line, not a NUL or a newline after it. */
    CHECK_EQ_LONG(cs_control_parse("pause\nresume", 5, &cmd), 0);
    CHECK_EQ_LONG(cmd.verb, CS_CMD_PAUSE);
    CHECK_EQ_LONG(cs_control_parse("step 12345", 6, &cmd), 0);
    CHECK_EQ_LONG(cmd.steps, 1);
    /* A NUL inside the line would cut it short as a C string: refused. */
    CHECK_EQ_LONG(cs_control_parse("paus\0e", 6, &cmd), -1);
    CHECK_STR_CONTAINS(cmd.error, "NUL");
    CHECK_EQ_LONG(cs_control_parse("hello\0", 6, &cmd), -1);
}

TEST(a_line_longer_than_the_limit_is_refused_and_one_at_the_limit_is_parsed)
{
    static char line[CS_CONTROL_LINE_MAX + 2];
    memset(line, 'x', sizeof line);
    memcpy(line, "step 7 ", 7);
    cs_control_cmd cmd;
    CHECK_EQ_LONG(cs_control_parse(line, CS_CONTROL_LINE_MAX + 1, &cmd), -1);
    CHECK_STR_CONTAINS(cmd.error, "too long");
    memcpy(line, "hello ", 6);
    CHECK_EQ_LONG(cs_control_parse(line, CS_CONTROL_LINE_MAX, &cmd), 0);
    CHECK_EQ_LONG(cmd.verb, CS_CMD_HELLO);
}
