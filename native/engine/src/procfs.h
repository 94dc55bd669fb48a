/*
 * procfs.h — reading one field of a small /proc file with raw system calls
 * (no stdio, no hooks): safe on any engine thread.
 */
#ifndef CS_PROCFS_H
#define CS_PROCFS_H

#include <stddef.h>

/* Read the file at `path` (first 4 KiB) and parse the hexadecimal number
 * after `key` (e.g. "SigBlk:", "eventfd-count:") into *out. 0 or -1. */
int cs_proc_hex_field(const char *path, const char *key, unsigned long long *out);

/* Read up to n-1 bytes of the file at path into buf, NUL-terminated (empty
 * on failure); with nul_to_space, NULs inside become spaces (cmdline). */
void cs_proc_read(const char *path, char *buf, size_t n, int nul_to_space);

#endif
