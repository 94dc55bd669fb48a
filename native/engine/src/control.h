/*
 * control.h — the control channel: one Unix socket per engine process.
 *
 * Where: $XDG_RUNTIME_DIR/coroscope/ when that is set and usable, else
 * /tmp/coroscope-<uid>/; the directory is created mode 0700 and refused if
 * it belongs to someone else or is open to others. The socket is
 * <dir>/<pid>.sock, mode 0600, removed at exit (the rule, shared with every
 * reader: native/wire/control_path.h). A peer whose uid
 * (SO_PEERCRED) is not ours is closed without a word.
 *
 * Protocol (version 1): the client writes one command per line; the engine
 * answers each with one line of JSON, {"ok":true,...} or
 * {"ok":false,"error":"..."}.
 *   hello                   pid, exe, cmdline, engine and protocol version, config
 *   pause                   the scheduler stops before it picks its next
 *                           coroutine (running coroutines finish their turn)
 *   step N                  let N more scheduling decisions happen, then stop
 *   resume                  run freely again
 *   set slice=10ms|preempt=0|1|hooks=0|1|delay=250ms
 *                           delay: slow motion, the scheduler waits that long
 *                           before each decision (0..2s; 0: off)
 *   subscribe [policy=drop|policy=lossless]
 *                           the engine starts emitting events; first one line
 *                           {"event":"doorbell"} carrying the eventfd the
 *                           producers ring when a ring passes its watermark
 *                           (wire/consumer.h), then, for every thread's event
 *                           ring (ring.h), now and as threads appear, one line
 *                           {"event":"ring","tid":T,"worker":W} carrying the
 *                           ring's memfd (SCM_RIGHTS). Each such line comes
 *                           with exactly one fd, in order. policy: what a
 *                           thread whose ring is full does (ring.h "Policy"):
 *                           drop (the default: never wait) or lossless (wait
 *                           for the inspector to drain, at most 1 s). Again
 *                           while subscribed: changes the policy. Refused
 *                           while COROSCOPE_TRACE records (one consumer per ring)
 *   unsubscribe             stop emitting (and waiting: drop mode)
 *   snapshot                every live coroutine (id, name, state, worker, what
 *                           it waits for: call, fd and direction, deadline,
 *                           joined coroutine), each worker's running one; exact
 *                           while paused
 *   detach                  resume and close
 *   stack CO                the stack of coroutine CO now, if it runs: its
 *                           worker is signalled and the handler walks the
 *                           interrupted frame-pointer chain (emit_stack.h;
 *                           the pc alone without frame pointers); reply
 *                           {"ok":true,"co":CO,"state":"running","frames":
 *                           ["0x…",…]} (innermost first), frames [] with the
 *                           state otherwise (suspended, ready, unknown: its
 *                           last park's stack is in the event stream);
 *                           recorded as CO_STACK (why 4) while telemetry is on
 * Framing: a line ends at '\n' (a '\r' before it is dropped) and is at most
 * 4094 bytes (longer: an error reply, then the client is closed). Lines are
 * split by length, so a NUL byte cannot hide a newline: a line containing
 * one gets {"ok":false,"error":"a NUL byte ..."} and the next line is read
 * as usual. Every non-empty line gets exactly one reply, in order.
 * One client at a time (a second one is told "busy" and closed). A client
 * that vanishes (closed, killed) leaves the target resumed.
 *
 * Inherited inspector (COROSCOPE_CONTROL_FD=N, set by an inspector that
 * launches the target with one end of a socketpair as fd N): the constructor
 * takes fd N as the first client, already subscribed, before main runs — so
 * no event of the program is missed. Each thread's ring is announced on that
 * socket by the thread that creates it, at creation, before its first event:
 * the inspector holds every ring fd even if the program exits at once (the
 * doorbell comes before the first ring). Its policy is COROSCOPE_TRACE_POLICY
 * (the launching inspector sets it). The
 * variable is removed from the environment (programs the target starts do
 * not inherit the inspector). With COROSCOPE_START_PAUSED=1 the scheduler
 * starts paused (before its first decision), for stepping from the start;
 * ignored without an inherited inspector. The control thread starts just
 * before main (init.c), or with the runtime if that comes first — never from
 * inside a hooked call. When that client goes away, the socket above serves as usual.
 *
 * Followed processes (follow.h): a forked child or exec'd program of a
 * followed session connects to the inspector's follow socket itself and
 * hands the connection to cs_control_adopt; from then on it is served
 * exactly like an inherited inspector socket (START_PAUSED excepted: only
 * the launched process honours it).
 *
 * Threads: a control thread ("cs-control") serves the socket. pause, step,
 * resume and delay act on the scheduler's gate (gate.h), which the workers
 * pass at the top of every decision.
 */
#ifndef CS_CONTROL_H
#define CS_CONTROL_H

#include <stdatomic.h>
#include <stdint.h>

/* Start the control thread (runtime start). 0 or an errno value. */
int cs_control_start(void);

/* Constructor: take the inherited inspector socket fd and remove
 * COROSCOPE_CONTROL_FD from envp. */
void cs_control_inherit(int fd, char **envp);

/* Take fd, a connected socket of this user's inspector, as the inherited
 * inspector (subscribed at once, rings announced on it): the launching
 * inspector's COROSCOPE_CONTROL_FD, or a followed process's socket
 * (follow.h). The control thread starts with cs_control_program_started.
 * 0, or EBUSY while COROSCOPE_TRACE records (fd is then not used). */
int cs_control_adopt(int fd);

/* First safe moment after load (just before main, init.c): start the
 * inherited inspector's control thread if there is one and it is not
 * running yet (the runtime's start starts it too). */
void cs_control_program_started(void);

/* Forked child: drop the parent's socket. */
void cs_control_atfork_child(void);


#endif
