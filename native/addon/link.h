/*
 * link.h — one inspector's connection to one engine process: the C half of
 * the Node addon (addon.cc is only the Node-API glue around it).
 *
 * A link is made by launching a program under the engine (cs_link_spawn:
 * LD_PRELOAD plus an inherited control socket, COROSCOPE_CONTROL_FD, so the
 * engine is subscribed before main runs and no event is missed) or by
 * attaching to a running one through its control socket (cs_link_attach).
 * cs_link_run is the reader loop; it runs on one thread of its own and
 * returns when everything is over (the target exited and its socket and
 * pipes reached their end, or cs_link_stop was called). It:
 *   - receives control lines; ring fds (SCM_RIGHTS) are attached here and
 *     never reach the sink; other lines go to sink->line;
 *   - is the rings' consumer (wire/consumer.h): drains every event ring,
 *     waking when a ring passes its watermark (the engine's doorbell
 *     eventfd, announced before the rings) or every period_ms, sorts each
 *     batch by time, appends it whole (STRING records included) to the
 *     trace file when recording, resolves strings, and hands the events
 *     without the STRING records to sink->events in batches (by size or by
 *     time); when the target is gone, the losses its threads had not
 *     reported yet get DROP records, so events + drops = what was made;
 *   - forwards the target's stdout/stderr (launched targets) and reports its
 *     end (exit code or signal for a child; "gone" for an attached process).
 * Back-pressure: while the sink says it is busy (sink->busy returns nonzero:
 * the JS side has too many batches in hand), rings are not drained. With
 * the policy "drop" the engine then drops and says so in DROP records, and
 * the target never waits; with "lossless" the target's threads wait for
 * room (at most 1 s each time; ring.h "Policy").
 *
 * Threads: cs_link_run on its own thread; cs_link_send, cs_link_stop,
 * cs_link_kill and cs_link_stats from any thread; cs_link_free after
 * cs_link_run returned. Counters are atomics.
 */
#ifndef CS_LINK_H
#define CS_LINK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "coroscope_events.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cs_link cs_link;

typedef struct cs_link_string {
    uint64_t id;
    const char *text;
    size_t len;
} cs_link_string;

typedef struct cs_link_sink {
    void *ctx;
    /* A batch of events (sorted by ts, no STRING records) and the strings
     * defined or completed since the previous batch. NULL: nobody wants
     * the events (`coroscope record`: the file is all): the link records
     * and counts them (cs_link_stats delivered, dropped), and neither
     * resolves strings nor copies the batch. */
    void (*events)(void *ctx, const coroscope_event *ev, size_t n, const cs_link_string *s, size_t ns);
    void (*output)(void *ctx, int stream, const char *data, size_t n); /* 1 stdout, 2 stderr */
    void (*line)(void *ctx, const char *line);                         /* a control reply */
    /* The target ended: exited (code >= 0), killed (sig > 0), or gone
     * (attached process: both -1). */
    void (*exit)(void *ctx, int code, int sig);
    void (*error)(void *ctx, const char *msg); /* non-fatal problems */
    int (*busy)(void *ctx);
    /* 1 (with events set): hand over only the records that say which
     * processes there are (PROCESS, THREAD, LINEAGE, PROCESS_EXIT, SPAWN) and
     * the strings they name; the rest is recorded and counted as with events
     * NULL (`coroscope record` following children: the session reports
     * untraced children and exits without receiving the stream). */
    int process_only;
} cs_link_sink;

typedef struct cs_link_spawn_opts {
    const char *file;        /* absolute path of the program */
    char *const *argv;       /* NULL-terminated */
    char *const *envp;       /* NULL-terminated; LD_PRELOAD and COROSCOPE_CONTROL_FD are added */
    const char *cwd;         /* NULL: the inspector's */
    const char *preload;     /* path of libcoroscope.so */
    int stdin_null;          /* 1: stdin is /dev/null; 0: the inspector's stdin */
    const char *record_path; /* trace file to write as events stream (NULL: none) */
    uint32_t batch_events;   /* hand a batch over when it has this many events (0: 65536) */
    uint32_t period_ms;      /* longest batch delay, and longest sleep (0: 5) */
    const char *policy;      /* what the target's threads do when their ring is full: "drop" (NULL: never
                                  wait) or "lossless" (wait for us to drain, at most 1 s; ring.h "Policy") */
    int no_follow;           /* 1: children and exec'd programs are not followed (COROSCOPE_FOLLOW=0) */
} cs_link_spawn_opts;

typedef struct cs_link_stats {
    uint64_t events;    /* records read from the rings (STRING records included) */
    uint64_t delivered; /* events handed over (or, without sink->events, that would have been): no STRING records */
    uint64_t dropped;   /* events the engine reported lost (DROP a0 sum) */
    uint64_t bytes_recorded; /* bytes written to the trace file */
    uint64_t batches;        /* batches handed to the sink */
    uint32_t rings;
    int recording_error; /* errno-like code of the trace writer, 0 if fine */
} cs_link_stats;

/* 0, or an errno value with a one-line message in err. */
int cs_link_spawn(cs_link **out, const cs_link_spawn_opts *o, char *err, size_t errn);
int cs_link_attach(cs_link **out, pid_t pid, const char *record_path, uint32_t batch_events, uint32_t period_ms,
                   const char *policy, char *err, size_t errn);

pid_t cs_link_pid(const cs_link *l);

void cs_link_run(cs_link *l, const cs_link_sink *sink);
int cs_link_send(cs_link *l, const char *line); /* one command, without "\n"; 0 or errno */
void cs_link_stop(cs_link *l);
int cs_link_kill(cs_link *l, int sig); /* launched targets only; 0 or errno */
void cs_link_stats_get(cs_link *l, cs_link_stats *out);
void cs_link_free(cs_link *l);

#ifdef __cplusplus
}
#endif
#endif
