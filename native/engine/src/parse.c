/*
 * parse.c — the engine's value parsers (parse.h): sizes, durations and
 * signal names, as they come from the environment (config.c) and from the
 * control socket (control_cmd.c). Functions of their argument only (no
 * state of their own), any thread, never read past the string's NUL.
 */
#include "parse.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

int cs_parse_size(const char *s, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || s[0] == '-') return EINVAL;
    unsigned long long mul = 1;
    if (*end == 'k' || *end == 'K')
        mul = 1024ull, end++;
    else if (*end == 'm' || *end == 'M')
        mul = 1024ull * 1024ull, end++;
    else if (*end == 'g' || *end == 'G')
        mul = 1024ull * 1024ull * 1024ull, end++;
    if (*end == 'i' || *end == 'I') end++;
    if (*end == 'b' || *end == 'B') end++;
    if (*end != '\0' || v > (1ull << 40) / mul) return EINVAL;
    *out = (size_t)(v * mul);
    return 0;
}

int cs_parse_duration(const char *s, uint64_t *out)
{
    /* Digits, an optional fraction (at most 9 digits: ns resolution), a unit. */
    const char *p = s;
    unsigned long long whole = 0, frac = 0, frac_div = 1;
    if (*p < '0' || *p > '9') return EINVAL;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (whole > (UINT64_MAX - 9) / 10) return EINVAL;
        whole = whole * 10 + (unsigned long long)(*p - '0');
    }
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9') return EINVAL;
        for (; *p >= '0' && *p <= '9'; p++) {
            if (frac_div == 1000000000ull) return EINVAL;
            frac = frac * 10 + (unsigned long long)(*p - '0');
            frac_div *= 10;
        }
    }
    unsigned long long mul;
    if (strcmp(p, "ns") == 0)
        mul = 1;
    else if (strcmp(p, "us") == 0)
        mul = 1000;
    else if (strcmp(p, "ms") == 0 || *p == '\0')
        mul = 1000000;
    else if (strcmp(p, "s") == 0)
        mul = 1000000000;
    else
        return EINVAL;
    if (whole > UINT64_MAX / mul) return EINVAL;
    uint64_t v = whole * mul, f = frac * mul / frac_div; /* frac < frac_div <= 1e9, mul <= 1e9: no overflow */
    if (v > UINT64_MAX - f) return EINVAL;
    *out = v + f;
    return 0;
}

int cs_parse_signal(const char *s)
{
    static const struct {
        const char *name;
        int sig;
    } names[] = {{"URG", SIGURG}, {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"PROF", SIGPROF}, {"VTALRM", SIGVTALRM}};
    if (!strncmp(s, "SIG", 3)) s += 3;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(s, names[i].name)) return names[i].sig;
    char *end;
    if (!strncmp(s, "RTMIN+", 6)) {
        long k = strtol(s + 6, &end, 10);
        if (*end || k < 0 || SIGRTMIN + k > SIGRTMAX) return -1;
        return SIGRTMIN + (int)k;
    }
    long v = strtol(s, &end, 10);
    if (*end || end == s || v <= 0 || v > SIGRTMAX || v == SIGKILL || v == SIGSTOP || v == SIGSEGV || v == SIGBUS ||
        v == SIGFPE || v == SIGILL || v == SIGABRT)
        return -1;
    return (int)v;
}
