/*
 * hook_exec.c — the programs and children a process starts (exec family,
 * posix_spawn, system, popen, fork) and the process's own end (exit, _exit,
 * _Exit; main returning is init.c's).
 *
 * In a followed session (follow.h) every way of starting a program hands it
 * an environment that still loads the engine and names the inspector: the
 * one the program chose (envp, or environ for the forms without one) when it
 * carries them, else a copy with the missing entries added (cs_follow_env),
 * the way sandbox tools keep their preload. system() and popen() take their
 * environment from environ inside libc: the missing entries are put back
 * into the program's own environment (putenv/setenv) first.
 *
 * Before a program replaces this one, and after a spawn, the process says
 * what it started — a SPAWN record: pid, how, path, command line — and
 * whether the engine can follow it there: a statically linked program (no
 * ELF interpreter), a set-user-ID one (the loader ignores LD_PRELOAD) or one
 * of another architecture cannot be followed, and the record says why, so the
 * inspector reports it rather than losing it silently. fork() says which child
 * it made (the child joins by itself, init.c). exit(), _exit() and _Exit()
 * leave a PROCESS_EXIT record with the code (follow.c).
 *
 * Threads and signal state: any thread, also a vfork child (memory shared
 * with the suspended parent thread, whose ring it writes into): nothing on
 * the exec path allocates; the environment is built on the stack. Outside a
 * followed session the hooks are the real calls plus the records (when
 * telemetry is on). The real functions are resolved in the constructor
 * (cs_exec_hooks_resolve), before any other library's.
 */
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "follow.h"
#include "hook.h"
#include "log.h"

extern char **environ;

static struct {
    int (*execve)(const char *, char *const[], char *const[]);
    int (*execvpe)(const char *, char *const[], char *const[]);
    int (*fexecve)(int, char *const[], char *const[]);
    int (*posix_spawn)(pid_t *, const char *, const posix_spawn_file_actions_t *, const posix_spawnattr_t *,
                       char *const[], char *const[]);
    int (*posix_spawnp)(pid_t *, const char *, const posix_spawn_file_actions_t *, const posix_spawnattr_t *,
                        char *const[], char *const[]);
    int (*system)(const char *);
    FILE *(*popen)(const char *, const char *);
    pid_t (*fork)(void);
    void (*exit)(int);
    void (*_exit)(int);
    void (*_Exit)(int);
} real_exec;

static _Noreturn void unresolved(const char *name)
{
    cs_fatal("cannot resolve %s", name);
}

