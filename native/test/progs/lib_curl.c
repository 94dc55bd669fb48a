/* libcurl over TLS inside coroutines (lib_co.h): N coroutines on one worker
 * each GET an HTTPS URL whose server answers after a delay, verifying the
 * server against the given CA file; the requests overlap, and the body must
 * be what the server sent.
 *
 *   lib_curl URL CAFILE N */
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "lib_co.h"

static const char *url;
static const char *cafile;

typedef struct body {
    char buf[256];
    size_t n;
} body;

static size_t take(char *p, size_t size, size_t n, void *ctx)
{
    body *b = ctx;
    size_t len = size * n;
    size_t room = sizeof b->buf - 1 - b->n;
    memcpy(b->buf + b->n, p, len < room ? len : room);
    b->n += len < room ? len : room;
    b->buf[b->n] = '\0';
    return len;
}

static void *get(void *arg)
{
    (void)arg;
    CURL *h = curl_easy_init();
    if (!h) return NULL;
    body b = {.n = 0};
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CAINFO, cafile);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, take);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L);
    CURLcode rc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(h);
    int ok = rc == CURLE_OK && status == 200 && strcmp(b.buf, "slow hello\n") == 0;
    if (!ok) fprintf(stderr, "GET: %s (status %ld, body %s)\n", curl_easy_strerror(rc), status, b.buf);
    return ok ? (void *)1 : NULL;
}

int main(int argc, char **argv)
{
    if (argc != 4) return 2;
    url = argv[1];
    cafile = argv[2];
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int r = lib_co_run("curl", atoi(argv[3]), get);
    curl_global_cleanup();
    return r;
}
