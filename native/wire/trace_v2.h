/*
 * trace_v2.h — format 2 of Coroscope trace files: the compact chunk, its
 * summary, and the codec that turns a batch of 64-byte records into one
 * chunk and back (docs/trace-format.md, "Format 2", is the prose version;
 * the file header, index and footer framing are in trace_format.h).
 *
 *   chunk   = cs_v2_chunk_header (56 bytes), summary (summary_size bytes),
 *             body (body_size bytes: one zstd frame)
 *   summary = cs_v2_summary_head, then per lane: cs_lane_summary_disk
 *             followed by its nkinds cs_kind_count entries
 *   body    = once decompressed (raw_size bytes): CS_V2_NSTREAMS varint
 *             stream lengths, then the streams (columns), in order
 *
 * Invariants:
 *   - decoding gives back exactly the records the encoder was given, bit for
 *     bit, whatever their content (every column transform is a bijection on
 *     64-bit words; unknown kinds and STRING text bytes are carried as is);
 *   - a chunk decodes on its own: every predictor state starts afresh at the
 *     chunk (seeking needs no earlier chunk, except for the strings);
 *   - the summary is stored uncompressed and has its own CRC, so a viewer
 *     reads it without touching the body; it describes lanes (one per
 *     (tid, worker) pair with records in the chunk) in order of first
 *     appearance, and the body's lane column indexes that list;
 *   - the decoder trusts nothing: sizes are bounded before allocation
 *     (raw_size <= CS_V2_RAW_MAX(nrecords), the zstd frame must declare
 *     exactly raw_size), every varint and stream is bounds-checked, every
 *     stream must be consumed exactly, and the summary must agree with the
 *     records (lanes, counts, first/last ts);
 *   - an encoder or decoder is used by one thread at a time; the encoder
 *     keeps per-lane state across chunks (the coroutine running on each lane,
 *     its last timestamp) for the summaries' start states and busy times.
 */
#ifndef CS_TRACE_V2_H
#define CS_TRACE_V2_H

#include <stddef.h>
#include <stdint.h>

#include "trace_format.h"

#define CS_TRACE_V2_MAJOR 2
#define CS_TRACE_V2_MINOR 0

#define CS_V2_CHUNK_MAGIC 0x4b325343u /* "CS2K": two bytes away from the index magic */
#define CS_V2_INDEX_MAGIC 0x32495343u /* "CSI2" */

/* Upper bound of a chunk's decompressed body: 80 bytes per record (the
 * widest encoding of a record, see trace_v2.c) and the stream directory. */
#define CS_V2_RAW_MAX(n)     ((uint64_t)(n)*80u + 4096u)
/* Upper bound of a summary: the head, a lane per record and every lane
 * counting at most 64 kinds... bounded by records: nkinds <= nrecords. */
#define CS_V2_SUMMARY_MAX(n) (8u + (uint64_t)(n) * (56u + 8u))

/* cs_v2_chunk_header.codec */
#define CS_V2_CODEC_ZSTD 1u

typedef struct cs_v2_chunk_header {
    uint32_t magic;        /* CS_V2_CHUNK_MAGIC */
    uint32_t nrecords;     /* 1..CS_CHUNK_MAX_RECORDS */
    uint64_t first_ts;     /* smallest ts of the chunk's records */
    uint64_t last_ts;      /* largest ts */
    uint32_t summary_size; /* bytes of the summary, right after this header */
    uint32_t body_size;    /* bytes of the compressed body, after the summary */
    uint32_t raw_size;     /* bytes of the body once decompressed */
    uint16_t flags;        /* CS_CHUNK_HAS_STRINGS */
    uint16_t codec;        /* CS_V2_CODEC_ZSTD */
    uint32_t summary_crc;  /* CRC-32 of the summary bytes */
    uint32_t body_crc;     /* CRC-32 of the compressed body bytes */
    uint32_t reserved;     /* 0 */
    uint32_t header_crc;   /* CRC-32 of bytes 0..51 */
} cs_v2_chunk_header;

typedef struct cs_v2_index_entry {
    uint64_t offset; /* file offset of the chunk header */
    uint64_t size;   /* bytes of the whole chunk (header, summary, body) */
    uint64_t first_ts, last_ts;
    uint32_t nrecords;
    uint32_t flags; /* CS_CHUNK_HAS_STRINGS */
} cs_v2_index_entry;

typedef struct cs_v2_summary_head {
    uint32_t nlanes;   /* 1..nrecords */
    uint32_t reserved; /* 0 */
} cs_v2_summary_head;

/* lane state bits (cs_lane_summary.state) */
#define CS_LANE_IDLE_AT_START 1u /* the worker was asleep (WORKER_IDLE without WORKER_BUSY since) */
#define CS_LANE_IDLE_AT_END   2u

