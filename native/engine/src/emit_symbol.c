/*
 * emit_symbol.c — entry-function symbols for CO_CREATE (emit_symbol.h).
 *
 * Invariants: runs on the spawning thread (signal mask untouched, never in a
 * signal handler), only when telemetry is on. The cache is written only by
 * the thread that won a slot's key CAS and read by others after the
 * release-store of `ready`; a slot's text never changes once ready. File
 * access uses raw system calls and mmap, none of which the engine hooks, so
 * nothing here is observed as the program's own calls. errno is kept.
 */
#include "emit_symbol.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "telemetry.h"

#define SLOTS        256 /* power of two */
#define PROBE        8
#define NAME_MAX_LEN 180

typedef struct {
    _Atomic uintptr_t key;   /* entry address; 0: free */
    _Atomic int ready;       /* name is complete */
    char name[NAME_MAX_LEN]; /* "" when unknown */
} sym_slot;

static sym_slot slots[SLOTS];

static size_t copy_name(const char *s, size_t n, char *buf, size_t cap)
{
    if (n >= cap) n = cap - 1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return n;
}

/* The FUNC symbol of an ELF file covering file-relative address `rel`
 * (exact start preferred), from its .symtab. 0 if none. */
static size_t from_symtab(const char *path, uintptr_t rel, char *buf, size_t cap)
{
    int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    struct stat st;
    void *map = MAP_FAILED;
    if (syscall(SYS_fstat, fd, &st) == 0 && st.st_size >= (off_t)sizeof(Elf64_Ehdr))
        map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    syscall(SYS_close, fd);
    if (map == MAP_FAILED) return 0;
    size_t size = (size_t)st.st_size, out = 0;
    const unsigned char *base = map;
    const Elf64_Ehdr *eh = map;
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
        eh->e_shentsize != sizeof(Elf64_Shdr) || eh->e_shoff == 0 || eh->e_shoff > size ||
        (size - eh->e_shoff) / sizeof(Elf64_Shdr) < eh->e_shnum)
        goto done;
    const Elf64_Shdr *sh = (const Elf64_Shdr *)(base + eh->e_shoff);
    for (unsigned i = 0; i < eh->e_shnum && !out; i++) {
        if (sh[i].sh_type != SHT_SYMTAB || sh[i].sh_entsize != sizeof(Elf64_Sym) || sh[i].sh_link >= eh->e_shnum)
            continue;
        const Elf64_Shdr *strs = &sh[sh[i].sh_link];
        if (sh[i].sh_offset > size || sh[i].sh_size > size - sh[i].sh_offset || strs->sh_offset > size ||
            strs->sh_size > size - strs->sh_offset)
            continue;
        const Elf64_Sym *sym = (const Elf64_Sym *)(base + sh[i].sh_offset);
        size_t nsym = sh[i].sh_size / sizeof(Elf64_Sym);
        const char *str = (const char *)(base + strs->sh_offset);
        const Elf64_Sym *best = NULL;
        for (size_t k = 0; k < nsym; k++) {
            int type = ELF64_ST_TYPE(sym[k].st_info);
            if ((type != STT_FUNC && type != STT_GNU_IFUNC) || sym[k].st_shndx == SHN_UNDEF ||
                sym[k].st_name >= strs->sh_size)
                continue;
            uint64_t v = sym[k].st_value, end = v + (sym[k].st_size ? sym[k].st_size : 1);
            if (rel < v || rel >= end) continue;
            if (!best || (v == rel && best->st_value != rel)) best = &sym[k];
            if (v == rel && ELF64_ST_BIND(sym[k].st_info) != STB_LOCAL)
                break; /* an exact global name: as good as it gets */
        }
        if (best) {
            const char *name = str + best->st_name;
            out = copy_name(name, strnlen(name, strs->sh_size - best->st_name), buf, cap);
        }
    }
done:
    munmap(map, size);
    return out;
}

static size_t resolve(const void *fn, char *buf, size_t cap)
{
    Dl_info info;
    struct link_map *lm = NULL;
    if (!dladdr1(fn, &info, (void **)&lm, RTLD_DL_LINKMAP)) return 0;
    if (info.dli_sname && info.dli_saddr == fn) return copy_name(info.dli_sname, strlen(info.dli_sname), buf, cap);
    if (!lm) return 0;
    /* The main program's link map has an empty name. */
    const char *path = lm->l_name && lm->l_name[0] ? lm->l_name : "/proc/self/exe";
    return from_symtab(path, (uintptr_t)fn - (uintptr_t)lm->l_addr, buf, cap);
}

size_t cs_symbol_of(const void *fn, char *buf, size_t cap)
{
    if (!fn || cap == 0) return 0;
    int saved = errno;
    uintptr_t key = (uintptr_t)fn;
    size_t h = (size_t)((key * 0x9E3779B97F4A7C15ull) >> 32) & (SLOTS - 1), n = 0;
    sym_slot *claimed = NULL;
    for (int i = 0; i < PROBE; i++) {
        sym_slot *s = &slots[(h + (size_t)i) & (SLOTS - 1)];
        uintptr_t k = atomic_load_explicit(&s->key, memory_order_acquire);
        if (k == 0) {
            uintptr_t zero = 0;
            if (atomic_compare_exchange_strong_explicit(&s->key, &zero, key, memory_order_acq_rel,
                                                        memory_order_acquire)) {
                claimed = s;
                break;
            }
            k = zero; /* someone else took it: for this address? */
        }
        if (k != key) continue;
        if (atomic_load_explicit(&s->ready, memory_order_acquire)) {
            n = copy_name(s->name, strlen(s->name), buf, cap);
            errno = saved;
            return n;
        }
        break; /* being resolved by another thread: do it ourselves, uncached */
    }
    char name[NAME_MAX_LEN];
    name[0] = '\0';
    size_t len = resolve(fn, name, sizeof name);
    if (claimed) {
        memcpy(claimed->name, name, len + 1);
        atomic_store_explicit(&claimed->ready, 1, memory_order_release);
    }
    n = len ? copy_name(name, len, buf, cap) : 0;
    if (!n) buf[0] = '\0';
    errno = saved;
    return n;
}

uint64_t cs_emit_entry_symbol(const void *fn)
{
    char name[NAME_MAX_LEN];
    return cs_symbol_of(fn, name, sizeof name) ? cs_tel_string(name) : 0;
}
