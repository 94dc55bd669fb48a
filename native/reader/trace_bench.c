/*
 * trace_bench.c — trace-bench: how compact and how fast format 2 is on a
 * real trace.
 *
 *     trace-bench FILE [LEVEL[,LEVEL...] [CHUNK_RECORDS[,...]]]
 *
 * Reads every record of FILE (format 1 or 2) into memory, then for each
 * zstd level and chunk size encodes them all as format-2 chunks on this one
 * thread (the recorder's work), decodes them back, checks the round trip bit
 * for bit, and prints one line: bytes per event (chunks + file header +
 * index + footer), encode and decode speed in events/s. The first line
 * describes FILE itself (its size per record as stored).
 * Exit status: 0, 1 (cannot read FILE, or a round trip differed), 2 usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wire/reader.h"
#include "wire/trace_v2.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int parse_list(const char *s, int *out, int max)
{
    int n = 0;
    while (s && *s && n < max) {
        out[n++] = atoi(s);
        s = strchr(s, ',');
        if (s) s++;
    }
    return n;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 4) {
        fprintf(stderr, "usage: trace-bench FILE [LEVEL[,LEVEL...] [CHUNK_RECORDS[,...]]]\n");
        return 2;
    }
    int levels[16], chunks[16];
    int nlev = parse_list(argc > 2 ? argv[2] : "1,3", levels, 16);
    int nch = parse_list(argc > 3 ? argv[3] : "16384", chunks, 16);
    cs_reader *r;
    cs_trace_err err;
    if (cs_reader_open_path(&r, argv[1], 0, &err)) {
        fprintf(stderr, "trace-bench: %s\n", err.msg);
        return 1;
    }
    size_t n = 0, cap = 1 << 20;
    coroscope_event *ev = malloc(cap * sizeof *ev);
    coroscope_event e;
    while (ev && cs_reader_next(r, &e) == 1) {
        if (n == cap) ev = realloc(ev, (cap *= 2) * sizeof *ev);
        if (ev) ev[n++] = e;
    }
    const cs_trace_info *info = cs_reader_info(r);
    printf("%s: format %u.%u, %zu records, %llu bytes: %.3f bytes/event as stored%s\n", argv[1], info->version_major,
           info->version_minor, n, (unsigned long long)info->file_size, n ? (double)info->file_size / (double)n : 0.0,
           cs_reader_status(r)->code ? " (read stopped early)" : "");
    cs_reader_close(r);
    if (!ev || !n) return !ev;
    coroscope_event *back = malloc(CS_CHUNK_MAX_RECORDS * sizeof *back);
    int rc = 0;
    for (int c = 0; c < nch; c++) {
        uint32_t cr = chunks[c] > 0 && chunks[c] <= (int)CS_CHUNK_MAX_RECORDS ? (uint32_t)chunks[c] : 16384;
        for (int l = 0; l < nlev; l++) {
            cs_v2_encoder *enc;
            cs_v2_decoder *dec;
            if (cs_v2_encoder_new(&enc, levels[l]) || cs_v2_decoder_new(&dec)) return 1;
            /* encode everything once, keeping the chunks, timed alone */
            size_t total = 64 + 8 + 32, nchunks = (n + cr - 1) / cr, outcap = 0;
            char **out = calloc(nchunks, sizeof *out);
            size_t *outlen = calloc(nchunks, sizeof *outlen);
            char why[200];
            double t0 = now_s();
            for (size_t i = 0, k = 0; i < n; i += cr, k++) {
                uint32_t m = n - i < cr ? (uint32_t)(n - i) : cr;
                const void *p;
                size_t len;
                if (cs_v2_encode_chunk(enc, ev + i, m, &p, &len, why, sizeof why)) {
                    fprintf(stderr, "trace-bench: %s\n", why);
                    return 1;
                }
                out[k] = malloc(len);
                memcpy(out[k], p, len);
                outlen[k] = len;
                total += len + sizeof(cs_v2_index_entry);
                outcap += len;
            }
            double t1 = now_s();
            cs_lane_summary *lanes = NULL;
            uint32_t lanes_cap = 0, nl;
            for (size_t i = 0, k = 0; i < n; i += cr, k++) {
                cs_v2_chunk_header h;
                memcpy(&h, out[k], sizeof h);
                if (cs_v2_check_header(&h, why, sizeof why) ||
                    cs_v2_summary_parse(out[k] + sizeof h, h.summary_size, h.nrecords, &lanes, &lanes_cap, &nl, why,
                                        sizeof why) ||
                    cs_v2_decode_body(dec, &h, lanes, nl, out[k] + sizeof h + h.summary_size, back, why, sizeof why)) {
                    fprintf(stderr, "trace-bench: chunk %zu: %s\n", k, why);
                    return 1;
                }
                if (memcmp(back, ev + i, (size_t)h.nrecords * sizeof *back)) {
                    fprintf(stderr, "trace-bench: chunk %zu does not round-trip\n", k);
                    rc = 1;
                }
            }
            double t2 = now_s();
            printf("zstd level %2d, %6u records/chunk: %.3f bytes/event, encode %.2f M events/s, decode %.2f M "
                   "events/s (one thread)\n",
                   levels[l], cr, (double)total / (double)n, (double)n / (t1 - t0) / 1e6, (double)n / (t2 - t1) / 1e6);
            for (size_t k = 0; k < nchunks; k++) free(out[k]);
            free(out);
            free(outlen);
            free(lanes);
            cs_v2_encoder_free(enc);
            cs_v2_decoder_free(dec);
        }
    }
    free(back);
    free(ev);
    return rc;
}
