/*
 * config.h — the engine configuration and its sources.
 *
 * The configuration is read from the environment once, in the library
 * constructor (cs_config_load), and may be changed through the C API.
 * Fields that shape the runtime (workers, stack size, migrate) are frozen
 * when the runtime starts; the others are read with relaxed atomics by
 * whoever needs them.
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
    int inherit;          /* 1: exec'd children keep LD_PRELOAD */
    int preempt_signal;   /* signal number used for preemption */
    int control_fd;       /* -1, or an inspector's socket inherited at exec (COROSCOPE_CONTROL_FD) */
    int start_paused;     /* with an inherited inspector: the scheduler starts paused (COROSCOPE_START_PAUSED) */
    const char *preempt_modules; /* COROSCOPE_PREEMPT_MODULES: shared objects whose code may be preempted
                                    (comma list of file name prefixes, "*": all but the runtime); NULL: none */
} cs_config;

extern cs_config cs_cfg;

/* Parse COROSCOPE_* variables of envp into cs_cfg. Bad values are reported
 * on stderr and replaced by the default. */
void cs_config_load(char **envp);

/* cs_parse_size, cs_parse_duration, cs_parse_signal */
#include "parse.h"

#endif
