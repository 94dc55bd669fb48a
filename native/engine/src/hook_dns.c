/*
 * hook_dns.c — getaddrinfo, getnameinfo, gethostbyname, gethostbyname2,
 * gethostbyname_r, gethostbyname2_r, gethostbyaddr, gethostbyaddr_r,
 * res_query, res_search (and __res_query, __res_search).
 *
 * Why: glibc's resolver makes its socket calls internally (__poll,
 * __sendmmsg, recvfrom without the PLT), so the I/O hooks never see a
 * lookup and a slow DNS server stalls the worker.
 *
 * Inside a coroutine the lookup runs on the offload pool (offload.h) —
 * glibc's own function, so the answers are glibc's: nsswitch order,
 * /etc/hosts, search domains, its caches — and the coroutine parks.
 * Outside coroutines the call runs inline, as before. Either way it is
 * observed as a call (CALL: result and duration) followed by a CALL_ADDR
 * with the name looked up (inside a coroutine also after its CALL_ENTER,
 * so a live view shows what a parked coroutine is resolving).
 *
 * Thread-local state crosses the pool by value: the pool thread's errno
 * and h_errno are copied back to the coroutine's thread. The non-reentrant
 * gethostbyname, gethostbyname2 and gethostbyaddr return static storage:
 * inside a coroutine they run the _r variant into storage owned by the
 * coroutine object (co->dns_static, kept with the type-stable object and
 * reused), so a coroutine's result stays valid until its own next call of
 * the three, whatever the other coroutines resolve meanwhile (on threads
 * glibc's one static buffer is shared by the whole process).
 * res_query/res_search use the resolver state (_res) of the pool thread:
 * initialised from /etc/resolv.conf like any thread's; options a program
 * set in its own thread's _res are not seen by a lookup made in a coroutine
 * (README, limits).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <resolv.h>
#include <stdlib.h>
#include <string.h>

#include "emit_call.h"
#include "hook.h"
#include "offload.h"
#include "telemetry.h"

#undef res_query
#undef res_search

/* A lookup in progress: what the observer needs around it. */
typedef struct dns_call {
    cs_co *co;
    int hook;
    const char *name;
    uint64_t t0;                 /* plain threads: entry time (observer on), 0 otherwise */
    char addr[INET6_ADDRSTRLEN]; /* the address looked up by gethostbyaddr*, as text */
} dns_call;

static void dns_begin(dns_call *d, cs_co *co, int hook, const char *name)
{
    d->co = co;
    d->hook = hook;
    d->name = name;
    d->t0 = 0;
    if (co) {
        co->cur_hook = hook;
        co->call_pc = (uintptr_t)cs_tls.call_pc;
        co->call_fd = -1;
        if (cs_tel()) {
            cs_emit_call_enter(co, 0);
            cs_emit_call_text(name);
        }
    } else if (atomic_load_explicit(&cs_observer, memory_order_relaxed)) {
        d->t0 = cs_now_ns();
    }
}

/* Report the finished lookup; errno is left as the call set it. */
static void dns_end(dns_call *d, int parked, long ret, int err)
{
    int saved = errno;
    if (d->co) {
        cs_observe(d->hook, -1, 1, parked, ret, err);
    } else {
        cs_observer_fn f = atomic_load_explicit(&cs_observer, memory_order_relaxed);
        if (f && d->t0) {
            uint64_t t1 = cs_now_ns();
            cs_call c = {d->hook, -1, 0, 0, ret, err, t1 - d->t0, 0, 0, t1};
            cs_tls.call_arg = 0;
            f(&c);
        }
    }
    cs_emit_call_text(d->name);
    errno = saved;
}

/* ---- getaddrinfo / getnameinfo ---------------------------------------------------------------- */

typedef struct gai_job {
    cs_offload_req req;
    const char *node, *service;
    const struct addrinfo *hints;
    struct addrinfo **res;
} gai_job;

static void gai_run(cs_offload_req *r)
{
    gai_job *j = (gai_job *)r;
    errno = 0;
    r->ret = cs_real.getaddrinfo(j->node, j->service, j->hints, j->res);
    r->err = errno;
}

static CS_SLOW int getaddrinfo_hooked(const char *node, const char *service, const struct addrinfo *hints,
                                      struct addrinfo **res)
{
    cs_co *co = cs_hook_co();
    dns_call d;
    dns_begin(&d, co, CS_HOOK_getaddrinfo, node ? node : service);
    gai_job j = {.req = {.fn = gai_run}, .node = node, .service = service, .hints = hints, .res = res};
    int parked;
    int r = (int)cs_offload_run(co, &j.req, &parked);
    errno = j.req.err;
    dns_end(&d, parked, r, r == EAI_SYSTEM ? j.req.err : 0);
    return r;
}

