/* OpenSSL's per-thread error queue under preemption, on one worker.
 *
 * Loader coroutines call X509_STORE_load_file on a PEM bundle in a loop
 * (OpenSSL marks and pops its thread-local error queue around every PEM
 * read); a hog coroutine computes in this program's own code until the
 * loaders are done. With a 1 ms slice the monitor signals the worker all the
 * time. A preemption in the middle of libcrypto would let another loader on
 * the same OS thread push and pop errors in the middle of the first one's
 * read, and a load would fail ("PEM lib").
 *
 *   openssl_preempt DIR CALLS LOADERS [digest]
 * prints "failures N", "hog_preempted N", "foreign_preempted N" (preemptions
 * whose interrupted pc was outside this executable: must be 0 unless a
 * library was declared preemptible).
 *
 * With "digest" the loaders compute SHA-256 digests of 64 KiB instead: pure
 * computation in libcrypto that keeps no per-thread state, so it may be
 * preempted safely once COROSCOPE_PREEMPT_MODULES declares libcrypto (the
 * X509 loads would then corrupt the error queue, which is the point of
 * not preempting libraries by default). */
#include <coroscope.h>
#define _GNU_SOURCE
#include <dlfcn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The engine's test hook for preemption events (preempt.h: cs_preempt_event). */
typedef struct {
    int kind, worker;
    uint64_t co_id, ran_ns, latency_ns;
    int reason;
    uintptr_t pc;
    int at_safe_point;
} preempt_event;
enum { PREEMPT_DONE = 2 };

static const char *bundle;
static long calls_each;
static _Atomic long failures, loaders_left;
static _Atomic long hog_preempted, foreign_preempted;
static _Atomic uint64_t hog_id;
static char first_error[256];
static uintptr_t exe_lo, exe_hi;

static void on_preempt(const preempt_event *ev)
{
    if (ev->kind != PREEMPT_DONE || !ev->at_safe_point) return;
    if (ev->pc < exe_lo || ev->pc >= exe_hi)
        atomic_fetch_add(&foreign_preempted, 1);
    else if (ev->co_id == atomic_load(&hog_id))
        atomic_fetch_add(&hog_preempted, 1);
}

static void *loader(void *arg)
{
    (void)arg;
    X509_STORE *st = X509_STORE_new();
    for (long i = 0; i < calls_each; i++) {
        if (X509_STORE_load_file(st, bundle) != 1) {
            if (atomic_fetch_add(&failures, 1) == 0)
                ERR_error_string_n(ERR_peek_last_error(), first_error, sizeof first_error);
        }
        ERR_clear_error();
        if (i % 16 == 15) coroscope_yield();
    }
    X509_STORE_free(st);
    atomic_fetch_sub(&loaders_left, 1);
    return NULL;
}

static void *digester(void *arg)
{
    (void)arg;
    static const unsigned char block[64 << 10];
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len;
    for (long i = 0; i < calls_each; i++) {
        if (EVP_Digest(block, sizeof block, md, &len, EVP_sha256(), NULL) != 1) atomic_fetch_add(&failures, 1);
        if (i % 256 == 255) /* several slices' worth of digests between yields */
            coroscope_yield();
    }
    atomic_fetch_sub(&loaders_left, 1);
    return NULL;
}

static void *hog(void *arg)
{
    (void)arg;
    atomic_store(&hog_id, coroscope_id());
    volatile uint64_t x = 1;
    while (atomic_load_explicit(&loaders_left, memory_order_relaxed) > 0)
        for (int i = 0; i < 1000; i++) x = x * 6364136223846793005ull + 1442695040888963407ull;
    return NULL;
}

static int write_bundle(const char *path)
{
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    FILE *f = fopen(path, "w");
    if (!key || !f) return -1;
    for (int n = 0; n < 2; n++) {
        X509 *c = X509_new();
        ASN1_INTEGER_set(X509_get_serialNumber(c), n + 1);
        X509_gmtime_adj(X509_getm_notBefore(c), 0);
        X509_gmtime_adj(X509_getm_notAfter(c), 86400);
        X509_set_pubkey(c, key);
        X509_NAME *name = X509_get_subject_name(c);
        char cn[32];
        snprintf(cn, sizeof cn, "coroscope test %d", n);
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (unsigned char *)cn, -1, -1, 0);
        X509_set_issuer_name(c, name);
        if (!X509_sign(c, key, EVP_sha256()) || !PEM_write_X509(f, c)) return -1;
        X509_free(c);
    }
    EVP_PKEY_free(key);
    return fclose(f);
}

int main(int argc, char **argv)
{
    if (argc != 4 && !(argc == 5 && !strcmp(argv[4], "digest"))) return 2;
    void *(*work)(void *) = argc == 5 ? digester : loader;
    static char path[4096];
    snprintf(path, sizeof path, "%s/bundle.pem", argv[1]);
    bundle = path;
    if (write_bundle(path)) {
        fprintf(stderr, "cannot write %s\n", path);
        return 2;
    }
    long calls = atol(argv[2]);
    int loaders = atoi(argv[3]);
    calls_each = calls / loaders;
    atomic_store(&loaders_left, loaders);

    extern char __executable_start[], etext[];
    exe_lo = (uintptr_t)__executable_start;
    exe_hi = (uintptr_t)etext;
    void (*set_observer)(void (*)(const preempt_event *)) =
        (void (*)(void (*)(const preempt_event *)))dlsym(RTLD_DEFAULT, "coroscope__set_preempt_observer");
    if (!set_observer) {
        fprintf(stderr, "no preemption observer in this engine\n");
        return 2;
    }
    set_observer(on_preempt);

    coroscope_config c;
    coroscope_config_get(&c);
    c.workers = 1;
    coroscope_configure(&c);
    coroscope_co *cos[65], *h;
    if (loaders > 64 || coroscope_spawn(&h, "hog", hog, NULL)) return 2;
    for (int i = 0; i < loaders; i++)
        if (coroscope_spawn(&cos[i], "loader", work, NULL)) return 2;
    for (int i = 0; i < loaders; i++) coroscope_join(cos[i], NULL);
    coroscope_join(h, NULL);
    printf("failures %ld\nhog_preempted %ld\nforeign_preempted %ld\n", atomic_load(&failures),
           atomic_load(&hog_preempted), atomic_load(&foreign_preempted));
    if (failures) printf("first_error %s\n", first_error);
    return 0;
}
