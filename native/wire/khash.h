/*
 * khash.h — a keyed 64-bit hash for tables indexed by values read from
 * untrusted input (trace files, live streams): SipHash-1-3 of one 64-bit
 * word under a 128-bit key drawn once per process from getrandom(2).
 *
 * Why: an open-addressing table hashed with a fixed function lets a file
 * choose keys that all land in one probe run, making every insert and lookup
 * linear (issue 15: 160 k crafted string ids took 82 s to read). With a key
 * the file cannot know, its ids spread like random ones.
 *
 * Invariants: the key is set once (pthread_once) and never changes, so
 * tables hashed with it stay valid for the life of the process; the value of
 * cs_khash64 differs between processes and must never be written to a file
 * or compared across processes (codecs use fixed hashes instead).
 */
#ifndef CS_KHASH_H
#define CS_KHASH_H

#include <stdint.h>

uint64_t cs_khash64(uint64_t x);

#endif
