/*
 * init.c — library constructor, the first safe moment, fork support,
 * observer registration.
 *
 * The constructor resolves the real libc functions, reads the configuration
 * and hands it to telemetry, and registers fork handlers. It starts no
 * thread: the workers start with the first spawn, so a preloaded program
 * that never spawns and is not recorded or inspected runs with no extra
 * threads at all.
 *
 * The first safe moment is just before main: this library defines
 * __libc_start_main (it comes before libc in the lookup order, preloaded or
 * linked), replaces main by main_entry and calls libc's. There every
 * constructor has run, libc is whole, and no call of the program is in
 * progress — unlike inside a hooked call, which may run in a signal handler,
 * a vfork child or with libc's own locks held. The threads recording needs
 * without a runtime (COROSCOPE_TRACE's recorder, an inherited inspector's
 * control thread) start there, or with the runtime if a constructor spawns
 * first. A program whose entry is not __libc_start_main (none that glibc
 * builds) starts them with the runtime only.
 *
 * Fork: the child handler (atfork_child, on the forking thread, the only
 * one) rebuilds each part in dependency order; in a followed session the
 * child then joins the inspector (follow.h) before its control thread
 * starts. A child made without fork handlers (raw clone/fork system calls,
 * _Fork) finds telemetry off in its wiped fork-guard page and runs the same
 * rebuild the first time it spawns a coroutine (forkguard.h). main
 * returning leaves the exit code (PROCESS_EXIT, follow.h).
 */

#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "clock.h"
#include "config.h"
#include "follow.h"
#include "forkguard.h"
#include "hook.h"
#include "log.h"
#include "offload.h"
#include "real.h"
#include "sched.h"
#include "control.h"
#include "telemetry.h"
#include "preempt.h"
#include "stack.h"
#include "syncq.h"

_Atomic(cs_observer_fn) cs_observer;

CS_EXPORT void coroscope__set_call_observer(cs_observer_fn fn)
{
    atomic_store(&cs_observer, fn);
}

/* CS_PASS with an observer other than telemetry's (hook.h). */
void cs_observe_foreign(cs_observer_fn f, int hook, int fd, int in_co, long ret, int err, uint64_t t0, uint64_t t1)
{
    int e = ret < 0 ? err : errno; /* what the program must see after the call */
    cs_call c = {hook, fd, in_co, 0, ret, err, t1 - t0, cs_tls.call_arg, 0, t1};
    cs_tls.call_arg = 0;
    f(&c);
    errno = e;
}

/* ---- the fork guard (forkguard.h) ------------------------------------------------------------- */

static cs_forkguard_page static_guard = {.seen = 1}; /* until the constructor maps the page, or without one */
cs_forkguard_page *cs_forkguard = &static_guard;

void cs_forkguard_init(void)
{
    void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return;
    if (madvise(p, 4096, MADV_WIPEONFORK)) { /* before Linux 4.14: children are not told apart */
        munmap(p, 4096);
        return;
    }
    cs_forkguard_page *g = p;
    atomic_store(&g->tel_on, atomic_load(&static_guard.tel_on));
    atomic_store(&g->seen, 1);
    cs_forkguard = g;
}

static void atfork_child(void);

void cs_forkguard_unseen(void)
{
    atfork_child();
}

static void atfork_child(void)
{
    cs_forkguard_seen(); /* first: what the rebuild calls must not rebuild again */
    cs_stack_atfork_child();
    cs_co_atfork_child();
    cs_sched_atfork_child();
    cs_preempt_atfork_child();
    cs_control_atfork_child();
    cs_tel_atfork_child();
    cs_offload_atfork_child();
    cs_syncq_atfork_child();
    /* A followed session: the child joins the inspector as a process of its
     * own (follow.h), before its control thread starts below. */
    cs_follow_atfork_child();
    /* Last: the other workers start once telemetry, control and follow
     * are the child's own (sched.h). */
    cs_sched_atfork_child_start();
    /* A child whose runtime runs (rebuilt above) is an engine process of its
     * own: it gets its own control socket, so it can be listed and attached. */
    if (atomic_load(&cs_rt.started) == 2) {
        int err = cs_control_start();
        if (err) cs_log("forked child: no control socket (%s): it cannot be attached to", strerror(err));
    }
}

/* COROSCOPE_INHERIT=0: remove this library from LD_PRELOAD so programs
 * exec'd by the target run without it. Edited in place in the environment
 * the loader passed (libc's environ is not set up yet, see config.c); the
 * value only gets shorter. */
static void drop_preload(char **envp)
{
    static const char key[] = "LD_PRELOAD=";
    for (char **e = envp; e && *e; e++) {
        if (strncmp(*e, key, sizeof key - 1)) continue;
        char *val = *e + sizeof key - 1, *out = val;
        const char *p = val;
        while (*p) {
            while (*p == ' ' || *p == ':') p++;
            const char *tok = p;
            while (*p && *p != ' ' && *p != ':') p++;
            size_t len = (size_t)(p - tok);
            if (!len) continue;
            const char *base = tok;
            for (const char *q = tok; q < p; q++)
                if (*q == '/') base = q + 1;
            if ((size_t)(p - base) == strlen("libcoroscope.so") &&
                !strncmp(base, "libcoroscope.so", (size_t)(p - base)))
                continue;
            if (out != val) *out++ = ':';
            memmove(out, tok, len);
            out += len;
        }
        *out = '\0';
    }
}

void cs_lock_hooks_resolve(void);
void cs_exec_hooks_resolve(void);
void cs_fd_hooks_resolve(void);

/* glibc passes (argc, argv, envp) to ELF constructors. */
__attribute__((constructor(101))) static void cs_init(int argc, char **argv, char **envp)
{
    (void)argc;
    (void)argv;
    cs_forkguard_init();
    cs_real_resolve();
    cs_lock_hooks_resolve();
    cs_fd_hooks_resolve();
    cs_config_load(envp);
    cs_clock_init(cs_cfg.tsc);
    cs_tel_init();
    if (!cs_cfg.inherit) drop_preload(envp);
    if (cs_cfg.control_fd >= 0) cs_control_inherit(cs_cfg.control_fd, envp);
    cs_follow_load(envp);
    cs_exec_hooks_resolve();
    pthread_atfork(NULL, NULL, atfork_child);
}

/* ---- the first safe moment: just before main --------------------------------------------------- */

typedef int (*cs_main_fn)(int, char **, char **);
static cs_main_fn program_main;

static int main_entry(int argc, char **argv, char **envp)
{
    cs_tel_start();
    cs_control_program_started();
    cs_follow_main();
    int code = program_main(argc, argv, envp);
    cs_follow_exit(code); /* libc's exit(code) follows, not through the PLT */
    return code;
}

CS_EXPORT int __libc_start_main(cs_main_fn main, int argc, char **argv, void (*init)(void), void (*fini)(void),
                                void (*rtld_fini)(void), void *stack_end)
{
    typedef int (*start_fn)(cs_main_fn, int, char **, void (*)(void), void (*)(void), void (*)(void), void *);
    start_fn next = (start_fn)dlsym(RTLD_NEXT, "__libc_start_main");
    if (!next) /* cannot happen with glibc; without it there is no way to run main */
        abort();
    program_main = main;
    return next(main_entry, argc, argv, init, fini, rtld_fini, stack_end);
}
