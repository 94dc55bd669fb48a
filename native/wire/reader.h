/*
 * reader.h — read and write Coroscope trace files of formats 1 and 2
 * (trace_format.h, trace_v2.h, docs/trace-format.md). C11, libc and libzstd
 * (format 2 compresses its chunks); shared by every consumer (coroscope-dump,
 * the Node core, the app) and by the engine's recorder thread (the writer
 * half). The writer writes format 2 unless told 1; the reader hands out the
 * same records for both.
 *
 * Reader:
 *     cs_reader *r; cs_trace_err err;
 *     if (cs_reader_open_path(&r, path, CS_READ_SKIP_UNKNOWN, &err)) { puts(err.msg); ... }
 *     coroscope_event ev;
 *     while (cs_reader_next(r, &ev) == 1) ... cs_reader_string(r, ev.a[1], NULL, NULL) ...
 *     const cs_trace_err *end = cs_reader_status(r);   // code 0: clean end
 *     cs_reader_close(r);
 *
 * Invariants:
 *   - no function crashes or aborts on any input: every problem is a code
 *     (enum cs_trace_code) plus a one-line message in cs_trace_err;
 *   - cs_reader_next returns only records of chunks whose CRCs matched, in
 *     file order; at a corrupt or truncated chunk it returns 0 and the status
 *     says where and what was lost (everything before is intact);
 *   - memory is bounded by the file size (strings grow as pieces arrive);
 *   - strings are resolved from every chunk read so far (and, after a seek,
 *     from every string-bearing chunk before the seek target);
 *   - a cs_reader / cs_trace_writer is used by one thread at a time.
 */
#ifndef CS_READER_H
#define CS_READER_H

#include <stddef.h>
#include <stdint.h>

#include "coroscope_events.h"
#include "trace_format.h"
#include "trace_v2.h"

enum cs_trace_code {
    CS_TRACE_OK = 0,
    CS_TRACE_EIO, /* a system call failed: sys_errno */
    CS_TRACE_ENOMEM,
    CS_TRACE_EINVAL,       /* bad argument (NULL, bad option) */
    CS_TRACE_EBADMAGIC,    /* not a Coroscope trace file */
    CS_TRACE_EVERSION,     /* another major version, or another record size */
    CS_TRACE_ETRUNCHEADER, /* the file is shorter than its header */
    CS_TRACE_EBADHEADER,   /* header CRC mismatch or impossible field */
    CS_TRACE_ECHUNKCRC,    /* a chunk's payload CRC does not match */
    CS_TRACE_EBADCHUNK,    /* a chunk header is corrupt (magic, CRC, count) */
    CS_TRACE_ETRUNCCHUNK,  /* the file ends inside a chunk */
    CS_TRACE_EBADDATA,     /* a chunk's CRCs match but its content does not decode (format 2) */
    CS_TRACE_CODE_COUNT
};

typedef struct cs_trace_err {
    int code;              /* enum cs_trace_code */
    int sys_errno;         /* for CS_TRACE_EIO */
    uint64_t offset;       /* file offset of the problem (chunk start) */
    uint64_t records_lost; /* records known to be lost (0 if unknown) */
    uint64_t bytes_lost;   /* bytes from offset to the end of the chunk area */
    char msg[256];         /* one line, no trailing newline */
} cs_trace_err;

/* Symbolic name of a code: "CS_TRACE_ECHUNKCRC". */
const char *cs_trace_code_name(int code);

/* ---- reader ------------------------------------------------------------------ */

typedef struct cs_reader cs_reader;

/* cs_reader_open flags */
#define CS_READ_SKIP_UNKNOWN 1u /* do not return kinds this reader does not know, nor NONE padding */
#define CS_READ_SKIP_STRINGS 2u /* do not return STRING/STRING_MORE (they are still resolved) */

