/* The same hooked calls made by the main thread, by a plain pthread and by
 * a coroutine: pass-through ones (getsockopt), bookkeeping ones
 * (setsockopt, fcntl, dup, close, sigaction, signal) and parking ones (read
 * and write on a socketpair). Each caller uses its own socketpair, so a
 * trace tells the calls apart by fd.
 * Prints "main FD thread FD co FD" (the fd each used for getsockopt). */
#include <coroscope.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void on_usr1(int sig)
{
    (void)sig;
}

static void *calls(void *arg)
{
    int *sv = arg;
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) return (void *)1;
    int type = 0;
    socklen_t len = sizeof type;
    if (getsockopt(sv[0], SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM) return (void *)1;
    int one = 1;
    setsockopt(sv[0], SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    fcntl(sv[0], F_GETFL);
    close(dup(sv[0]));
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    signal(SIGUSR2, SIG_IGN);
    char b[4];
    if (write(sv[1], "abc", 3) != 3 || read(sv[0], b, sizeof b) != 3) return (void *)1;
    return NULL;
}

int main(void)
{
    int m[2], t[2], c[2];
    if (calls(m)) return 1;
    pthread_t th;
    void *r = (void *)1;
    if (pthread_create(&th, NULL, calls, t) != 0 || pthread_join(th, &r) != 0 || r) return 1;
    coroscope_co *co;
    r = (void *)1;
    if (coroscope_spawn(&co, "caller", calls, c) != 0 || coroscope_join(co, &r) != 0 || r) return 1;
    printf("main %d thread %d co %d\n", m[0], t[0], c[0]);
    return 0;
}
