/* DNS lookups inside coroutines (hook_dns.c), against glibc's resolver as
 * configured by the test (a slow local DNS server, a private /etc/hosts).
 *
 *   dns_lookups concurrent N  N coroutines each resolve hostI.slow.test with
 *                             getaddrinfo while a ticker coroutine sleeps 5 ms
 *                             in a loop; prints the elapsed time, the ticker's
 *                             worst lateness and each answer.
 *   dns_lookups matrix        every case resolved on the main thread (no
 *                             coroutine: glibc's own call) and in a coroutine;
 *                             prints "same CASE: ANSWER" or "DIFF CASE: ...".
 *   dns_lookups static        two coroutines call gethostbyname on different
 *                             names, park, then read their results.
 *   dns_lookups exit          a coroutine starts a slow lookup; main exits
 *                             while it is in flight.
 */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <coroscope.h>
#include <dirent.h>
#include <signal.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void *run_in_co(void *(*fn)(void *), void *arg)
{
    coroscope_co *co;
    void *r = NULL;
    if (coroscope_spawn(&co, "lookup", fn, arg) || coroscope_join(co, &r)) {
        fprintf(stderr, "spawn/join failed\n");
        exit(2);
    }
    return r;
}

/* ---- concurrent ---- */

static volatile int lookups_left;
static uint64_t worst_late;
static char answers[64][64];

static void *ticker(void *arg)
{
    (void)arg;
    uint64_t prev = now_ns();
    while (lookups_left > 0) {
        usleep(5000);
        coroscope_yield(); /* lets the lookups run even with the hooks off (COROSCOPE_HOOK=0) */
        uint64_t t = now_ns(), late = t - prev - 5000000;
        if ((int64_t)late > 0 && late > worst_late) worst_late = late;
        prev = t;
    }
    return NULL;
}

