/*
 * symbolize.c — libdw symbolisation of recorded code addresses (symbolize.h).
 *
 * Invariants: the cache is a small array of open Dwfl sessions owned by the
 * one thread that calls in (the addon's JS thread); an entry is never
 * shared across paths; a failed open is cached too (as a NULL session), so
 * a missing file is looked for once.
 */
#include "symbolize.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_OBJECTS 64

typedef struct object {
    char *path;
    char *build_id; /* as asked (NULL: no check) */
    Dwfl *dwfl;     /* NULL: could not be opened or the build id differs */
    Dwfl_Module *mod;
} object;

static object objects[MAX_OBJECTS];
static int nobjects, next_evict;

static char *debuginfo_path;
static const Dwfl_Callbacks callbacks = {
    .find_elf = dwfl_build_id_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .section_address = dwfl_offline_section_address,
    .debuginfo_path = &debuginfo_path,
};

static void close_object(object *o)
{
    if (o->dwfl) dwfl_end(o->dwfl);
    free(o->path);
    free(o->build_id);
    memset(o, 0, sizeof *o);
}

static int hex_equal(const unsigned char *bits, int n, const char *hex)
{
    static const char digits[] = "0123456789abcdef";
    if ((int)strlen(hex) != 2 * n) return 0;
    for (int i = 0; i < n; i++)
        if (hex[2 * i] != digits[bits[i] >> 4] || hex[2 * i + 1] != digits[bits[i] & 15]) return 0;
    return 1;
}

static object *open_object(const char *path, const char *build_id)
{
    if (build_id && !*build_id) build_id = NULL;
    for (int i = 0; i < nobjects; i++) {
        object *o = &objects[i];
        if (strcmp(o->path, path)) continue;
        if ((o->build_id == NULL) != (build_id == NULL) || (build_id && strcmp(o->build_id, build_id))) continue;
        return o;
    }
    object *o;
    if (nobjects < MAX_OBJECTS) {
        o = &objects[nobjects++];
    } else {
        o = &objects[next_evict];
        next_evict = (next_evict + 1) % MAX_OBJECTS;
        close_object(o);
    }
    o->path = strdup(path);
    o->build_id = build_id ? strdup(build_id) : NULL;
    Dwfl *dwfl = dwfl_begin(&callbacks);
    if (!dwfl) return o;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    Dwfl_Module *mod = fd >= 0 ? dwfl_report_elf(dwfl, path, path, fd, 0, false) : NULL;
    if (!mod) { /* dwfl closes fd only when it took it */
        if (fd >= 0) close(fd);
        dwfl_end(dwfl);
        return o;
    }
    dwfl_report_end(dwfl, NULL, NULL);
    if (build_id) {
        const unsigned char *bits;
        GElf_Addr vaddr;
        int n = dwfl_module_build_id(mod, &bits, &vaddr);
        if (n <= 0 || !hex_equal(bits, n, build_id)) {
            dwfl_end(dwfl);
            return o;
        }
    }
    o->dwfl = dwfl;
    o->mod = mod;
    return o;
}

static void copy(char *dst, size_t cap, const char *src)
{
    if (!src) src = "";
    size_t n = strlen(src);
    if (n >= cap) n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* The name of a subprogram or inlined subroutine DIE (through its abstract
 * origin / specification), preferring the linkage name for C++. */
static const char *die_name(Dwarf_Die *die)
{
    Dwarf_Attribute attr;
    const char *name = NULL;
    if (dwarf_attr_integrate(die, DW_AT_name, &attr)) name = dwarf_formstring(&attr);
    return name;
}

int cs_symbolize(const char *path, const char *build_id, uint64_t addr, cs_sym_frame *out, int max)
{
    if (max <= 0) return 0;
    object *o = open_object(path, build_id);
    if (!o->dwfl) return -1;
    Dwfl_Module *mod = o->mod;
    const char *sym = dwfl_module_addrname(mod, addr);
    int n = 0;
    memset(&out[0], 0, sizeof out[0]);
    copy(out[0].function, sizeof out[0].function, sym);
    Dwfl_Line *line = dwfl_module_getsrc(mod, addr);
    if (line) {
        int lineno = 0, col = 0;
        const char *file = dwfl_lineinfo(line, NULL, &lineno, &col, NULL, NULL);
        copy(out[0].file, sizeof out[0].file, file);
        out[0].line = lineno;
        out[0].column = col;
    }
    n = 1;
    if (!sym && !line) return 0;
    /* Inlined frames: the scopes at addr, innermost first. */
    Dwarf_Addr bias = 0;
    Dwarf_Die *cu = dwfl_module_addrdie(mod, addr, &bias);
    if (!cu) return n;
    Dwarf_Die *scopes = NULL;
    int ns = dwarf_getscopes(cu, addr - bias, &scopes);
    if (ns <= 0) return n;
    Dwarf_Files *files = NULL;
    size_t nfiles = 0;
    dwarf_getsrcfiles(cu, &files, &nfiles);
    int first_fn = 1;
    for (int i = 0; i < ns && n < max; i++) {
        int tag = dwarf_tag(&scopes[i]);
        if (tag != DW_TAG_inlined_subroutine && tag != DW_TAG_subprogram) continue;
        const char *name = die_name(&scopes[i]);
        if (first_fn) { /* the innermost function: frame 0 is in it */
            if (name) copy(out[0].function, sizeof out[0].function, name);
            first_fn = 0;
        } else {
            copy(out[n - 1].function, sizeof out[n - 1].function, name ? name : out[n - 1].function);
        }
        if (tag != DW_TAG_inlined_subroutine) break;
        /* inlined: the next frame is its caller, at the call site */
        out[n - 1].inlined = 1;
        cs_sym_frame *f = &out[n++];
        memset(f, 0, sizeof *f);
        Dwarf_Attribute attr;
        Dwarf_Word w;
        if (dwarf_attr(&scopes[i], DW_AT_call_file, &attr) && dwarf_formudata(&attr, &w) == 0 && files && w < nfiles)
            copy(f->file, sizeof f->file, dwarf_filesrc(files, w, NULL, NULL));
        if (dwarf_attr(&scopes[i], DW_AT_call_line, &attr) && dwarf_formudata(&attr, &w) == 0) f->line = (int)w;
        if (dwarf_attr(&scopes[i], DW_AT_call_column, &attr) && dwarf_formudata(&attr, &w) == 0) f->column = (int)w;
        copy(f->function, sizeof f->function, sym); /* refined by the next scope */
    }
    free(scopes);
    return n;
}

void cs_symbolize_reset(void)
{
    for (int i = 0; i < nobjects; i++) close_object(&objects[i]);
    nobjects = next_evict = 0;
}
