/*
 * log.h — messages from the engine to stderr.
 *
 * Messages are written with one write(2) on fd 2 through the real write (not
 * the hook), prefixed "coroscope: ". Safe on any thread; not for signal
 * handlers (uses vsnprintf).
 */
#ifndef CS_LOG_H
#define CS_LOG_H

void cs_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Report a broken engine invariant and abort. */
_Noreturn void cs_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