void cs_exec_hooks_resolve(void)
{
#define R(name)                                              \
    do {                                                     \
        *(void **)&real_exec.name = dlsym(RTLD_NEXT, #name); \
        if (!real_exec.name) unresolved(#name);              \
    } while (0)
    R(execve);
    R(execvpe);
    R(fexecve);
    R(posix_spawn);
    R(posix_spawnp);
    R(system);
    R(popen);
    R(fork);
    R(exit);
    R(_exit);
    R(_Exit);
#undef R
}

/* ---- what the program is ------------------------------------------------------------------------ */

/* Whether the engine can load into the program at path (enum coroscope_untraced). */
static int classify(const char *path)
{
    if (!cs_follow_on()) return COROSCOPE_UNTRACED_OFF;
    int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return COROSCOPE_UNTRACED_NO; /* the exec will fail (or a script the kernel can run): nothing to say */
    int why = COROSCOPE_UNTRACED_NO;
    struct stat st;
    Elf64_Ehdr eh;
    if (syscall(SYS_fstat, fd, &st) == 0 &&
        (((st.st_mode & S_ISUID) && st.st_uid != getuid()) || ((st.st_mode & S_ISGID) && st.st_gid != getgid()))) {
        why = COROSCOPE_UNTRACED_SETUID;
    } else if (syscall(SYS_pread64, fd, &eh, sizeof eh, 0) == (long)sizeof eh && !memcmp(eh.e_ident, ELFMAG, SELFMAG)) {
        if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != EM_X86_64) {
            why = COROSCOPE_UNTRACED_FOREIGN;
        } else {
            why = COROSCOPE_UNTRACED_STATIC;
            for (int i = 0; i < eh.e_phnum && i < 256; i++) {
                Elf64_Phdr ph;
                if (syscall(SYS_pread64, fd, &ph, sizeof ph, (off_t)(eh.e_phoff + (uint64_t)i * eh.e_phentsize)) !=
                    (long)sizeof ph)
                    break;
                if (ph.p_type == PT_INTERP) {
                    why = COROSCOPE_UNTRACED_NO;
                    break;
                }
            }
        }
    }
    syscall(SYS_close, fd);
    return why;
}

/* file as execvp would find it, into out ("" if not found). */
static void search_path(const char *file, char *out, size_t n)
{
    out[0] = '\0';
    if (!file || !*file) return;
    if (strchr(file, '/')) {
        snprintf(out, n, "%s", file);
        return;
    }
    const char *path = getenv("PATH");
    if (!path) path = "/bin:/usr/bin";
    for (const char *p = path;; p++) {
        const char *end = strchr(p, ':');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        int w = snprintf(out, n, "%.*s%s%s", (int)len, p, len ? "/" : "", file);
        if (w > 0 && (size_t)w < n && syscall(SYS_faccessat, AT_FDCWD, out, X_OK) == 0) return;
        if (!end) break;
        p = end;
    }
    out[0] = '\0';
}

static void join_argv(char *const argv[], char *out, size_t n)
{
    size_t k = 0;
    out[0] = '\0';
    for (size_t i = 0; argv && argv[i] && k + 1 < n; i++) {
        int w = snprintf(out + k, n - k, "%s%s", i ? " " : "", argv[i]);
        if (w < 0) break;
        k += (size_t)w;
    }
    if (k >= n) out[n - 1] = '\0';
}

/* The SPAWN record (telemetry on), published at once: an exec replaces the
 * process before any other publication. */
static void say_spawn(pid_t pid, int how, const char *path, char *const argv[], int why)
{
    if (!cs_tel()) return;
    int saved = errno;
    char cmd[1024];
    join_argv(argv, cmd, sizeof cmd);
    cs_co *co = cs_tls.co;
    cs_tel_emit(COROSCOPE_EV_SPAWN, co ? co->id : 0, (uint64_t)pid, (uint64_t)how, cs_tel_string(path), (uint64_t)why,
                cs_tel_string(cmd));
    cs_tel_flush();
    errno = saved;
}

/* ---- the environment ---------------------------------------------------------------------------- */

/* env re-armed into the caller's stack storage (ENV_STORAGE), or env itself. */
#define ENV_STORAGE(env)                                     \
    size_t env_n_ = 0;                                       \
    for (char *const *e_ = (env); e_ && *e_; e_++) env_n_++; \
    size_t env_cap_ = env_n_ + cs_follow_env_extra() + 2;    \
    char *env_out_[env_cap_];                                \
    char env_buf_[8192];
#define ENV_ARMED(env)                                                                         \
    ({                                                                                         \
        char *const *a_ = cs_follow_env((env), env_out_, env_cap_, env_buf_, sizeof env_buf_); \
        a_ ? a_ : (env);                                                                       \
    })

/* system() and popen() read environ inside libc: put what is missing back. */
static void arm_environ(void)
{
    if (!cs_follow_on()) return;
    ENV_STORAGE(environ);
    char *const *a = ENV_ARMED(environ);
    if (a == (char *const *)environ) return;
    for (size_t i = 0; a[i]; i++) {
        int present = 0;
        for (char **e = environ; e && *e && !present; e++) present = *e == a[i];
        if (present) continue;
        if (a[i] == env_buf_) /* LD_PRELOAD, rebuilt: copied by setenv */
            setenv("LD_PRELOAD", env_buf_ + 11, 1);
        else
            putenv(a[i]); /* follow.c's saved entries live as long as the process */
    }
}

/* ---- exec ---------------------------------------------------------------------------------------- */

CS_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
    ENV_STORAGE(envp);
    char *const *env = ENV_ARMED(envp);
    say_spawn(getpid(), COROSCOPE_SPAWN_EXEC, path, argv, classify(path));
    return real_exec.execve(path, argv, env);
}

CS_EXPORT int execv(const char *path, char *const argv[])
{
    return execve(path, argv, environ);
}

CS_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
    ENV_STORAGE(envp);
    char *const *env = ENV_ARMED(envp);
    char path[4096];
    search_path(file, path, sizeof path);
    if (path[0]) say_spawn(getpid(), COROSCOPE_SPAWN_EXEC, path, argv, classify(path));
    return real_exec.execvpe(file, argv, env);
}

CS_EXPORT int execvp(const char *file, char *const argv[])
{
    return execvpe(file, argv, environ);
}