CS_EXPORT int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints, struct addrinfo **res)
{
    CS_FAST_PASS(getaddrinfo, (node, service, hints, res));
    return getaddrinfo_hooked(node, service, hints, res);
}

typedef struct gni_job {
    cs_offload_req req;
    const struct sockaddr *sa;
    socklen_t salen;
    char *host, *serv;
    socklen_t hostlen, servlen;
    int flags;
} gni_job;

static void gni_run(cs_offload_req *r)
{
    gni_job *j = (gni_job *)r;
    errno = 0;
    r->ret = cs_real.getnameinfo(j->sa, j->salen, j->host, j->hostlen, j->serv, j->servlen, j->flags);
    r->err = errno;
}

static CS_SLOW int getnameinfo_hooked(const struct sockaddr *sa, socklen_t salen, char *host, socklen_t hostlen,
                                      char *serv, socklen_t servlen, int flags)
{
    cs_co *co = cs_hook_co();
    char text[128];
    if (!cs_format_sockaddr(sa, salen, text, sizeof text)) text[0] = '\0';
    dns_call d;
    dns_begin(&d, co, CS_HOOK_getnameinfo, text[0] ? text : NULL);
    gni_job j = {.req = {.fn = gni_run},
                 .sa = sa,
                 .salen = salen,
                 .host = host,
                 .serv = serv,
                 .hostlen = hostlen,
                 .servlen = servlen,
                 .flags = flags};
    int parked;
    int r = (int)cs_offload_run(co, &j.req, &parked);
    errno = j.req.err;
    dns_end(&d, parked, r, r == EAI_SYSTEM ? j.req.err : 0);
    return r;
}

CS_EXPORT int getnameinfo(const struct sockaddr *sa, socklen_t salen, char *host, socklen_t hostlen, char *serv,
                          socklen_t servlen, int flags)
{
    CS_FAST_PASS(getnameinfo, (sa, salen, host, hostlen, serv, servlen, flags));
    return getnameinfo_hooked(sa, salen, host, hostlen, serv, servlen, flags);
}

/* ---- the gethostby* family ---------------------------------------------------------------------- */

enum { BY_NAME, BY_NAME2, BY_ADDR };

typedef struct hostent_job {
    cs_offload_req req;
    int how; /* BY_* */
    const char *name;
    int af;
    const void *addr;
    socklen_t len;
    struct hostent *he; /* _r forms: the caller's; static forms: in `st` */
    char *buf;
    size_t buflen;
    struct hostent **result;
    int herr;
    /* static forms: grow the coroutine's storage on ERANGE */
    int grow;
    struct hostent_static *st;
} hostent_job;

/* Storage behind a coroutine's gethostbyname/gethostbyname2/gethostbyaddr. */
typedef struct hostent_static {
    struct hostent he;
    size_t cap;
    char buf[];
} hostent_static;

static int hostent_call(hostent_job *j)
{
    switch (j->how) {
    case BY_NAME: return cs_real.gethostbyname_r(j->name, j->he, j->buf, j->buflen, j->result, &j->herr);
    case BY_NAME2: return cs_real.gethostbyname2_r(j->name, j->af, j->he, j->buf, j->buflen, j->result, &j->herr);
    default: return cs_real.gethostbyaddr_r(j->addr, j->len, j->af, j->he, j->buf, j->buflen, j->result, &j->herr);
    }
}

static void hostent_run(cs_offload_req *r)
{
    hostent_job *j = (hostent_job *)r;
    int e;
    for (;;) {
        errno = 0;
        e = hostent_call(j);
        if (!(j->grow && e == ERANGE)) break;
        size_t cap = j->st ? j->st->cap * 2 : 1024;
        hostent_static *st = realloc(j->st, sizeof *st + cap);
        if (!st) {
            e = ENOMEM;
            j->herr = NETDB_INTERNAL;
            break;
        }
        st->cap = cap;
        j->st = st;
        j->he = &st->he;
        j->buf = st->buf;
        j->buflen = cap;
    }
    r->ret = e;
    r->err = e ? e : errno;
}

/* dns_begin for a gethostby* job: named by its host name, or by its
 * address as text (kept in d) for the by-address forms. */
