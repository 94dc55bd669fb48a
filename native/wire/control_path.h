/*
 * control_path.h — where an engine process's control socket lives: the one
 * rule the engine (control.c, which creates it), the addon (link.c, attach),
 * coroscope-dump (live.c, --pid and --list) and, through the addon, the host
 * (main/engine/discover.ts) follow.
 *
 * The rule: a per-user directory, the first usable of
 *   0. $XDG_RUNTIME_DIR/coroscope   (only when XDG_RUNTIME_DIR is an absolute path)
 *   1. /tmp/coroscope-<uid>
 * and in it <pid>.sock. The engine takes the first candidate it can create
 * (mkdir 0700; an existing one is checked to be a private directory of this
 * user), so a reader looks in every candidate, in order.
 *
 * Pure functions of the environment and the uid; no state, any thread.
 * They never allocate: buffers are the caller's.
 */
#ifndef CS_CONTROL_PATH_H
#define CS_CONTROL_PATH_H

#include <stddef.h>
#include <sys/types.h>

#define CS_CONTROL_DIRS 2 /* candidates, indices 0 .. CS_CONTROL_DIRS - 1 */

/* The i-th candidate directory into out (n bytes). Returns 0; ENOENT when
 * there is no such candidate (i out of range, or XDG_RUNTIME_DIR unset or
 * relative for i = 0); ENAMETOOLONG when it does not fit. */
int cs_control_dir(int i, char *out, size_t n);

/* The directory an engine or inspector puts its sockets in: the first
 * candidate that fits in n bytes and can be created (mkdir 0700; an existing
 * one is fine), into out. Returns 0; EPERM when it is not a private
 * directory of this user (not a directory, someone else's, or open to
 * others: nothing may be put there); else the errno of the last candidate. */
int cs_control_dir_make(char *out, size_t n);

/* dir + "/<pid>.sock" into out. Returns 0 or ENAMETOOLONG. */
int cs_control_socket_in(const char *dir, pid_t pid, char *out, size_t n);

/* The socket of process pid as a reader finds it: the first candidate in
 * which it exists. Returns 0 (out holds it), or the errno of the last
 * candidate's access() (ENOENT: no engine socket for pid), with out holding
 * the last candidate's path (for messages). */
int cs_control_socket_find(pid_t pid, char *out, size_t n);

#endif