static void *lookup_one(void *arg)
{
    int i = (int)(intptr_t)arg;
    char name[64];
    snprintf(name, sizeof name, "host%d.slow.test", i);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    int r = getaddrinfo(name, "80", &hints, &res);
    if (r) {
        snprintf(answers[i], sizeof answers[i], "%s error %d", name, r);
    } else {
        char ip[INET6_ADDRSTRLEN] = "?";
        if (res->ai_family == AF_INET)
            inet_ntop(AF_INET, &((struct sockaddr_in *)res->ai_addr)->sin_addr, ip, sizeof ip);
        snprintf(answers[i], sizeof answers[i], "%s %s", name, ip);
        freeaddrinfo(res);
    }
    __atomic_fetch_sub(&lookups_left, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

/* "offload_threads N blocked B": the pool's threads (named cs-offload) and
 * how many of them block every signal (SigBlk in /proc). */
static void offload_threads(void)
{
    int n = 0, blocked = 0;
    DIR *d = opendir("/proc/self/task");
    struct dirent *de;
    while (d && (de = readdir(d))) {
        char path[300], line[256];
        snprintf(path, sizeof path, "/proc/self/task/%s/status", de->d_name);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        int ours = 0;
        while (fgets(line, sizeof line, f)) {
            if (!strncmp(line, "Name:\tcs-offload", 16)) ours = 1;
            if (ours && !strncmp(line, "SigBlk:", 7)) {
                /* every signal a thread can block: 1-31 but SIGKILL and SIGSTOP, and the
                 * real-time ones from SIGRTMIN (glibc keeps 32 and 33 for itself) */
                unsigned long long m = strtoull(line + 7, NULL, 16), want = 0;
                for (int sig = 1; sig <= 64; sig++)
                    if (sig != SIGKILL && sig != SIGSTOP && (sig < 32 || sig >= SIGRTMIN)) want |= 1ull << (sig - 1);
                blocked += (m & want) == want;
            }
        }
        fclose(f);
        n += ours;
    }
    if (d) closedir(d);
    printf("offload_threads %d blocked %d\n", n, blocked);
}

static int concurrent(int n)
{
    if (n < 1 || n > 64) return 2;
    coroscope_co *cos[65];
    lookups_left = n;
    uint64_t t0 = now_ns();
    if (coroscope_spawn(&cos[n], "ticker", ticker, NULL)) return 2;
    for (int i = 0; i < n; i++) {
        char nm[16];
        snprintf(nm, sizeof nm, "lookup%d", i);
        if (coroscope_spawn(&cos[i], nm, lookup_one, (void *)(intptr_t)i)) return 2;
    }
    for (int i = 0; i <= n; i++) coroscope_join(cos[i], NULL);
    printf("lookups %d elapsed_ms %.1f worst_late_ms %.1f\n", n, (now_ns() - t0) / 1e6, worst_late / 1e6);
    offload_threads();
    for (int i = 0; i < n; i++) printf("answer %s\n", answers[i]);
    return 0;
}

/* ---- matrix ---- */

typedef struct gai_case {
    const char *label, *node, *service;
    int family, flags;
} gai_case;

static const gai_case gai_cases[] = {
    {"localhost (hosts file)", "localhost", NULL, AF_UNSPEC, 0},
    {"hosts-file name", "filehost.slow.test", "80", AF_INET, 0},
    {"hosts-file alias, canonical name", "filealias", NULL, AF_UNSPEC, AI_CANONNAME},
    {"numeric IPv4", "127.0.0.1", "22", AF_UNSPEC, AI_NUMERICHOST},
    {"numeric IPv6", "::1", NULL, AF_INET6, AI_NUMERICHOST | AI_NUMERICSERV},
    {"passive, no node", NULL, "8080", AF_INET, AI_PASSIVE},
    {"service by name", "127.0.0.1", "http", AF_INET, 0},
    {"unknown service", "127.0.0.1", "no-such-service", AF_INET, 0},
    {"DNS name", "dnshost.slow.test", NULL, AF_INET, 0},
    {"DNS name, canonical name", "dnshost.slow.test", "443", AF_UNSPEC, AI_CANONNAME},
    {"search domain", "searched", NULL, AF_INET, 0},
    {"unknown name (NXDOMAIN)", "missing.slow.test", NULL, AF_UNSPEC, 0},
    {"name outside the zone", "nosuch.invalid", NULL, AF_INET, 0},
};
#define NCASES (sizeof gai_cases / sizeof gai_cases[0])

typedef struct result {
    char text[1024];
} result;

static void add(result *r, const char *fmt, const char *s)
{
    size_t o = strlen(r->text);
    snprintf(r->text + o, sizeof r->text - o, fmt, s);
}

static void describe_gai(const gai_case *c, result *out)
{
    struct addrinfo hints = {.ai_family = c->family, .ai_flags = c->flags}, *res = NULL;
    int rc = getaddrinfo(c->node, c->service, &hints, &res);
    snprintf(out->text, sizeof out->text, "rc=%s", rc ? gai_strerror(rc) : "0");
    for (struct addrinfo *a = res; a; a = a->ai_next) {
        char ip[INET6_ADDRSTRLEN] = "", buf[128];
        unsigned port = 0;
        if (a->ai_family == AF_INET) {
            inet_ntop(AF_INET, &((struct sockaddr_in *)a->ai_addr)->sin_addr, ip, sizeof ip);
            port = ntohs(((struct sockaddr_in *)a->ai_addr)->sin_port);
        } else if (a->ai_family == AF_INET6) {
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)a->ai_addr)->sin6_addr, ip, sizeof ip);
            port = ntohs(((struct sockaddr_in6 *)a->ai_addr)->sin6_port);
        }
        snprintf(buf, sizeof buf, " [%d/%d/%d %s:%u%s%s]", a->ai_family, a->ai_socktype, a->ai_protocol, ip, port,
                 a->ai_canonname ? " canon=" : "", a->ai_canonname ? a->ai_canonname : "");
        add(out, "%s", buf);
    }
    if (res) freeaddrinfo(res);
}

static void describe_hostent(const struct hostent *h, int herr, result *out)
{
    if (!h) {
        snprintf(out->text, sizeof out->text, "NULL h_errno=%d", herr);
        return;
    }
    snprintf(out->text, sizeof out->text, "name=%s type=%d", h->h_name, h->h_addrtype);
    for (char **a = h->h_aliases; a && *a; a++) add(out, " alias=%s", *a);
    for (char **a = h->h_addr_list; a && *a; a++) {
        char ip[INET6_ADDRSTRLEN];
        inet_ntop(h->h_addrtype, *a, ip, sizeof ip);
        add(out, " addr=%s", ip);
    }
}

