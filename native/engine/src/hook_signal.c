/*
 * hook_signal.c — sigaction, signal, bsd_signal, sysv_signal: the program's
 * own signal handlers, and EINTR exactly as without the engine.
 *
 * A thread blocked in read() is interrupted by a handler; a coroutine parked
 * in read() is not on any thread, so nothing would interrupt it. The engine
 * therefore installs the program's handlers wrapped: the wrapper runs the
 * program's handler, then bumps cs_rt.intr_epoch (and intr_norestart when the
 * handler lacks SA_RESTART) and wakes sleeping workers. Workers end the
 * interruptible waits that began before the bump (wait.c); each hook then
 * returns EINTR, or restarts when signal(7) says the call is restarted under
 * SA_RESTART (reads/writes/accept/connect without socket timeouts) and every
 * handler that ran had SA_RESTART. Sleeps, poll/select/epoll_wait and
 * socket calls with timeouts always end with EINTR, as in the kernel.
 *
 * The program always sees its own sigaction back (handler, mask, flags).
 * SIGSEGV stays with the stack-overflow handler, which chains to the
 * program's (overflow.c). The wrapper is async-signal-safe: atomics and
 * write(2) on eventfds only.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "hook.h"
#include "log.h"
#include "io.h"
#include "overflow.h"
#include "preempt.h"
#include "sched.h"

#define NSIGS 65

static struct sigaction user_act[NSIGS];
static _Atomic int wrapped[NSIGS];

uint32_t cs_signal_norestart_epoch(void)
{
    return atomic_load_explicit(&cs_rt.intr_norestart, memory_order_acquire);
}

static int is_handler(const struct sigaction *a)
{
    if (a->sa_flags & SA_SIGINFO) return a->sa_sigaction != NULL;
    return a->sa_handler != SIG_DFL && a->sa_handler != SIG_IGN;
}

static void wrapper(int sig, siginfo_t *si, void *uc)
{
    int saved = errno;
    struct sigaction a = user_act[sig];
    if (a.sa_flags & SA_RESETHAND) {
        /* The kernel already reset the action to SIG_DFL, keeping mask and
         * flags; the program must see the same. */
        user_act[sig].sa_handler = SIG_DFL; /* still "wrapped": queries see the program's flags */
    }
    errno = saved;
    if (is_handler(&a)) {
        if (a.sa_flags & SA_SIGINFO)
            a.sa_sigaction(sig, si, uc);
        else
            a.sa_handler(sig);
    }
    saved = errno;
    if (!cs_tls.w && si && si->si_code == SI_TKILL) {
        /* Aimed at one plain thread (pthread_kill): only that thread's call
         * is interrupted, as without the engine. */
        errno = saved;
        return;
    }
    atomic_fetch_add_explicit(&cs_rt.intr_epoch, 1, memory_order_release);
    if (!(a.sa_flags & SA_RESTART)) atomic_fetch_add_explicit(&cs_rt.intr_norestart, 1, memory_order_release);
    if (atomic_load_explicit(&cs_rt.started, memory_order_acquire) == 2) {
        for (int i = 0; i < cs_rt.nworkers; i++) {
            cs_worker *w = &cs_rt.workers[i];
            if (atomic_load(&w->sleeping)) {
                uint64_t one = 1;
                syscall(SYS_write, w->efd, &one, sizeof one);
            }
        }
    }
    errno = saved;
}


void cs_signal_deliver_user(int sig, siginfo_t *si, void *uc)
{
    if (sig > 0 && sig < NSIGS && atomic_load(&wrapped[sig])) wrapper(sig, si, uc);
}

int cs_signal_adopt(int sig, const struct sigaction *kernel_old)
{
    if (sig <= 0 || sig >= NSIGS) return 0;
    if (atomic_load(&wrapped[sig])) return 1;
    if (kernel_old && is_handler(kernel_old) && kernel_old->sa_sigaction != wrapper) {
        user_act[sig] = *kernel_old;
        atomic_store(&wrapped[sig], 1);
        return 1;
    }
    return 0;
}

/* The engine owns the kernel action of its preemption signal: keep the
 * program's action aside and chain to it. */
static int owned_sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
    struct sigaction prev;
    if (atomic_load(&wrapped[sig])) {
        prev = user_act[sig];
    } else {
        memset(&prev, 0, sizeof prev);
        prev.sa_handler = SIG_DFL;
    }
    if (act) {
        static _Atomic int told;
        if (is_handler(act) && !atomic_exchange(&told, 1))
            cs_log("the program installed its own %s handler: Coroscope keeps it, preemption signals are "
                   "told apart and chained (set COROSCOPE_PREEMPT_SIGNAL to use another signal)",
                   strsignal(sig));
        user_act[sig] = *act;
        atomic_store(&wrapped[sig], is_handler(act));
    }
    if (old) *old = prev;
    return 0;
}

static int do_sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
    if (sig <= 0 || sig >= NSIGS || sig == SIGKILL || sig == SIGSTOP) return cs_real.sigaction(sig, act, old);
    if (sig == SIGSEGV && cs_overflow_user_action(act, old)) return 0;
    if (cs_preempt_owns(sig)) return owned_sigaction(sig, act, old);
    struct sigaction prev_user;
    int was_wrapped = atomic_load(&wrapped[sig]);
    if (was_wrapped) prev_user = user_act[sig];
    if (!act) {
        int r = cs_real.sigaction(sig, NULL, old);
        if (r == 0 && old && was_wrapped) *old = prev_user;
        return r;
    }
    struct sigaction kact = *act;
    if (is_handler(act)) {
        user_act[sig] = *act;
        kact.sa_sigaction = wrapper;
        kact.sa_flags |= SA_SIGINFO;
    }
    struct sigaction kold;
    int r = cs_real.sigaction(sig, &kact, &kold);
    if (r != 0) {
        if (was_wrapped) user_act[sig] = prev_user;
        return r;
    }
    atomic_store(&wrapped[sig], is_handler(act));
    if (old) *old = was_wrapped ? prev_user : kold;
    return 0;
}

CS_EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
    cs_observe_start();
    int r = do_sigaction(sig, act, old);
    int e = errno;
    cs_observe(CS_HOOK_sigaction, -1, cs_in_co(), 0, r, r < 0 ? e : 0);
    errno = e;
    return r;
}

static sighandler_t set_handler(int sig, sighandler_t h, int flags)
{
    cs_observe_start();
    struct sigaction act, old;
    memset(&act, 0, sizeof act);
    act.sa_handler = h;
    sigemptyset(&act.sa_mask);
    if (!(flags & SA_NODEFER) && sig > 0 && sig < NSIGS) sigaddset(&act.sa_mask, sig);
    act.sa_flags = flags;
    if (h == SIG_ERR || do_sigaction(sig, &act, &old) < 0) {
        errno = EINVAL;
        return SIG_ERR;
    }
    cs_observe(CS_HOOK_signal, -1, cs_in_co(), 0, 0, 0);
    return old.sa_flags & SA_SIGINFO ? (sighandler_t)(void *)old.sa_sigaction : old.sa_handler;
}

/* glibc's signal() has BSD semantics: handlers restart calls. */
CS_EXPORT sighandler_t signal(int sig, sighandler_t h)
{
    return set_handler(sig, h, SA_RESTART);
}
CS_EXPORT sighandler_t bsd_signal(int sig, sighandler_t h)
{
    return set_handler(sig, h, SA_RESTART);
}
CS_EXPORT sighandler_t sysv_signal(int sig, sighandler_t h)
{
    return set_handler(sig, h, SA_RESETHAND | SA_NODEFER);
}
