/*
 * follow.h — following children like `strace -f`: forked children and
 * exec'd programs stay under the engine and report to the same inspector,
 * each as a process of its own in one session.
 *
 * Variables (set by an inspector that launches a target; README "Children"):
 *   COROSCOPE_INSPECTOR=path  the inspector's follow socket: a Unix stream
 *                             socket of this user (the addon's, mode 0600 in
 *                             the per-user runtime directory). Kept in the
 *                             environment, so every program started below
 *                             the target finds it.
 *   COROSCOPE_FOLLOW=0        do not follow (the variable above is ignored;
 *                             children run with the library but report to
 *                             nobody). COROSCOPE_INHERIT=0 implies it.
 *
 * Joining (follow protocol 1). A process that should report connects to the
 * socket, checks with SO_PEERCRED that the peer is this uid, and writes one
 * line `follow pid=P ppid=Q how=fork|exec`; the inspector answers one line
 * `{"ok":true,"serial":N}` (N >= 1, unique in the session). From then on the
 * socket is an inherited control socket (control.h): subscribed at once,
 * every thread's ring announced on it, commands answered. The serial makes
 * the process's ids disjoint from every other process of the session: its
 * coroutine ids and string ids are N * 2^32 + k (the launched process has
 * serial 0 and ids as before). No answer within 5 s: the process runs
 * untraced, with one line on stderr.
 *
 * When:
 *   - constructor (a program exec'd below the target: COROSCOPE_INSPECTOR
 *     set, no COROSCOPE_CONTROL_FD): joins as how=exec before main; the
 *     control thread starts at the first safe moment (init.c);
 *   - forked child (init.c's pthread_atfork child handler, after every other
 *     part forgot the parent's state; the forking thread is the only one):
 *     joins as how=fork and starts the control thread there;
 *   - exec and spawn (hook_exec.c): the environment the new program gets is
 *     re-armed with what this process loaded with (cs_follow_env).
 *
 * Threads: cs_follow_load and cs_follow_atfork_child run with no other
 * engine thread alive; what they set is read-only afterwards. cs_follow_env
 * and the query functions are safe on any thread and in a vfork child (no
 * allocation: the caller provides the storage).
 */
#ifndef CS_FOLLOW_H
#define CS_FOLLOW_H

#include <stddef.h>
#include <stdint.h>

/* Constructor, after cs_config_load: remember the variables to re-arm, and
 * join the inspector if this process was exec'd below a following one. */
void cs_follow_load(char **envp);

/* Forked child (after control and telemetry forgot the parent's). */
void cs_follow_atfork_child(void);

/* First safe moment (just before main, init.c): announce the process now
 * (its PROCESS and LINEAGE records) if it is one of a followed session. */
void cs_follow_main(void);

/* 1 while children are followed (an inspector socket, following on). */
int cs_follow_on(void);

/* This process's serial (0: the launched process or not following). */
uint32_t cs_follow_serial(void);

/* How this process joined (enum coroscope_spawn_how), and its parent's pid
 * then (a parent that exits later does not change what LINEAGE says). */
int cs_follow_how(void);
int cs_follow_ppid(void);

/* The environment a program started by this process gets: envp if it
 * already carries LD_PRELOAD with this library and the inspector's
 * variables; otherwise `out` (room for `cap` pointers, strings written into
 * `buf` of `bufn` bytes) holding envp plus what is missing. NULL if `out` or
 * `buf` is too small (then envp is used as is). */
char *const *cs_follow_env(char *const *envp, char **out, size_t cap, char *buf, size_t bufn);

/* Entries cs_follow_env may add (for sizing `out`). */
size_t cs_follow_env_extra(void);

/* The process ends with exit code `code`: one PROCESS_EXIT record, and this
 * thread's ring published (exit, _exit, main returning). Once per process. */
void cs_follow_exit(int code);

#endif
