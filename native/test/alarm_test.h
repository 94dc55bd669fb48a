/* SIGALRM for the tests of EINTR behaviour: a handler that counts the
 * signals it got (`handled`), installed with the sa_flags a test chooses,
 * and a one-shot ITIMER_REAL. */
#ifndef CS_TEST_ALARM_H
#define CS_TEST_ALARM_H

#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/time.h>

#include "cs_test.h"

static _Atomic int handled;

static void on_alarm(int sig)
{
    (void)sig;
    atomic_fetch_add(&handled, 1);
}

static void install(int flags)
{
    struct sigaction a;
    memset(&a, 0, sizeof a);
    a.sa_handler = on_alarm;
    a.sa_flags = flags;
    sigemptyset(&a.sa_mask);
    REQUIRE(sigaction(SIGALRM, &a, NULL) == 0);
}

static void arm_ms(long ms)
{
    struct itimerval it = {{0, 0}, {ms / 1000, (ms % 1000) * 1000}};
    REQUIRE(setitimer(ITIMER_REAL, &it, NULL) == 0);
}

#endif
