/*
 * config.h — the engine configuration and its sources.
 *
 * The configuration is read from the environment once, in the library
 * constructor (cs_config_load), and may be changed through the C API.
 * Fields that shape the runtime (workers, stack size, migrate) are frozen
 * when the runtime starts; the others are read with relaxed atomics by
 * whoever needs them. The layers above read cs_cfg; config calls none of
 * them. The one that must hear of a run-time change (telemetry: a CONFIG
 * record) listens (cs_config_listen); coroscope_configure — the C API and
 * the control channel's `set` alike — tells it (cs_config_changed).
 */
#ifndef CS_CONFIG_H
#define CS_CONFIG_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cs_config {
    int workers;
    size_t stack_size;
    _Atomic uint64_t time_slice_ns;
    _Atomic int hooks;
    _Atomic int preempt;
    int migrate;
    int inherit;                 /* 1: exec'd children keep LD_PRELOAD */
    int preempt_signal;          /* signal number used for preemption */
    int control_fd;              /* -1, or an inspector's socket inherited at exec (COROSCOPE_CONTROL_FD) */
    int start_paused;            /* with an inherited inspector: the scheduler starts paused (COROSCOPE_START_PAUSED) */
    const char *preempt_modules; /* COROSCOPE_PREEMPT_MODULES: shared objects whose code may be preempted
                                    (comma list of file name prefixes, "*": all but the runtime); NULL: none */
    int trace_policy;            /* COROSCOPE_TRACE_POLICY: CS_TRACE_LOSSLESS (default) or CS_TRACE_DROP; for
                             COROSCOPE_TRACE and an inherited inspector */
    char trace_path[4096];       /* COROSCOPE_TRACE ("": not recording) */
    size_t flight_bytes;         /* COROSCOPE_FLIGHT (0: no flight recorder) */
    int offload_threads;         /* COROSCOPE_OFFLOAD_THREADS: most threads of the offload pool (offload.h) */
    int fddesc;                  /* COROSCOPE_FDDESC: 1 (default) describe fds and name fd wakers while
                             telemetry is on (fddesc.h); read at load */
    int ossched;                 /* COROSCOPE_OSSCHED: 1 (default) workers track when the OS takes their CPU
                             (ossched.h); read when each worker starts */
    _Atomic uint64_t stall_ns;   /* COROSCOPE_STALL_MS: the monitor reports a worker stuck in a system call
                             inside one run for this long (stall.h); 0: off */
    int stacks;       /* COROSCOPE_STACKS: 0 off, 1 auto (default), 2 fp, 3 unwind, 4 backtrace (emit_stack.h) */
    int stack_sample; /* COROSCOPE_STACK_SAMPLE: capture one park/preemption in N per thread */
    int stack_depth;  /* COROSCOPE_STACK_DEPTH: most frames per stack (1..64, default 32) */
    int tsc;          /* COROSCOPE_TSC: 1 (default) the clock may read the CPU's counter (clock.h) */
} cs_config;

/* Recording policies (telemetry.h): what a thread whose event ring is full does. */
enum { CS_TRACE_DROP = 0, CS_TRACE_LOSSLESS = 1 };

extern cs_config cs_cfg;

/* Parse COROSCOPE_* variables of envp into cs_cfg. Bad values are reported
 * on stderr and replaced by the default. */
void cs_config_load(char **envp);

/* The one listener of run-time changes (NULL: none), and the call that
 * tells it, made on the changing thread once cs_cfg holds the new values. */
typedef void (*cs_config_listener)(void);
void cs_config_listen(cs_config_listener fn);
void cs_config_changed(void);

/* cs_parse_size, cs_parse_duration, cs_parse_signal */
#include "parse.h"

#endif