typedef struct cs_trace_info {
    uint16_t version_major, version_minor;
    uint32_t events_version;
    uint32_t pid;
    uint64_t mono_ns, real_ns; /* calibration pair */
    uint64_t flags;            /* CS_TRACE_FLAG_* */
    uint64_t file_size;
    int has_index;          /* 1: closed cleanly, the index is valid */
    uint32_t chunk_count;   /* from the index (0 without) */
    uint64_t total_records; /* from the footer (0 without) */
} cs_trace_info;

/* Open a trace (format 1 or 2). The fd version does not take ownership of
 * fd (it is not closed by cs_reader_close) and reads with pread (a regular
 * file). The path version refuses anything but a regular file without
 * blocking (it opens with O_NONBLOCK: a FIFO does not wait for a writer).
 * Returns 0, or a code with err filled; *r is NULL on error. */
int cs_reader_open_path(cs_reader **r, const char *path, unsigned flags, cs_trace_err *err);
int cs_reader_open_fd(cs_reader **r, int fd, unsigned flags, cs_trace_err *err);
void cs_reader_close(cs_reader *r);

const cs_trace_info *cs_reader_info(const cs_reader *r);

/* Next record: 1 (ev filled), or 0 at the end of the data — clean or after a
 * problem; cs_reader_status tells which. */
int cs_reader_next(cs_reader *r, coroscope_event *ev);

/* Code 0 until a problem stopped reading. */
const cs_trace_err *cs_reader_status(const cs_reader *r);

/* Text of string id (NUL-terminated; may hold NULs within *len), or NULL if
 * id is 0 or was never defined. *complete (optional) is 0 when some
 * STRING_MORE pieces are missing: the text is then the prefix received. */
const char *cs_reader_string(const cs_reader *r, uint64_t id, size_t *len, int *complete);

/* Position reading at the first chunk that may hold records with ts >= t:
 * every record of earlier chunks has ts < t (records of that chunk may be
 * earlier than t; chunks are ordered by file position, not necessarily by
 * time, unless CS_TRACE_FLAG_SORTED). Uses the index when present, else scans
 * chunk by chunk from the start. Resets the status (reading meets a bad chunk
 * again if it gets there); a bad chunk met by the scan ends reading there and
 * is returned (status set). */
int cs_reader_seek_time(cs_reader *r, uint64_t t);

/* Position reading at the chunk that starts at offset off (an offset
 * cs_reader_summary_next gave, or the end of the chunk area): the next record
 * is that chunk's first. Strings of every chunk before it are resolved (only
 * string-bearing chunks are decoded; format 2 reads the others' headers).
 * Resets the status like cs_reader_seek_time. Returns 0, CS_TRACE_EINVAL when
 * off is not a chunk start, or the code of a bad chunk met on the way (status
 * set, reading ends there). */
int cs_reader_seek_chunk(cs_reader *r, uint64_t off);

/* Every string resolved so far, in no particular order: start with
 * *cursor = 0; 1 (id, text, len filled: the text received so far), 0 at the
 * end. Valid until the reader reads or seeks again. */
int cs_reader_strings_next(const cs_reader *r, size_t *cursor, uint64_t *id, const char **text, size_t *len);

/* Offset of the chunk the next record comes from (for tests and tools). */
uint64_t cs_reader_chunk_offset(const cs_reader *r);

/* Chunk summaries, for a viewer's overview (level of detail) without the
 * records: per lane (thread), its record count per kind, first/last ts, the
 * time a coroutine ran on it, and the coroutine running at the chunk's start
 * and end (trace_v2.h, cs_chunk_summary). Start with *cursor = 0; each call
 * fills *out with the chunk at *cursor and moves *cursor to the next one.
 * Returns 1 (filled), or 0 at the end: err->code 0 at the clean end, else the
 * problem (the chunk is bad or cut; everything before it was summarised).
 * Format 2 reads only each chunk's header and summary; format 1 reads the
 * records and computes the same summary (start states are exact when the
 * walk starts at the first chunk). out->lanes is valid until the next call.
 * Independent of cs_reader_next's position and status. */
int cs_reader_summary_next(cs_reader *r, uint64_t *cursor, cs_chunk_summary *out, cs_trace_err *err);

