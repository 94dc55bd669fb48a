/*
 * fuzz.h — what the libFuzzer targets of native/fuzz share: a cursor over
 * the input (reads past its end give zeros, so every input is a valid
 * program for a target), a memfd holding bytes, and FUZZ_CHECK, which
 * turns a broken invariant into a crash libFuzzer keeps as a reproducer.
 */
#ifndef CS_FUZZ_H
#define CS_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define FUZZ_CHECK(cond)                                                                 \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                     \
        }                                                                                \
    } while (0)

typedef struct fuzz_in {
    const uint8_t *p;
    size_t n;
} fuzz_in;

static inline int fuzz_left(const fuzz_in *in)
{
    return in->n != 0;
}

/* Copy n bytes out (zeros past the end). */
static inline void fuzz_take(fuzz_in *in, void *out, size_t n)
{
    size_t k = n < in->n ? n : in->n;
    memcpy(out, in->p, k);
    memset((char *)out + k, 0, n - k);
    in->p += k;
    in->n -= k;
}

static inline uint8_t fuzz_u8(fuzz_in *in)
{
    uint8_t v;
    fuzz_take(in, &v, 1);
    return v;
}

static inline uint16_t fuzz_u16(fuzz_in *in)
{
    uint16_t v;
    fuzz_take(in, &v, 2);
    return v;
}

static inline uint64_t fuzz_u64(fuzz_in *in)
{
    uint64_t v;
    fuzz_take(in, &v, 8);
    return v;
}

/* A memfd (sealable) holding data[0..n); -1 on failure. */
static inline int fuzz_memfd(const char *name, const void *data, size_t n)
{
    int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) return -1;
    for (size_t off = 0; off < n;) {
        ssize_t k = pwrite(fd, (const char *)data + off, n - off, (off_t)off);
        if (k <= 0) {
            close(fd);
            return -1;
        }
        off += (size_t)k;
    }
    return fd;
}

/* Read every byte of s[0..n) (ASan checks each), so a bad length shows. */
static inline uint64_t fuzz_touch(const void *s, size_t n)
{
    const volatile unsigned char *b = s;
    uint64_t h = 0;
    for (size_t i = 0; i < n; i++) h = h * 31 + b[i];
    return h;
}

#endif
