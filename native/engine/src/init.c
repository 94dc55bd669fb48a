/*
 * init.c — library constructor, fork support, observer registration.
 *
 * The constructor resolves the real libc functions, reads the configuration
 * and registers fork handlers. It starts no thread: the workers start with
 * the first spawn, so a preloaded program that never spawns runs with no
 * extra threads at all.
 */

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "hook.h"
#include "log.h"
#include "real.h"
#include "sched.h"
#include "stack.h"

_Atomic(cs_observer_fn) cs_observer;

CS_EXPORT void coroscope__set_call_observer(cs_observer_fn fn)
{
    atomic_store(&cs_observer, fn);
}

static void atfork_child(void)
{
    cs_stack_atfork_child();
    cs_sched_atfork_child();
}

/* COROSCOPE_INHERIT=0: remove this library from LD_PRELOAD so programs
 * exec'd by the target run without it. */
static void drop_preload(void)
{
    const char *pre = getenv("LD_PRELOAD");
    if (!pre)
        return;
    char *copy = strdup(pre), *out = calloc(1, strlen(pre) + 1);
    if (!copy || !out) {
        free(copy);
        free(out);
        return;
    }
    for (char *save, *tok = strtok_r(copy, " :", &save); tok; tok = strtok_r(NULL, " :", &save)) {
        const char *base = strrchr(tok, '/');
        base = base ? base + 1 : tok;
        if (!strcmp(base, "libcoroscope.so"))
            continue;
        if (*out)
            strcat(out, ":");
        strcat(out, tok);
    }
    if (*out)
        setenv("LD_PRELOAD", out, 1);
    else
        unsetenv("LD_PRELOAD");
    free(copy);
    free(out);
}

__attribute__((constructor(101))) static void cs_init(void)
{
    cs_real_resolve();
    cs_config_load();
    if (!cs_cfg.inherit)
        drop_preload();
    pthread_atfork(NULL, NULL, atfork_child);
}
