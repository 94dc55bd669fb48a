/*
 * emit_symbol.h — the symbol of a coroutine's entry function, for CO_CREATE
 * a2 (telemetry on only).
 *
 * Resolution, once per entry address: dladdr (exported symbols: .dynsym);
 * failing an exact match there, the ELF symbol table (.symtab) of the object
 * holding the address, read from its file (static functions, programs linked
 * without -rdynamic; not for stripped files: no separate debug files). Names
 * are as the object spells them (C++ names stay mangled).
 *
 * Cache: a fixed, process-wide, insert-only table keyed by address, lock-free
 * (a slot is claimed with one CAS on its key and published with a release
 * store), so spawning the same function again costs a hash probe and the
 * string lookup of telemetry.c. Entries are never evicted: a function of an
 * object that was dlclose'd and replaced at the same address keeps its old
 * name. When the table (or a slot's probe window) is full, or another thread
 * is resolving the same address right now, the name is resolved uncached.
 *
 * Threads: any thread that spawns (a coroutine on a worker or a plain
 * thread), never a signal handler; it may take the loader's lock (dladdr)
 * and map a file, once per entry address. errno is kept.
 */
#ifndef CS_EMIT_SYMBOL_H
#define CS_EMIT_SYMBOL_H

#include <stddef.h>
#include <stdint.h>

/* Copy the symbol of the function at fn into buf (NUL-terminated, truncated
 * to cap - 1); returns its length, 0 if unknown. Cached. */
size_t cs_symbol_of(const void *fn, char *buf, size_t cap);

/* String id (cs_tel_string) of fn's symbol, 0 if unknown. */
uint64_t cs_emit_entry_symbol(const void *fn);

#endif