typedef struct other_case {
    const char *label;
    void (*run)(result *out);
} other_case;

static void gni_ptr(result *out)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(80)};
    inet_pton(AF_INET, "10.53.0.1", &sa.sin_addr);
    char host[256] = "", serv[64] = "";
    int rc = getnameinfo((struct sockaddr *)&sa, sizeof sa, host, sizeof host, serv, sizeof serv, 0);
    snprintf(out->text, sizeof out->text, "rc=%d host=%s serv=%s", rc, host, serv);
}
static void gni_numeric(result *out)
{
    struct sockaddr_in6 sa = {.sin6_family = AF_INET6, .sin6_port = htons(443)};
    inet_pton(AF_INET6, "::1", &sa.sin6_addr);
    char host[256] = "", serv[64] = "";
    int rc = getnameinfo((struct sockaddr *)&sa, sizeof sa, host, sizeof host, serv, sizeof serv,
                         NI_NUMERICHOST | NI_NUMERICSERV);
    snprintf(out->text, sizeof out->text, "rc=%d host=%s serv=%s", rc, host, serv);
}
static void ghbn_file(result *out)
{
    struct hostent *h = gethostbyname("filealias");
    describe_hostent(h, h_errno, out);
}
static void ghbn_dns(result *out)
{
    struct hostent *h = gethostbyname("searched");
    describe_hostent(h, h_errno, out);
}
static void ghbn_missing(result *out)
{
    struct hostent *h = gethostbyname("missing.slow.test");
    describe_hostent(h, h_errno, out);
}
static void ghbn2_v6(result *out)
{
    struct hostent *h = gethostbyname2("localhost", AF_INET6);
    describe_hostent(h, h_errno, out);
}
static void ghbn_r(result *out)
{
    struct hostent he, *res = NULL;
    char buf[2048];
    int herr = 0;
    int rc = gethostbyname_r("dnshost.slow.test", &he, buf, sizeof buf, &res, &herr);
    describe_hostent(res, herr, out);
    add(out, " rc=%s", rc ? "error" : "0");
}
static void ghbn_r_small(result *out)
{
    struct hostent he, *res = NULL;
    char buf[8];
    int herr = 0;
    int rc = gethostbyname_r("filehost.slow.test", &he, buf, sizeof buf, &res, &herr);
    snprintf(out->text, sizeof out->text, "rc=%d res=%s", rc, res ? "set" : "NULL");
}
static void ghbn2_r(result *out)
{
    struct hostent he, *res = NULL;
    char buf[2048];
    int herr = 0;
    gethostbyname2_r("missing.slow.test", AF_INET, &he, buf, sizeof buf, &res, &herr);
    describe_hostent(res, herr, out);
}
static void ghba(result *out)
{
    struct in_addr a;
    inet_pton(AF_INET, "10.53.0.1", &a);
    struct hostent *h = gethostbyaddr(&a, sizeof a, AF_INET);
    describe_hostent(h, h_errno, out);
}
static void ghba_r(result *out)
{
    struct in_addr a;
    inet_pton(AF_INET, "192.0.2.7", &a);
    struct hostent he, *res = NULL;
    char buf[2048];
    int herr = 0;
    gethostbyaddr_r(&a, sizeof a, AF_INET, &he, buf, sizeof buf, &res, &herr);
    describe_hostent(res, herr, out);
}
static void describe_res(int n, const unsigned char *ans, result *out)
{
    snprintf(out->text, sizeof out->text, "len=%d h_errno=%d", n, n < 0 ? h_errno : 0);
    for (int i = 2; i < n && i < 200; i++) { /* bytes 0-1 are the query id: random */
        char b[4];
        snprintf(b, sizeof b, "%02x", ans[i]);
        add(out, "%s", b);
    }
}
static void rq(result *out)
{
    unsigned char ans[512];
    describe_res(res_query("dnshost.slow.test", ns_c_in, ns_t_a, ans, sizeof ans), ans, out);
}
static void rq_missing(result *out)
{
    unsigned char ans[512];
    describe_res(res_query("missing.slow.test", ns_c_in, ns_t_a, ans, sizeof ans), ans, out);
}
static void rs(result *out)
{
    unsigned char ans[512];
    describe_res(res_search("searched", ns_c_in, ns_t_a, ans, sizeof ans), ans, out);
}

