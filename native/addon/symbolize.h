/*
 * symbolize.h — code addresses to functions and source lines, offline, with
 * elfutils' libdw (Debian libdw-dev; libdw.so.1 at run time).
 *
 * An object is opened once per (path, build id) and kept (a Dwfl with the
 * file reported at load bias 0, so addresses are the ELF file's virtual
 * addresses: a recorded pc minus the MAPPING's bias). Its debug information
 * is the file's own or a separate file found by build id or debuglink
 * (/usr/lib/debug), as libdw's standard callbacks look for it. When the
 * recording named a build id and the file on disk has another, the file
 * changed since: nothing is resolved from it (never a wrong line).
 *
 * One address gives one or more frames, innermost first: a function inlined
 * at the address is a frame of its own, its caller's frame located at the
 * inlined call site (DW_AT_call_file/line).
 *
 * Threads: not thread-safe (one cache); the addon calls it on the JS thread.
 */
#ifndef CS_SYMBOLIZE_H
#define CS_SYMBOLIZE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cs_sym_frame {
    char function[256]; /* "" when unknown (C++ names demangled when libdw can) */
    char file[512];     /* source file, "" when unknown */
    int line;           /* 0 when unknown */
    int column;
    int inlined; /* this frame is inlined into the next one */
} cs_sym_frame;

/* Resolve addr (a file virtual address) in the object at path. Fills up to
 * max frames; returns how many (0: unknown), or -1 if the object cannot be
 * opened or its build id (hex, NULL or "" to skip the check) differs. */
int cs_symbolize(const char *path, const char *build_id, uint64_t addr, cs_sym_frame *out, int max);

/* Forget every object opened (files may have changed). */
void cs_symbolize_reset(void);

#ifdef __cplusplus
}
#endif
#endif
