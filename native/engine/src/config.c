#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

#define CS_DEFAULT_STACK (256u * 1024u)
#define CS_MIN_STACK     (16u * 1024u)
#define CS_MAX_STACK     (1024u * 1024u * 1024u)
#define CS_MAX_WORKERS   256

cs_config cs_cfg = {
    .workers = 0,
    .stack_size = CS_DEFAULT_STACK,
    .time_slice_ns = 10 * 1000 * 1000,
    .hooks = 1,
    .preempt = 1,
    .migrate = 0,
    .inherit = 1,
    .preempt_signal = SIGURG,
    .control_fd = -1,
    .trace_policy = CS_TRACE_LOSSLESS,
    .tsc = 1,
    .ossched = 1,
    .stacks = 1,
    .stack_sample = 1,
    .stack_depth = 32,
    .fddesc = 1,
    .stall_ns = 20 * 1000 * 1000,
};

static int parse_bool(const char *s, int *out)
{
    if (!strcmp(s, "1") || !strcmp(s, "on") || !strcmp(s, "yes") || !strcmp(s, "true")) return *out = 1, 0;
    if (!strcmp(s, "0") || !strcmp(s, "off") || !strcmp(s, "no") || !strcmp(s, "false")) return *out = 0, 0;
    return EINVAL;
}

/* The constructor runs before libc's own initialisation (-z initfirst), when
 * environ may not be set yet: read the environment the loader passed. */
static char **cfg_env;

static const char *env(const char *name)
{
    size_t n = strlen(name);
    for (char **e = cfg_env; e && *e; e++)
        if (!strncmp(*e, name, n) && (*e)[n] == '=') return *e + n + 1;
    return NULL;
}

static void load_bool(const char *name, int *dst)
{
    const char *s = env(name);
    int v;
    if (!s || !*s) return;
    if (parse_bool(s, &v))
        cs_log("%s=%s is not a boolean (use 1/0, on/off); using the default %d", name, s, *dst);
    else
        *dst = v;
}