static const other_case other_cases[] = {
    {"getnameinfo PTR", gni_ptr},
    {"getnameinfo numeric", gni_numeric},
    {"gethostbyname hosts-file alias", ghbn_file},
    {"gethostbyname search domain", ghbn_dns},
    {"gethostbyname unknown", ghbn_missing},
    {"gethostbyname2 AF_INET6", ghbn2_v6},
    {"gethostbyname_r", ghbn_r},
    {"gethostbyname_r buffer too small", ghbn_r_small},
    {"gethostbyname2_r unknown", ghbn2_r},
    {"gethostbyaddr PTR", ghba},
    {"gethostbyaddr_r hosts file", ghba_r},
    {"res_query", rq},
    {"res_query unknown", rq_missing},
    {"res_search search domain", rs},
};
#define NOTHER (sizeof other_cases / sizeof other_cases[0])

static result in_co[NCASES + NOTHER];

static void *matrix_co(void *arg)
{
    (void)arg;
    for (size_t i = 0; i < NCASES; i++) describe_gai(&gai_cases[i], &in_co[i]);
    for (size_t i = 0; i < NOTHER; i++) other_cases[i].run(&in_co[NCASES + i]);
    return NULL;
}

static int matrix(void)
{
    result plain[NCASES + NOTHER];
    for (size_t i = 0; i < NCASES; i++) describe_gai(&gai_cases[i], &plain[i]);
    for (size_t i = 0; i < NOTHER; i++) other_cases[i].run(&plain[NCASES + i]);
    run_in_co(matrix_co, NULL);
    int diffs = 0;
    for (size_t i = 0; i < NCASES + NOTHER; i++) {
        const char *label = i < NCASES ? gai_cases[i].label : other_cases[i - NCASES].label;
        if (strcmp(plain[i].text, in_co[i].text)) {
            printf("DIFF %s: plain {%s} coroutine {%s}\n", label, plain[i].text, in_co[i].text);
            diffs++;
        } else {
            printf("same %s: %s\n", label, plain[i].text);
        }
    }
    return diffs ? 1 : 0;
}

/* ---- static storage ---- */

static void *static_co(void *arg)
{
    const char *name = arg;
    struct hostent *h = gethostbyname(name);
    usleep(300000); /* the other coroutine's lookup finishes meanwhile */
    char ip[INET_ADDRSTRLEN] = "NULL";
    if (h) inet_ntop(AF_INET, h->h_addr_list[0], ip, sizeof ip);
    printf("%s %s %s\n", name, h ? h->h_name : "NULL", ip);
    return NULL;
}

static void *warm_co(void *arg)
{
    (void)arg;
    return gethostbyname("localhost") ? NULL : (void *)1;
}

static int static_storage(void)
{
    coroscope_co *a, *b;
    if (run_in_co(warm_co, NULL)) /* the storage exists before the two lookups */
        return 2;
    if (coroscope_spawn(&a, "first", static_co, "first.slow.test")) return 2;
    usleep(100000);
    if (coroscope_spawn(&b, "second", static_co, "second.slow.test")) return 2;
    coroscope_join(a, NULL);
    coroscope_join(b, NULL);
    return 0;
}

/* ---- exit while a lookup is in flight ---- */

static void *exit_lookup(void *arg)
{
    (void)arg;
    struct addrinfo *res;
    getaddrinfo("never-answered-in-time.slow.test", NULL, NULL, &res);
    return NULL;
}

static int exit_in_flight(void)
{
    coroscope_co *co;
    if (coroscope_spawn(&co, "slow lookup", exit_lookup, NULL)) return 2;
    usleep(300000);
    printf("exiting\n");
    fflush(stdout);
    exit(0);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc >= 3 && !strcmp(argv[1], "concurrent")) return concurrent(atoi(argv[2]));
    if (argc >= 2 && !strcmp(argv[1], "matrix")) return matrix();
    if (argc >= 2 && !strcmp(argv[1], "static")) return static_storage();
    if (argc >= 2 && !strcmp(argv[1], "exit")) return exit_in_flight();
    fprintf(stderr, "usage: dns_lookups concurrent N | matrix | static | exit\n");
    return 2;
}
