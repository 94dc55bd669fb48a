/* The recording workload of issue 12: N coroutines (argv[1], even), each
 * 30 times { yield; every 4th time usleep(50 us); a one-byte ping-pong with
 * its partner over a socketpair }. Coroutines 2k and 2k+1 are partners:
 * the first sends and waits for the echo, the second echoes. The whole run
 * is repeated R times (argv[2], default 1: more events than one process may
 * have sockets for). Prints "done N x R" when every coroutine finished. */
#include <coroscope.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#define ROUNDS 30

typedef struct pair {
    int fd[2];
} pair;

typedef struct role {
    pair *p;
    int side;
} role;

static void *work(void *arg)
{
    role *r = arg;
    int fd = r->p->fd[r->side];
    char c = 'x';
    for (int i = 0; i < ROUNDS; i++) {
        coroscope_yield();
        if (i % 4 == 0) usleep(50);
        if (r->side == 0) {
            if (write(fd, &c, 1) != 1 || read(fd, &c, 1) != 1) return (void *)1;
        } else {
            if (read(fd, &c, 1) != 1 || write(fd, &c, 1) != 1) return (void *)1;
        }
    }
    return NULL;
}

static int run(int n);

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 1000;
    int reps = argc > 2 ? atoi(argv[2]) : 1;
    if (n < 2) n = 2;
    n &= ~1;
    int bad = 0;
    for (int r = 0; r < reps; r++) bad |= run(n);
    printf("done %d x %d\n", n, reps);
    return bad;
}

static int run(int n)
{
    pair *pairs = calloc((size_t)n / 2, sizeof *pairs);
    role *roles = calloc((size_t)n, sizeof *roles);
    coroscope_co **co = calloc((size_t)n, sizeof *co);
    if (!pairs || !roles || !co) return 1;
    for (int i = 0; i < n / 2; i++)
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pairs[i].fd)) {
            perror("socketpair");
            return 1;
        }
    for (int i = 0; i < n; i++) {
        roles[i] = (role){&pairs[i / 2], i & 1};
        if (coroscope_spawn(&co[i], i & 1 ? "echo" : "ping", work, &roles[i])) return 1;
    }
    int bad = 0;
    for (int i = 0; i < n; i++) {
        void *res;
        coroscope_join(co[i], &res);
        bad |= res != NULL;
    }
    for (int i = 0; i < n / 2; i++) {
        close(pairs[i].fd[0]);
        close(pairs[i].fd[1]);
    }
    free(pairs);
    free(roles);
    free(co);
    return bad;
}
