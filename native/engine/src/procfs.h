/*
 * procfs.h — reading one field of a small /proc file with raw system calls
 * (no stdio, no hooks): safe on any engine thread.
 */
#ifndef CS_PROCFS_H
#define CS_PROCFS_H

/* Read the file at `path` (first 4 KiB) and parse the hexadecimal number
 * after `key` (e.g. "SigBlk:", "eventfd-count:") into *out. 0 or -1. */
int cs_proc_hex_field(const char *path, const char *key, unsigned long long *out);

#endif
