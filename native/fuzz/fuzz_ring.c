/*
 * fuzz_ring.c — libFuzzer target: the event ring's consumer (ring.h),
 * cs_ring_attach and cs_ring_read, against a hostile producer.
 *
 * Input (reads past the end give zeros):
 *   256 bytes   the ring header image (cache lines 0..3), at offset 0 of the
 *               4096-byte header; the rest of the header is zero
 *   1 byte      file shape: bit 0 leave the memfd unsealed, bit 1 cut the
 *               file short by 64 * (1 + (shape >> 4)) bytes
 *   2 bytes     n: how many slot images follow (slots 0..n-1, 64 bytes each)
 *   n * 64      slot images
 *   then        operations, 1 byte each plus operands, until the input ends:
 *     0 R       cs_ring_read of up to R + 1 records
 *     1 D       head += D (the producer publishes)
 *     2 H8      head = H (any value: a broken or hostile producer)
 *     3 D       tail += D (an overwriting producer gives records up)
 *     4 B       overwrite = B & 1
 *     5 I2 E64  slot I (masked) = E
 *     6 E64     cs_ring_write(E) by a producer handle on the same file
 *     7         cs_ring_flush of that producer
 * The ring's capacity is the header's when it is valid and at most 2^14
 * (file size), 64 otherwise (attach then refuses it).
 *
 * Checked beyond "no crash, no undefined behaviour":
 *   - attach returns 0 or one of its documented codes, with a message;
 *   - a read returns -CS_RING_ECORRUPT or 0..max records, and leaves the
 *     shared tail where the consumer says it is;
 *   - the records read are the slots [tail, tail + n) byte for byte, or,
 *     while resynchronising after records were given up, STRING,
 *     STRING_MORE and THREAD records only up to the first THREAD record.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fuzz.h"
#include "ring.h"

#define MAX_FUZZ_CAPACITY (1u << 14)
#define MAX_READ          256

static int valid_capacity(uint32_t c)
{
    return c >= CS_RING_MIN_CAPACITY && c <= CS_RING_MAX_CAPACITY && (c & (c - 1)) == 0;
}

static void check_attach_error(int e)
{
    FUZZ_CHECK(e > 0);
    FUZZ_CHECK(e < 4096 || (e >= CS_RING_EMAGIC && e <= CS_RING_ECORRUPT));
    const char *m = cs_ring_strerror(e);
    FUZZ_CHECK(m != NULL && m[0] != '\0');
}

static void checked_read(cs_ring *c, size_t max)
{
    static coroscope_event out[MAX_READ], before[MAX_READ];
    uint64_t t0 = atomic_load(&c->hdr->tail);
    int resyncing = c->c_resync || t0 != c->c_tail;
    /* What a read without resynchronisation must return: the slots from t0. */
    for (size_t i = 0; i < max; i++) before[i] = c->slots[(t0 + i) & c->mask];
    ssize_t n = cs_ring_read(c, out, max);
    if (n < 0) {
        FUZZ_CHECK(n == -CS_RING_ECORRUPT);
        return;
    }
    FUZZ_CHECK((size_t)n <= max);
    if (n == 0) return;
    FUZZ_CHECK(atomic_load(&c->hdr->tail) == c->c_tail);
    if (!resyncing) {
        FUZZ_CHECK(c->c_tail == t0 + (uint64_t)n);
        FUZZ_CHECK(memcmp(out, before, (size_t)n * sizeof *out) == 0);
        return;
    }
    for (ssize_t i = 0; i < n; i++) {
        uint16_t k = out[i].kind;
        if (k == COROSCOPE_EV_THREAD) break;
        FUZZ_CHECK(k == COROSCOPE_EV_STRING || k == COROSCOPE_EV_STRING_MORE);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in in = {data, size};
    static uint8_t header[CS_RING_HEADER_SIZE];
    memset(header, 0, sizeof header);
    fuzz_take(&in, header, 256);
    uint8_t shape = fuzz_u8(&in);
    cs_ring_header h;
    memcpy(&h, header, sizeof h);
    uint32_t cap = valid_capacity(h.capacity) && h.capacity <= MAX_FUZZ_CAPACITY ? h.capacity : 64;
    size_t fsize = CS_RING_HEADER_SIZE + (size_t)cap * COROSCOPE_EVENT_SIZE;
    if (shape & 2) fsize -= (size_t)COROSCOPE_EVENT_SIZE * (1 + (shape >> 4));

    int fd = fuzz_memfd("fuzz-ring", header, sizeof header);
    if (fd < 0) return 0;
    if (ftruncate(fd, (off_t)fsize)) {
        close(fd);
        return 0;
    }
    uint16_t nslots = fuzz_u16(&in);
    for (uint32_t i = 0; i < nslots; i++) {
        coroscope_event e;
        fuzz_take(&in, &e, sizeof e);
        off_t off = (off_t)(CS_RING_HEADER_SIZE + (size_t)i * COROSCOPE_EVENT_SIZE);
        if (i < cap && (size_t)off + sizeof e <= fsize && pwrite(fd, &e, sizeof e, off) != (ssize_t)sizeof e) break;
    }
    if (!(shape & 1)) syscall(SYS_fcntl, fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW);

    cs_ring c, p;
    int e = cs_ring_attach(&c, fd);
    if (e) {
        check_attach_error(e);
        close(fd);
        return 0;
    }
    FUZZ_CHECK(c.capacity == h.capacity && c.mask == h.capacity - 1u);
    FUZZ_CHECK(cs_ring_attach(&p, fd) == 0); /* the producer's handle */
    close(fd);                               /* the mappings stay */

    for (int ops = 0; ops < 4096 && fuzz_left(&in); ops++) {
        switch (fuzz_u8(&in) & 7) {
        case 0: checked_read(&c, (size_t)fuzz_u8(&in) + 1); break;
        case 1: atomic_fetch_add(&c.hdr->head, fuzz_u8(&in)); break;
        case 2: atomic_store(&c.hdr->head, fuzz_u64(&in)); break;
        case 3: atomic_fetch_add(&c.hdr->tail, fuzz_u8(&in)); break;
        case 4: atomic_store(&c.hdr->overwrite, fuzz_u8(&in) & 1u); break;
        case 5: {
            uint16_t i = fuzz_u16(&in);
            fuzz_take(&in, &c.slots[i & c.mask], sizeof(coroscope_event));
            break;
        }
        case 6: {
            coroscope_event ev;
            fuzz_take(&in, &ev, sizeof ev);
            int w = cs_ring_write(&p, &ev);
            FUZZ_CHECK(w == 0 || w == ENOBUFS);
            break;
        }
        case 7: {
            int f = cs_ring_flush(&p);
            FUZZ_CHECK(f == 0 || f == ENOBUFS);
            break;
        }
        }
    }
    /* Drain what is left, as a consumer does before it lets go. */
    for (int i = 0; i < 64; i++) checked_read(&c, MAX_READ);
    cs_ring_detach(&p);
    cs_ring_detach(&c);
    return 0;
}
