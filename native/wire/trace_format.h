/*
 * trace_format.h — the on-disk layout of a Coroscope trace file (.cstrace),
 * format 1, and the framing format 2 shares with it (header, footer, CRC);
 * format 2's chunks and index are in trace_v2.h. docs/trace-format.md is the
 * prose version.
 *
 *   file   = header, chunk*, [index, footer]
 *   header = 64 bytes (cs_trace_header), CRC-protected
 *   chunk  = cs_chunk_header (32 bytes) + nrecords * 64-byte coroscope_event;
 *            each chunk is written with one write(2)
 *   index  = cs_index_header (8 bytes) + count * cs_index_entry (32 bytes),
 *            written on clean close only
 *   footer = cs_trace_footer (32 bytes), the last bytes of the file; it
 *            locates the index
 *
 * Invariants:
 *   - all integers are little-endian (the writer and the reader build only on
 *     little-endian hosts; the structs below are the bytes);
 *   - records are never split across chunks, and a chunk is valid only if
 *     both its header CRC and its payload CRC match, so a reader never hands
 *     out a record it could not verify;
 *   - a file without a valid footer is read chunk by chunk up to the last
 *     complete chunk (the writer crashed or was killed);
 *   - there is no separate string table: strings are the STRING/STRING_MORE
 *     records inside the chunks (the index marks chunks that hold some);
 *   - compatibility: a new minor version may only grow header_size and use
 *     reserved bytes/flags; readers accept any minor of their major.
 */
#ifndef CS_TRACE_FORMAT_H
#define CS_TRACE_FORMAT_H

#include <stdint.h>

#include "coroscope_events.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the trace format is little-endian; this code reads/writes it as native structs"
#endif

#define CS_TRACE_MAGIC         "CSTRACE" /* 8 bytes with the NUL */
#define CS_TRACE_VERSION_MAJOR 1
#define CS_TRACE_VERSION_MINOR 0
#define CS_TRACE_HEADER_SIZE   64 /* of this minor; readers accept >= 64 */

#define CS_CHUNK_MAGIC  0x4b435343u /* "CSCK" */
#define CS_INDEX_MAGIC  0x58495343u /* "CSIX" */
#define CS_FOOTER_MAGIC "CSTREND"   /* 8 bytes with the NUL */

#define CS_CHUNK_MAX_RECORDS 65536u /* 4 MiB payload; bigger counts are corrupt */

/* header.flags */
#define CS_TRACE_FLAG_SORTED 1ull /* the writer promised non-decreasing ts across the file */

/* index entry flags */
#define CS_CHUNK_HAS_STRINGS 1u /* the chunk holds STRING/STRING_MORE records */

typedef struct cs_trace_header {
    char magic[8];           /* "CSTRACE\0" */
    uint16_t version_major;  /* a reader refuses another major */
    uint16_t version_minor;  /* a reader accepts any minor */
    uint16_t header_size;    /* bytes from file start to the first chunk (>= 64) */
    uint16_t record_size;    /* COROSCOPE_EVENT_SIZE (64) */
    uint32_t events_version; /* COROSCOPE_EVENTS_VERSION of the producer */
    uint32_t pid;            /* traced process */
    uint64_t mono_ns;        /* CLOCK_MONOTONIC ns ...                 */
    uint64_t real_ns;        /* ... and CLOCK_REALTIME ns read together */
    uint64_t flags;          /* CS_TRACE_FLAG_* */
    uint8_t reserved[12];    /* zero */
    uint32_t crc;            /* CRC-32 of bytes 0..59 */
} cs_trace_header;

typedef struct cs_chunk_header {
    uint32_t magic;       /* CS_CHUNK_MAGIC */
    uint32_t nrecords;    /* 1..CS_CHUNK_MAX_RECORDS */
    uint64_t first_ts;    /* smallest ts of the chunk's records */
    uint64_t last_ts;     /* largest ts of the chunk's records */
    uint32_t payload_crc; /* CRC-32 of the nrecords * 64 record bytes */
    uint32_t header_crc;  /* CRC-32 of bytes 0..27 of this header */
} cs_chunk_header;

typedef struct cs_index_header {
    uint32_t magic; /* CS_INDEX_MAGIC */
    uint32_t count; /* entries that follow */
} cs_index_header;

typedef struct cs_index_entry {
    uint64_t offset;   /* file offset of the chunk header */
    uint64_t first_ts; /* = the chunk header's first_ts */
    uint64_t last_ts;  /* = the chunk header's last_ts */
    uint32_t nrecords;
    uint32_t flags; /* CS_CHUNK_HAS_STRINGS */
} cs_index_entry;

typedef struct cs_trace_footer {
    char magic[8];          /* "CSTREND\0" */
    uint64_t index_offset;  /* file offset of cs_index_header */
    uint64_t total_records; /* records in all chunks */
    uint32_t index_count;   /* = cs_index_header.count */
    uint32_t crc;           /* CRC-32 of the index (header + entries) then footer bytes 0..27 */
} cs_trace_footer;

_Static_assert(sizeof(cs_trace_header) == 64, "trace header is 64 bytes");
_Static_assert(sizeof(cs_chunk_header) == 32, "chunk header is 32 bytes");
_Static_assert(sizeof(cs_index_header) == 8, "index header is 8 bytes");
_Static_assert(sizeof(cs_index_entry) == 32, "index entry is 32 bytes");
_Static_assert(sizeof(cs_trace_footer) == 32, "footer is 32 bytes");

/* CRC-32 (IEEE 802.3, the zlib/PNG one): crc = cs_crc32(0, p, n), chainable. */
uint32_t cs_crc32(uint32_t crc, const void *p, uint64_t n);

#endif
