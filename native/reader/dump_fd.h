/* dump_fd.h — coroscope-dump's rendering of FD_DESC, FD_CLOSE and WAKER (dump_fd.c). */
#ifndef CS_DUMP_FD_H
#define CS_DUMP_FD_H

#include <stddef.h>
#include <stdint.h>

#include "coroscope_events.h"

/* A string id as quoted text into buf (dump.c's `quoted`). */
typedef const char *(*dump_fd_text)(uint64_t id, char *buf, size_t cap);

const char *dump_fd_kind(uint64_t kind);
void dump_fd_render(const coroscope_event *e, char *out, size_t cap, dump_fd_text text);

#endif