/* One lane of a chunk, as stored (then nkinds cs_kind_count). */
typedef struct cs_lane_summary_disk {
    uint32_t tid;
    uint16_t worker;   /* COROSCOPE_NO_WORKER off the workers */
    uint16_t nkinds;   /* kind counts that follow */
    uint32_t nrecords; /* records of this lane in the chunk */
    uint32_t state;    /* CS_LANE_IDLE_AT_* */
    uint64_t first_ts, last_ts;
    uint64_t busy_ns;  /* time a coroutine ran on the lane (see docs) */
    uint64_t co_start; /* coroutine running on the lane before its first record (0: none) */
    uint64_t co_end;   /* ... after its last record */
} cs_lane_summary_disk;

typedef struct cs_kind_count {
    uint16_t kind;
    uint16_t reserved; /* 0 */
    uint32_t count;
} cs_kind_count;

_Static_assert(sizeof(cs_v2_chunk_header) == 56, "v2 chunk header is 56 bytes");
_Static_assert(sizeof(cs_v2_index_entry) == 40, "v2 index entry is 40 bytes");
_Static_assert(sizeof(cs_lane_summary_disk) == 56, "v2 lane summary is 56 bytes");
_Static_assert(sizeof(cs_kind_count) == 8, "kind count is 8 bytes");

/* A lane of a parsed summary: the stored fields and its kind counts. */
typedef struct cs_lane_summary {
    cs_lane_summary_disk d;
    const cs_kind_count *kinds; /* d.nkinds entries, ascending kind */
} cs_lane_summary;

typedef struct cs_chunk_summary {
    uint64_t offset; /* of the chunk in the file */
    uint64_t size;   /* bytes of the chunk in the file */
    uint64_t first_ts, last_ts;
    uint32_t nrecords;
    uint32_t nlanes;
    const cs_lane_summary *lanes; /* valid until the next call that fills a summary */
} cs_chunk_summary;

/* ---- summaries (shared by the v2 encoder and the reader of v1 chunks) -------- */

/* Per-lane state carried from chunk to chunk. */
typedef struct cs_lane_tracker cs_lane_tracker;
cs_lane_tracker *cs_lane_tracker_new(void);
void cs_lane_tracker_free(cs_lane_tracker *t);

/* Summarise n records (the next chunk, in file order) into its stored form
 * (*out, *out_len: owned by the tracker, valid until the next call), and
 * fill lane_of[i] with record i's lane index (lane_of may be NULL). 0 or
 * ENOMEM. */
int cs_lane_tracker_summarize(cs_lane_tracker *t, const coroscope_event *ev, uint32_t n, uint32_t *lane_of,
                              const void **out, size_t *out_len);

/* Parse a stored summary of a chunk of nrecords (checked: sizes, counts,
 * order). Lanes and kinds point into buf / a buffer owned by *scratch
 * (realloc'ed; free it with free()). 0, or -1 with why filled. */
int cs_v2_summary_parse(const void *buf, size_t len, uint32_t nrecords, cs_lane_summary **scratch,
                        uint32_t *scratch_cap, uint32_t *nlanes, char *why, size_t whylen);

/* ---- the chunk codec ---------------------------------------------------------- */

typedef struct cs_v2_encoder cs_v2_encoder;

/* level: the zstd level (0: CS_V2_DEFAULT_LEVEL). */
#define CS_V2_DEFAULT_LEVEL         1
/* Records per chunk when the writer is not told: big enough for zstd to find
 * the repeats, small enough that a crash loses little (see the docs). */
#define CS_V2_DEFAULT_CHUNK_RECORDS 16384
int cs_v2_encoder_new(cs_v2_encoder **e, int level);
void cs_v2_encoder_free(cs_v2_encoder *e);

/* Encode n records (1..CS_CHUNK_MAX_RECORDS) as one whole chunk (header,
 * summary, body), *out valid until the next call. 0, ENOMEM, or EIO (the
 * compressor failed; why says how). */
int cs_v2_encode_chunk(cs_v2_encoder *e, const coroscope_event *ev, uint32_t n, const void **out, size_t *len,
                       char *why, size_t whylen);

/* Check a chunk header read from a file: magic, CRC, counts, sizes. 0, or -1
 * with why filled. */
int cs_v2_check_header(const cs_v2_chunk_header *h, char *why, size_t whylen);

typedef struct cs_v2_decoder cs_v2_decoder;
int cs_v2_decoder_new(cs_v2_decoder **d);
void cs_v2_decoder_free(cs_v2_decoder *d);

/* Decode the body of a chunk whose header passed cs_v2_check_header and
 * whose summary (parsed: lanes, nlanes) and body CRCs matched, into
 * h->nrecords records at out. 0, ENOMEM, or -1 (corrupt: why says where). */
int cs_v2_decode_body(cs_v2_decoder *d, const cs_v2_chunk_header *h, const cs_lane_summary *lanes, uint32_t nlanes,
                      const void *body, coroscope_event *out, char *why, size_t whylen);

#endif