CS_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
    ENV_STORAGE(envp);
    char *const *env = ENV_ARMED(envp);
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    say_spawn(getpid(), COROSCOPE_SPAWN_EXEC, path, argv, classify(path));
    return real_exec.fexecve(fd, argv, env);
}

/* execl & co.: their arguments as an argv on the stack. */
#define COLLECT_ARGS(arg0, ap, last)                                       \
    size_t argc_ = 1;                                                      \
    va_start(ap, arg0);                                                    \
    while (va_arg(ap, char *)) argc_++;                                    \
    va_end(ap);                                                            \
    char *argv_[argc_ + 1];                                                \
    argv_[0] = (char *)(arg0);                                             \
    va_start(ap, arg0);                                                    \
    for (size_t i_ = 1; i_ <= argc_; i_++) argv_[i_] = va_arg(ap, char *); \
    last;                                                                  \
    va_end(ap);

CS_EXPORT int execl(const char *path, const char *arg, ...)
{
    va_list ap;
    COLLECT_ARGS(arg, ap, (void)0)
    return execve(path, argv_, environ);
}

CS_EXPORT int execlp(const char *file, const char *arg, ...)
{
    va_list ap;
    COLLECT_ARGS(arg, ap, (void)0)
    return execvpe(file, argv_, environ);
}

CS_EXPORT int execle(const char *path, const char *arg, ...)
{
    va_list ap;
    char *const *envp;
    COLLECT_ARGS(arg, ap, envp = va_arg(ap, char *const *))
    return execve(path, argv_, envp);
}

/* ---- spawn --------------------------------------------------------------------------------------- */

CS_EXPORT int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
                          const posix_spawnattr_t *at, char *const argv[], char *const envp[])
{
    ENV_STORAGE(envp);
    char *const *env = ENV_ARMED(envp);
    pid_t p = 0;
    int r = real_exec.posix_spawn(&p, path, fa, at, argv, env);
    if (pid) *pid = p;
    if (!r) say_spawn(p, COROSCOPE_SPAWN_POSIX_SPAWN, path, argv, classify(path));
    return r;
}

CS_EXPORT int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
                           const posix_spawnattr_t *at, char *const argv[], char *const envp[])
{
    ENV_STORAGE(envp);
    char *const *env = ENV_ARMED(envp);
    pid_t p = 0;
    int r = real_exec.posix_spawnp(&p, file, fa, at, argv, env);
    if (pid) *pid = p;
    if (!r) {
        char path[4096];
        search_path(file, path, sizeof path);
        say_spawn(p, COROSCOPE_SPAWN_POSIX_SPAWN, path[0] ? path : file, argv, path[0] ? classify(path) : 0);
    }
    return r;
}

CS_EXPORT int system(const char *command)
{
    if (command) {
        arm_environ();
        char *argv[] = {"sh", "-c", (char *)command, NULL};
        say_spawn(0, COROSCOPE_SPAWN_POSIX_SPAWN, "/bin/sh", argv, classify("/bin/sh"));
    }
    return real_exec.system(command);
}

CS_EXPORT FILE *popen(const char *command, const char *mode)
{
    arm_environ();
    FILE *f = real_exec.popen(command, mode);
    if (f) {
        char *argv[] = {"sh", "-c", (char *)command, NULL};
        say_spawn(0, COROSCOPE_SPAWN_POSIX_SPAWN, "/bin/sh", argv, classify("/bin/sh"));
    }
    return f;
}

/* ---- fork ---------------------------------------------------------------------------------------- */

CS_EXPORT pid_t fork(void)
{
    pid_t p = real_exec.fork();
    if (p > 0)
        say_spawn(p, COROSCOPE_SPAWN_FORK, NULL, NULL, cs_follow_on() ? COROSCOPE_UNTRACED_NO : COROSCOPE_UNTRACED_OFF);
    return p;
}

/* ---- the end ------------------------------------------------------------------------------------- */

CS_EXPORT void exit(int code)
{
    cs_follow_exit(code);
    real_exec.exit(code);
    __builtin_unreachable();
}

CS_EXPORT void _exit(int code)
{
    cs_follow_exit(code);
    real_exec._exit(code);
    __builtin_unreachable();
}

CS_EXPORT void _Exit(int code)
{
    cs_follow_exit(code);
    real_exec._Exit(code);
    __builtin_unreachable();
}
