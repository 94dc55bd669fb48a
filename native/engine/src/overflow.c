
#include "overflow.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "coroutine.h"
#include "log.h"
#include "real.h"
#include "sched.h"

#define ALTSTACK_SIZE   (64 * 1024)
#define EXIT_STACK_SIZE (64 * 1024)

static struct sigaction prev_segv;
static int installed;

static _Noreturn void cs_overflow_exit(cs_co *co, void *fault)
{
    cs_worker *w = co->owner;
    cs_log("coroutine #%llu \"%s\" overflowed its %zu-byte stack (fault at %p, %zu bytes below the "
           "stack); the coroutine was ended. Give it a larger stack with COROSCOPE_STACK_SIZE.",
           (unsigned long long)co->id, co->name, co->stack.size, fault, (size_t)((char *)co->stack.lo - (char *)fault));
    co->exit = CS_EXIT_OVERFLOW;
    co->result = NULL;
    co->state = CS_CO_DONE;
    /* From here no local variable: a dying fiber's ASan fake stack (where
     * its locals may live) is gone after cs_san_leave. The switch saves
     * into the dead coroutine's own context, never resumed. */
    cs_san_leave(&co->san, &w->san, 1);
    cs_ctx_switch(&co->ctx, &w->sched_ctx);
    __builtin_unreachable();
}

/* A SIGSEGV that a process sent (kill, tgkill, raise, sigqueue: si_code
 * SI_USER, SI_TKILL, SI_QUEUE… all <= 0) is not a fault: returning from the
 * handler does not make it happen again. */
static int sent_by_a_process(const siginfo_t *si)
{
    return si->si_code <= 0;
}

static void chain(int sig, siginfo_t *si, void *uc)
{
    if (prev_segv.sa_flags & SA_SIGINFO) {
        if (prev_segv.sa_sigaction) {
            prev_segv.sa_sigaction(sig, si, uc);
            return;
        }
    } else if (prev_segv.sa_handler != SIG_DFL && prev_segv.sa_handler != SIG_IGN) {
        prev_segv.sa_handler(sig);
        return;
    }
    int sent = sent_by_a_process(si);
    if (sent && prev_segv.sa_handler == SIG_IGN)
        return; /* ignored, as the program asked; our handler stays for overflows */
    /* The default action (a core dump): restore it. A fault happens again
     * when the faulting instruction reruns; a sent signal does not, so it is
     * sent again to this thread. SIGSEGV is blocked while this handler runs
     * (no SA_NODEFER), so it stays pending until the handler returns and the
     * kernel restores the mask, then kills the process by SIGSEGV as it
     * would have without the engine. (A real fault with SIGSEGV ignored is
     * fatal too: the kernel forces the default action on faults.) */
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    cs_real.sigaction(SIGSEGV, &dfl, NULL);
    if (sent) syscall(SYS_tgkill, (pid_t)getpid(), (pid_t)syscall(SYS_gettid), SIGSEGV);
}

static void on_segv(int sig, siginfo_t *si, void *ucv)
{
    cs_co *co = cs_tls.co;
    cs_worker *w = cs_tls.w;
    /* Only a fault can be an overflow: for a sent signal si_addr is not an
     * address (it overlaps si_pid and si_uid). */
    if (!sent_by_a_process(si) && co && w && co->stack.base && cs_stack_in_guard(&co->stack, si->si_addr) &&
        w->exit_stack) {
        ucontext_t *uc = ucv;
        uintptr_t sp = ((uintptr_t)w->exit_stack + w->exit_stack_size) & ~(uintptr_t)15;
        /* Enter cs_overflow_exit(co, fault) as if called: rsp = 8 mod 16. */
        uc->uc_mcontext.gregs[REG_RSP] = (greg_t)(sp - 8);
        uc->uc_mcontext.gregs[REG_RIP] = (greg_t)(uintptr_t)cs_overflow_exit;
        uc->uc_mcontext.gregs[REG_RDI] = (greg_t)(uintptr_t)co;
        uc->uc_mcontext.gregs[REG_RSI] = (greg_t)(uintptr_t)si->si_addr;
        uc->uc_mcontext.gregs[REG_RBP] = 0;
        return;
    }
    chain(sig, si, ucv);
}

int cs_overflow_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    if (cs_real.sigaction(SIGSEGV, &sa, &prev_segv)) return errno;
    installed = 1;
    return 0;
}

int cs_overflow_user_action(const struct sigaction *act, struct sigaction *old)
{
    if (!installed) return 0;
    if (old) *old = prev_segv;
    if (act) prev_segv = *act;
    return 1;
}

void cs_overflow_thread_init(cs_worker *w)
{
    if (!w->altstack) {
        w->altstack = mmap(NULL, ALTSTACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        w->exit_stack = mmap(NULL, EXIT_STACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (w->altstack == MAP_FAILED || w->exit_stack == MAP_FAILED) {
            cs_log("worker %d: no memory for the overflow stacks; stack overflows will crash", w->idx);
            w->altstack = w->exit_stack = NULL;
            return;
        }
        w->altstack_size = ALTSTACK_SIZE;
        w->exit_stack_size = EXIT_STACK_SIZE;
    }
    stack_t ss = {.ss_sp = w->altstack, .ss_size = w->altstack_size, .ss_flags = 0};
    if (sigaltstack(&ss, NULL))
        cs_log("worker %d: sigaltstack failed (%s); stack overflows will crash", w->idx, strerror(errno));
}