void cs_config_load(char **envp)
{
    cfg_env = envp;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    cs_cfg.workers = ncpu > 0 ? (int)(ncpu > CS_MAX_WORKERS ? CS_MAX_WORKERS : ncpu) : 1;

    const char *s = env("COROSCOPE_WORKERS");
    if (s && *s) {
        char *end;
        long v = strtol(s, &end, 10);
        if (*end || end == s || v < 1 || v > CS_MAX_WORKERS)
            cs_log("COROSCOPE_WORKERS=%s is not a number of workers (1..%d); using %d", s, CS_MAX_WORKERS,
                   cs_cfg.workers);
        else
            cs_cfg.workers = (int)v;
    }

    cs_cfg.offload_threads = 4;
    s = env("COROSCOPE_OFFLOAD_THREADS");
    if (s && *s) {
        char *end;
        long v = strtol(s, &end, 10);
        if (*end || end == s || v < 1 || v > 64)
            cs_log("COROSCOPE_OFFLOAD_THREADS=%s is not a number of threads (1..64); using 4", s);
        else
            cs_cfg.offload_threads = (int)v;
    }

    s = env("COROSCOPE_STACK_SIZE");
    if (s && *s) {
        size_t v;
        long page = sysconf(_SC_PAGESIZE);
        if (cs_parse_size(s, &v) || v < CS_MIN_STACK || v > CS_MAX_STACK)
            cs_log("COROSCOPE_STACK_SIZE=%s is not a stack size (16K..1G, e.g. 256K); using %zu", s, cs_cfg.stack_size);
        else
            cs_cfg.stack_size = (v + (size_t)page - 1) & ~((size_t)page - 1);
    }

    s = env("COROSCOPE_TIME_SLICE");
    if (s && *s) {
        uint64_t v;
        if (cs_parse_duration(s, &v) || v < 100000 || v > 60000000000ull)
            cs_log("COROSCOPE_TIME_SLICE=%s is not a time slice (100us..60s, e.g. 10ms); using 10ms", s);
        else
            atomic_store(&cs_cfg.time_slice_ns, v);
    }

    int b = atomic_load(&cs_cfg.hooks);
    load_bool("COROSCOPE_HOOK", &b);
    atomic_store(&cs_cfg.hooks, b);
    b = atomic_load(&cs_cfg.preempt);
    load_bool("COROSCOPE_PREEMPT", &b);
    atomic_store(&cs_cfg.preempt, b);
    load_bool("COROSCOPE_MIGRATE", &cs_cfg.migrate);
    load_bool("COROSCOPE_TSC", &cs_cfg.tsc);
    load_bool("COROSCOPE_OSSCHED", &cs_cfg.ossched);
    load_bool("COROSCOPE_FDDESC", &cs_cfg.fddesc);
    s = env("COROSCOPE_STALL_MS");
    if (s && *s) {
        char *end;
        long v = strtol(s, &end, 10);
        if (*end || end == s || v < 0 || v > 3600000)
            cs_log("COROSCOPE_STALL_MS=%s is not a number of milliseconds (0: off, up to 3600000); using 20", s);
        else
            atomic_store(&cs_cfg.stall_ns, (uint64_t)v * 1000000ull);
    }
    s = env("COROSCOPE_STACKS");
    if (s && *s) {
        int v;
        if (!strcmp(s, "auto"))
            cs_cfg.stacks = 1;
        else if (!strcmp(s, "fp"))
            cs_cfg.stacks = 2;
        else if (!strcmp(s, "unwind"))
            cs_cfg.stacks = 3;
        else if (!strcmp(s, "backtrace"))
            cs_cfg.stacks = 4;
        else if (!parse_bool(s, &v))
            cs_cfg.stacks = v;
        else
            cs_log("COROSCOPE_STACKS=%s is not a stack mode (0, 1/auto, fp, unwind, backtrace); using auto", s);
    }
    s = env("COROSCOPE_STACK_SAMPLE");
    if (s && *s) {
        char *end;
        long v = strtol(s, &end, 10);
        if (*end || end == s || v < 1 || v > 1000000)
            cs_log("COROSCOPE_STACK_SAMPLE=%s is not a sampling rate (1..1000000: one in N); using 1", s);
        else
            cs_cfg.stack_sample = (int)v;
    }
    s = env("COROSCOPE_STACK_DEPTH");
    if (s && *s) {
        char *end;
        long v = strtol(s, &end, 10);
        if (*end || end == s || v < 1 || v > 64)
            cs_log("COROSCOPE_STACK_DEPTH=%s is not a depth (1..64); using 32", s);
        else
            cs_cfg.stack_depth = (int)v;
    }
    s = env("COROSCOPE_TRACE_POLICY");
    if (s && *s) {
        if (!strcmp(s, "lossless"))
            cs_cfg.trace_policy = CS_TRACE_LOSSLESS;
        else if (!strcmp(s, "drop"))
            cs_cfg.trace_policy = CS_TRACE_DROP;
        else
            cs_log("COROSCOPE_TRACE_POLICY=%s is not a recording policy (lossless or drop); using lossless", s);
    }
    s = env("COROSCOPE_TRACE");
    if (s && *s) {
        if (strlen(s) >= sizeof cs_cfg.trace_path)
            cs_log("COROSCOPE_TRACE is longer than %zu bytes; not recording", sizeof cs_cfg.trace_path - 1);
        else
            strcpy(cs_cfg.trace_path, s);
    }
    s = env("COROSCOPE_FLIGHT");
    if (s && *s) {
        size_t v;
        if (cs_parse_size(s, &v) || (v != 0 && (v < ((size_t)1 << 20) || v > ((size_t)16 << 30))))
            cs_log("COROSCOPE_FLIGHT=%s is not a flight recorder size (0, or 1M..16G, e.g. 64M); no flight recorder",
                   s);
        else
            cs_cfg.flight_bytes = v;
    }

    s = env("COROSCOPE_PREEMPT_MODULES");
    if (s && *s) cs_cfg.preempt_modules = strdup(s); /* the program may change its environment later */

    s = env("COROSCOPE_PREEMPT_SIGNAL");
    if (s && *s) {
        int sig = cs_parse_signal(s);
        if (sig <= 0)
            cs_log("COROSCOPE_PREEMPT_SIGNAL=%s is not a usable signal (SIGURG, SIGUSR1, SIGUSR2, SIGRTMIN+N "
                   "or a number); using SIGURG",
                   s);
        else
            cs_cfg.preempt_signal = sig;
    }
    load_bool("COROSCOPE_INHERIT", &cs_cfg.inherit);
    load_bool("COROSCOPE_START_PAUSED", &cs_cfg.start_paused);

    s = env("COROSCOPE_CONTROL_FD");
    if (s && *s) {
        char *end;
        long fd = strtol(s, &end, 10);
        if (*end || fd < 0 || fd > 1 << 20)
            cs_log("COROSCOPE_CONTROL_FD=%s is not a file descriptor; no inspector", s);
        else
            cs_cfg.control_fd = (int)fd;
    }
}

static _Atomic(cs_config_listener) listener;

void cs_config_listen(cs_config_listener fn)
{
    atomic_store(&listener, fn);
}

void cs_config_changed(void)
{
    cs_config_listener fn = atomic_load(&listener);
    if (fn) fn();
}