/* Slots visited by string-table lookups so far (a statistic, for tests: it
 * stays linear in the lookups whatever ids a file holds). */
uint64_t cs_reader_string_probes(const cs_reader *r);

/* Name of a kind ("CO_RUN"), of a hook ("read"), or NULL if unknown. */
const char *cs_event_kind_name(unsigned kind);
const char *cs_hook_name(unsigned hook);
int cs_event_kind_known(unsigned kind);

/* A reader with no file, for events that arrive live (from the engine's
 * rings): feed it records with cs_reader_ingest and resolve their strings
 * with cs_reader_string; free it with cs_reader_close. */
cs_reader *cs_reader_new_live(void);
void cs_reader_ingest(cs_reader *r, const coroscope_event *ev, size_t n);

/* Sort n records by ts, stably (records with equal ts keep their order:
 * a STRING and its STRING_MORE pieces, a thread's records stamped the same
 * nanosecond). tmp must hold n records. Merge sort: O(n log n). */
void cs_events_sort(coroscope_event *ev, size_t n, coroscope_event *tmp);
/* The same without the last copy: returns where the sorted records are (ev
 * or tmp; the other one is left as scratch). A batch that is already in
 * order costs one scan; up to 4 ascending runs, one merging pass. */
coroscope_event *cs_events_sorted(coroscope_event *ev, size_t n, coroscope_event *tmp);

/* ---- writer ------------------------------------------------------------------ */

typedef struct cs_trace_writer cs_trace_writer;

typedef struct cs_trace_writer_opts {
    uint32_t pid;     /* 0: getpid() */
    uint64_t mono_ns; /* calibration pair; both 0: read the clocks now */
    uint64_t real_ns;
    uint64_t flags;         /* CS_TRACE_FLAG_* */
    uint32_t chunk_records; /* records per chunk, 1..CS_CHUNK_MAX_RECORDS (0: 1024 for format 1,
                                 CS_V2_DEFAULT_CHUNK_RECORDS for format 2) */
    uint32_t format;        /* 1 or 2 (0: CS_TRACE_DEFAULT_FORMAT) */
    int zstd_level;         /* format 2: zstd level 1..22 (0: CS_V2_DEFAULT_LEVEL) */
} cs_trace_writer_opts;

#define CS_TRACE_DEFAULT_FORMAT 2

/* Create (truncate) path, or write from the current offset of fd (which must
 * be at offset 0 of an empty file; not closed by close). opts may be NULL.
 * The header is written at once. */
int cs_trace_writer_create(cs_trace_writer **w, const char *path, const cs_trace_writer_opts *opts, cs_trace_err *err);
int cs_trace_writer_open_fd(cs_trace_writer **w, int fd, const cs_trace_writer_opts *opts, cs_trace_err *err);

/* Append n records; a full chunk is written (one write(2)) as it fills. */
int cs_trace_writer_append(cs_trace_writer *w, const coroscope_event *ev, size_t n);

/* Append the STRING (+ STRING_MORE) records that define string id (id != 0)
 * as text[0..len), with header fields ts/worker/tid. */
int cs_trace_writer_string(cs_trace_writer *w, uint64_t id, const char *text, size_t len, uint64_t ts, uint16_t worker,
                           uint32_t tid);

/* Write the partial chunk now (no-op when empty). */
int cs_trace_writer_flush(cs_trace_writer *w);

/* Flush, write the index and the footer, close (path version) and free. The
 * writer is freed even on error; err (optional) gets the status. */
int cs_trace_writer_close(cs_trace_writer *w, cs_trace_err *err);

/* Free without flushing or writing the index (as if the process died). */
void cs_trace_writer_abandon(cs_trace_writer *w);

/* The last error of the writer (code 0 if none). */
const cs_trace_err *cs_trace_writer_status(const cs_trace_writer *w);

/* Bytes written to the file so far (header and whole chunks; the open chunk
 * is not counted until it is flushed). */
uint64_t cs_trace_writer_bytes(const cs_trace_writer *w);

#endif
