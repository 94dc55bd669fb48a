/*
 * overflow.h — turning a stack overflow into a clean end of one coroutine.
 *
 * A coroutine that runs past its stack touches the guard page and takes
 * SIGSEGV. The handler runs on the worker's alternate signal stack (the
 * coroutine's own stack is exhausted), recognises a fault inside the current
 * coroutine's guard, and rewrites the interrupted context to continue in
 * cs_overflow_exit on the worker's small exit stack; it then returns, so the
 * kernel restores the signal mask normally (the engine never touches it).
 * cs_overflow_exit prints which coroutine overflowed which stack size and ends
 * it as finished with CS_EXIT_OVERFLOW; the process goes on.
 *
 * Any other SIGSEGV goes to the handler that was installed before ours, or to
 * the default action (a core dump), exactly as without the engine. A SIGSEGV
 * sent by a process (kill, tgkill, sigqueue: si_code <= 0) is never taken for
 * an overflow; under the default action it is sent again to the thread once
 * the default is restored (a fault would recur by itself, a sent signal does
 * not), so `kill -SEGV` kills the process by SIGSEGV; when the program
 * ignores SIGSEGV it is ignored and our handler stays.
 *
 * Threads: cs_overflow_install once (runtime start); cs_overflow_thread_init
 * on each worker thread before it runs coroutines.
 */
#ifndef CS_OVERFLOW_H
#define CS_OVERFLOW_H

struct cs_worker;

int cs_overflow_install(void);
void cs_overflow_thread_init(struct cs_worker *w);

/* The program installs or queries a SIGSEGV action while the overflow handler
 * is in place: keep ours in the kernel and make theirs the one chained to.
 * Returns 1 if handled here (overflow handler installed), 0 otherwise. */
#include <signal.h>
int cs_overflow_user_action(const struct sigaction *act, struct sigaction *old);

#endif
