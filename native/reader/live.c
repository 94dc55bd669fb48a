/*
 * live.c — coroscope-dump --pid: attach to a running engine process through
 * its control socket (control.h), subscribe (policy drop: the target never
 * waits for us), receive its doorbell and every thread's event ring
 * (SCM_RIGHTS, one fd per announcement line), and print the events as they
 * come: the rings' consumer (wire/consumer.h) wakes when a ring passes its
 * watermark or every 50 ms and hands over batches sorted by time. Detaches
 * on exit; the target goes on unaffected.
 */

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "wire/control_path.h"
#include "wire/consumer.h"
#include "wire/reader.h"
#include "wire/recv_fds.h"
#include "wire/ring.h"

#define MAX_RINGS 1024
#define BATCH     65536
#define PERIOD_MS 50

static cs_ring rings[MAX_RINGS];
static int nrings;
static cs_consumer cons;
static cs_fd_lines lines;


/* A line from the engine with the fd that came with it (-1: none; see
 * wire/recv_fds.h). Returns 1 if fd is kept (the doorbell). */
static int on_line(void *ctx, const char *line, int fd)
{
    (void)ctx;
    if (!line) return 0; /* longer than we keep: not an announcement */
    if (!strncmp(line, "{\"event\":\"ring\"", 15)) {
        if (fd >= 0 && nrings < MAX_RINGS && cs_ring_attach(&rings[nrings], fd) == 0 &&
            cs_consumer_add(&cons, &rings[nrings]) == 0)
            nrings++;
        return 0; /* the mapping stays */
    }
    if (!strncmp(line, "{\"event\":\"doorbell\"", 19)) {
        if (fd < 0) return 0;
        if (cons.doorbell >= 0) close(cons.doorbell);
        cons.doorbell = fd;
        return 1;
    }
    if (strstr(line, "\"ok\":false")) /* errors from the engine go to stderr */
        fprintf(stderr, "coroscope-dump: the target says: %s\n", line);
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

typedef struct printer {
    void (*print)(const coroscope_event *, uint64_t *, int *);
    cs_reader *strings;
    uint64_t base;
    int have_base;
} printer;

static void print_batch(void *ctx, coroscope_event *ev, size_t n)
{
    printer *p = ctx;
    cs_reader_ingest(p->strings, ev, n);
    for (size_t i = 0; i < n; i++)
        if (ev[i].kind != COROSCOPE_EV_STRING && ev[i].kind != COROSCOPE_EV_STRING_MORE)
            p->print(&ev[i], &p->base, &p->have_base);
    fflush(stdout);
}

int live_main(int pid, double seconds, void (*print)(const coroscope_event *, uint64_t *, int *), cs_reader *strings)
{
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    if (pid <= 0 || cs_control_socket_find(pid, path, sizeof path)) {
        fprintf(stderr, "coroscope-dump: process %d runs no Coroscope engine (no control socket)\n", pid);
        return 1;
    }
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    memcpy(a.sun_path, path, sizeof a.sun_path);
    if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof a)) {
        if (s >= 0 && (errno == ECONNREFUSED || errno == ENOENT))
            /* Nobody listens: the socket of a process that died (killed before
             * its exit handler removed it), its pid since reused or free. */
            fprintf(stderr, "coroscope-dump: process %d runs no Coroscope engine (%s is a stale control socket)\n", pid,
                    path);
        else
            fprintf(stderr, "coroscope-dump: %s: %s\n", path, strerror(errno));
        return 1;
    }
    const char *hello = "hello\nsubscribe\n";
    if (write(s, hello, strlen(hello)) < 0 || cs_consumer_init(&cons, BATCH) || cs_fd_lines_init(&lines, 16384))
        return 1;
    printer pr = {.print = print, .strings = strings};
    cs_consumer_sink sink = {.ctx = &pr, .batch = print_batch};
    double end = seconds > 0 ? now_s() + seconds : 0, flushed = now_s();
    setvbuf(stdout, NULL, _IOFBF, 1 << 16);
    while (!end || now_s() < end) {
        int armed = cs_consumer_arm(&cons);
        struct pollfd p[2] = {{.fd = s, .events = POLLIN}, {.fd = armed ? cons.doorbell : -1, .events = POLLIN}};
        int r = poll(p, 2, armed ? PERIOD_MS : 0);
        if (armed) cs_consumer_disarm(&cons);
        if (r > 0 && p[0].revents && cs_fd_lines_read(&lines, s, 0, on_line, NULL) <= 0) {
            fprintf(stderr, "coroscope-dump: the target closed the control channel (exited?)\n");
            break;
        }
        cs_consumer_drain(&cons, &sink);
        if (now_s() - flushed >= PERIOD_MS / 1000.0) {
            cs_consumer_flush(&cons, &sink);
            flushed = now_s();
        }
    }
    cs_consumer_drain(&cons, &sink);
    cs_consumer_finish(&cons, &sink);
    const char *bye = "detach\n";
    if (write(s, bye, strlen(bye)) < 0) {
        /* gone already */
    }
    close(s);
    for (int i = 0; i < nrings; i++) cs_ring_detach(&rings[i]);
    if (cons.doorbell >= 0) close(cons.doorbell);
    cs_consumer_free(&cons);
    cs_fd_lines_free(&lines);
    return 0;
}

/* ---- coroscope-dump --list: the engine processes of this user ------------------------- */

/* Start time of pid as seconds since the epoch (from /proc), 0 if unknown. */
static double started_at(int pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    if (!p) return 0;
    unsigned long long ticks = 0;
    /* after ")": state is field 3; starttime is field 22 */
    int field = 2;
    for (char *t = strtok(p + 1, " "); t; t = strtok(NULL, " "))
        if (++field == 22) {
            ticks = strtoull(t, NULL, 10);
            break;
        }
    struct timespec up, now;
    clock_gettime(CLOCK_BOOTTIME, &up);
    clock_gettime(CLOCK_REALTIME, &now);
    double boot = (double)now.tv_sec + now.tv_nsec / 1e9 - ((double)up.tv_sec + up.tv_nsec / 1e9);
    return boot + (double)ticks / (double)sysconf(_SC_CLK_TCK);
}

static int list_dir(const char *dir, int *found)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    for (struct dirent *e; (e = readdir(d));) {
        int pid;
        char tail[8];
        if (sscanf(e->d_name, "%d.%7s", &pid, tail) != 2 || strcmp(tail, "sock") || pid <= 0) continue;
        if (kill(pid, 0) && errno == ESRCH) continue; /* the socket of a process that died without cleaning up */
        char exe[1024], link[64];
        snprintf(link, sizeof link, "/proc/%d/exe", pid);
        ssize_t n = readlink(link, exe, sizeof exe - 1);
        exe[n > 0 ? n : 0] = '\0';
        time_t t = (time_t)started_at(pid);
        char when[32] = "?";
        if (t) strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", localtime(&t));
        printf("%d\t%s\t%s\n", pid, when, exe[0] ? exe : "?");
        (*found)++;
    }
    closedir(d);
    return 0;
}

int list_main(void)
{
    int found = 0;
    char dir[4096];
    printf("PID\tSTARTED\tEXE\n");
    for (int i = 0; i < CS_CONTROL_DIRS; i++)
        if (cs_control_dir(i, dir, sizeof dir) == 0) list_dir(dir, &found);
    return 0;
}