static void hostent_begin(dns_call *d, cs_co *co, int hook, const hostent_job *j)
{
    d->addr[0] = '\0';
    if (j->how == BY_ADDR && j->addr) inet_ntop(j->af, j->addr, d->addr, sizeof d->addr);
    dns_begin(d, co, hook, j->how == BY_ADDR ? (d->addr[0] ? d->addr : NULL) : j->name);
}

/* The _r forms: the caller's buffers, inline or on the pool. */
static int hostent_r(cs_co *co, int hook, hostent_job *j)
{
    dns_call d;
    hostent_begin(&d, co, hook, j);
    j->req.fn = hostent_run;
    int parked;
    int r = (int)cs_offload_run(co, &j->req, &parked);
    h_errno = j->herr;
    errno = j->req.err;
    dns_end(&d, parked, r == 0 && *j->result ? 0 : r ? -1 : j->herr, r);
    return r;
}

/* The static forms in a coroutine: the _r form into co->dns_static. */
static struct hostent *hostent_static_call(cs_co *co, int hook, hostent_job *j)
{
    struct hostent *result = NULL;
    j->st = co->dns_static;
    j->grow = 1;
    j->result = &result;
    if (!j->st) {
        j->st = malloc(sizeof(hostent_static) + 1024);
        if (!j->st) {
            h_errno = NETDB_INTERNAL;
            errno = ENOMEM;
            return NULL;
        }
        j->st->cap = 1024;
    }
    j->he = &j->st->he;
    j->buf = j->st->buf;
    j->buflen = j->st->cap;
    dns_call d;
    hostent_begin(&d, co, hook, j);
    j->req.fn = hostent_run;
    int parked;
    int r = (int)cs_offload_run(co, &j->req, &parked);
    co->dns_static = j->st; /* perhaps grown */
    if (r) result = NULL;
    h_errno = j->herr;
    errno = j->req.err;
    dns_end(&d, parked, result ? 0 : j->herr, 0);
    return result;
}

/* Outside coroutines: the static form itself, observed. */
static struct hostent *hostent_plain(int hook, hostent_job *j)
{
    dns_call d;
    hostent_begin(&d, NULL, hook, j);
    struct hostent *h = j->how == BY_NAME    ? cs_real.gethostbyname(j->name)
                        : j->how == BY_NAME2 ? cs_real.gethostbyname2(j->name, j->af)
                                             : cs_real.gethostbyaddr(j->addr, j->len, j->af);
    dns_end(&d, 0, h ? 0 : h_errno, 0);
    return h;
}

static CS_SLOW struct hostent *gethostbyname_hooked(const char *name)
{
    cs_co *co = cs_hook_co();
    hostent_job j = {.how = BY_NAME, .name = name, .af = AF_INET};
    return co ? hostent_static_call(co, CS_HOOK_gethostbyname, &j) : hostent_plain(CS_HOOK_gethostbyname, &j);
}

CS_EXPORT struct hostent *gethostbyname(const char *name)
{
    CS_FAST_PASS(gethostbyname, (name));
    return gethostbyname_hooked(name);
}

static CS_SLOW struct hostent *gethostbyname2_hooked(const char *name, int af)
{
    cs_co *co = cs_hook_co();
    hostent_job j = {.how = BY_NAME2, .name = name, .af = af};
    return co ? hostent_static_call(co, CS_HOOK_gethostbyname2, &j) : hostent_plain(CS_HOOK_gethostbyname2, &j);
}

CS_EXPORT struct hostent *gethostbyname2(const char *name, int af)
{
    CS_FAST_PASS(gethostbyname2, (name, af));
    return gethostbyname2_hooked(name, af);
}

static CS_SLOW struct hostent *gethostbyaddr_hooked(const void *addr, socklen_t len, int type)
{
    cs_co *co = cs_hook_co();
    hostent_job j = {.how = BY_ADDR, .addr = addr, .len = len, .af = type};
    return co ? hostent_static_call(co, CS_HOOK_gethostbyaddr, &j) : hostent_plain(CS_HOOK_gethostbyaddr, &j);
}

CS_EXPORT struct hostent *gethostbyaddr(const void *addr, socklen_t len, int type)
{
    CS_FAST_PASS(gethostbyaddr, (addr, len, type));
    return gethostbyaddr_hooked(addr, len, type);
}

static CS_SLOW int gethostbyname_r_hooked(const char *name, struct hostent *ret, char *buf, size_t buflen,
                                          struct hostent **result, int *h_errnop)
{
    cs_co *co = cs_hook_co();
    hostent_job j = {.how = BY_NAME, .name = name, .he = ret, .buf = buf, .buflen = buflen, .result = result};
    int r = hostent_r(co, CS_HOOK_gethostbyname_r, &j);
    if (h_errnop) *h_errnop = j.herr;
    return r;
}

CS_EXPORT int gethostbyname_r(const char *name, struct hostent *ret, char *buf, size_t buflen, struct hostent **result,
                              int *h_errnop)
{
    CS_FAST_PASS(gethostbyname_r, (name, ret, buf, buflen, result, h_errnop));
    return gethostbyname_r_hooked(name, ret, buf, buflen, result, h_errnop);
}

static CS_SLOW int gethostbyname2_r_hooked(const char *name, int af, struct hostent *ret, char *buf, size_t buflen,
                                           struct hostent **result, int *h_errnop)
{
    cs_co *co = cs_hook_co();
    hostent_job j = {
        .how = BY_NAME2, .name = name, .af = af, .he = ret, .buf = buf, .buflen = buflen, .result = result};
    int r = hostent_r(co, CS_HOOK_gethostbyname2_r, &j);
    if (h_errnop) *h_errnop = j.herr;
    return r;
}

CS_EXPORT int gethostbyname2_r(const char *name, int af, struct hostent *ret, char *buf, size_t buflen,
                               struct hostent **result, int *h_errnop)
{
    CS_FAST_PASS(gethostbyname2_r, (name, af, ret, buf, buflen, result, h_errnop));
    return gethostbyname2_r_hooked(name, af, ret, buf, buflen, result, h_errnop);
}

static CS_SLOW int gethostbyaddr_r_hooked(const void *addr, socklen_t len, int type, struct hostent *ret, char *buf,
                                          size_t buflen, struct hostent **result, int *h_errnop)
{
    cs_co *co = cs_hook_co();
    hostent_job j = {.how = BY_ADDR,
                     .addr = addr,
                     .len = len,
                     .af = type,
                     .he = ret,
                     .buf = buf,
                     .buflen = buflen,
                     .result = result};
    int r = hostent_r(co, CS_HOOK_gethostbyaddr_r, &j);
    if (h_errnop) *h_errnop = j.herr;
    return r;
}

CS_EXPORT int gethostbyaddr_r(const void *addr, socklen_t len, int type, struct hostent *ret, char *buf, size_t buflen,
                              struct hostent **result, int *h_errnop)
{
    CS_FAST_PASS(gethostbyaddr_r, (addr, len, type, ret, buf, buflen, result, h_errnop));
    return gethostbyaddr_r_hooked(addr, len, type, ret, buf, buflen, result, h_errnop);
}

/* ---- res_query / res_search --------------------------------------------------------------------- */

typedef struct res_job {
    cs_offload_req req;
    int (*call)(const char *, int, int, unsigned char *, int);
    const char *dname;
    int class, type;
    unsigned char *answer;
    int anslen;
    int herr;
} res_job;

static void res_run(cs_offload_req *r)
{
    res_job *j = (res_job *)r;
    errno = 0;
    r->ret = j->call(j->dname, j->class, j->type, j->answer, j->anslen);
    r->err = errno;
    j->herr = h_errno;
}

static int res_hooked(int hook, int (*call)(const char *, int, int, unsigned char *, int), const char *dname, int class,
                      int type, unsigned char *answer, int anslen)
{
    cs_co *co = cs_hook_co();
    dns_call d;
    dns_begin(&d, co, hook, dname);
    res_job j = {.req = {.fn = res_run},
                 .call = call,
                 .dname = dname,
                 .class = class,
                 .type = type,
                 .answer = answer,
                 .anslen = anslen};
    int parked;
    int r = (int)cs_offload_run(co, &j.req, &parked);
    h_errno = j.herr;
    errno = j.req.err;
    dns_end(&d, parked, r, r < 0 ? j.req.err : 0);
    return r;
}

#define RES_HOOK(name)                                                                                          \
    static CS_SLOW int name##_hooked(const char *dname, int class, int type, unsigned char *answer, int anslen) \
    {                                                                                                           \
        return res_hooked(CS_HOOK_##name, cs_real.name, dname, class, type, answer, anslen);                    \
    }                                                                                                           \
    CS_EXPORT int name(const char *dname, int class, int type, unsigned char *answer, int anslen)               \
    {                                                                                                           \
        CS_FAST_PASS(name, (dname, class, type, answer, anslen));                                               \
        return name##_hooked(dname, class, type, answer, anslen);                                               \
    }
RES_HOOK(res_query)
RES_HOOK(res_search)
RES_HOOK(__res_query)
RES_HOOK(__res_search)
