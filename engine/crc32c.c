/*
 * crc32c.c — CRC-32C for WAL records, in hardware where the CPU allows.
 *
 * Why Castagnoli and not zlib's CRC-32: the Castagnoli polynomial has a
 * better Hamming distance at the record sizes the WAL writes, and x86 (SSE4.2)
 * computes it with one instruction, so checksumming a 64 KiB record costs a
 * few microseconds, far below the fdatasync it waits for. ext4, iSCSI, LevelDB
 * and Prometheus' WAL use the same function, so tools exist to check our files.
 *
 * Two implementations, one result:
 *   - crc32c_hw: the `crc32` instruction, 8 bytes per step (_mm_crc32_u64),
 *     then bytes for the tail. One dependency chain: about 8 bytes every 3
 *     cycles. Interleaving three chains and combining them would triple that,
 *     but the WAL is bound by fdatasync and a simple loop is easy to trust.
 *   - crc32c_sw: slicing-by-8 (eight 256-entry tables, 8 KiB): each step folds
 *     eight input bytes with eight table look-ups, no data-dependent branches.
 *     Loads are assembled little-endian byte by byte, so the result does not
 *     depend on the host's byte order or on the alignment of `p`.
 * crc32c() asks __builtin_cpu_supports("sse4.2") on each call (a load from
 * libgcc's cpu model, filled before main) instead of caching a function
 * pointer, so the library keeps no mutable global of its own.
 *
 * The tables are built once under pthread_once; after that they are read-only
 * and every function here is safe from any thread.
 *
 * Convention: the caller passes and receives the finished CRC (inversion is
 * internal), so crc32c(crc32c(0, a), b) == crc32c(0, a || b). Check value:
 * crc32c(0, "123456789", 9) == 0xE3069283 (tests/unit/engine/test_crc32c.c).
 */
#include "crc32c.h"

#include <pthread.h>

#if defined(__x86_64__) || defined(__i386__)
#include <nmmintrin.h>
#define CRC32C_X86 1
#else
#define CRC32C_X86 0
#endif

#define CRC32C_POLY 0x82F63B78u /* reflected 0x1EDC6F41 */

static uint32_t crc32c_tab[8][256];
static pthread_once_t crc32c_once = PTHREAD_ONCE_INIT;

static void crc32c_init_tables(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (CRC32C_POLY & (0u - (c & 1u)));
        crc32c_tab[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            crc32c_tab[t][i] = (crc32c_tab[t - 1][i] >> 8) ^ crc32c_tab[0][crc32c_tab[t - 1][i] & 0xff];
}

static inline uint32_t crc32c_ld32(const uint8_t *s)
{
    return (uint32_t)s[0] | (uint32_t)s[1] << 8 | (uint32_t)s[2] << 16 | (uint32_t)s[3] << 24;
}

uint32_t crc32c_sw(uint32_t crc, const void *p, size_t n)
{
    pthread_once(&crc32c_once, crc32c_init_tables);
    const uint8_t *s = p;
    uint32_t c = ~crc;
    while (n >= 8) {
        uint32_t lo = crc32c_ld32(s) ^ c, hi = crc32c_ld32(s + 4);
        c = crc32c_tab[7][lo & 0xff] ^ crc32c_tab[6][(lo >> 8) & 0xff] ^ crc32c_tab[5][(lo >> 16) & 0xff] ^
            crc32c_tab[4][lo >> 24] ^ crc32c_tab[3][hi & 0xff] ^ crc32c_tab[2][(hi >> 8) & 0xff] ^
            crc32c_tab[1][(hi >> 16) & 0xff] ^ crc32c_tab[0][hi >> 24];
        s += 8;
        n -= 8;
    }
    while (n--) c = (c >> 8) ^ crc32c_tab[0][(c ^ *s++) & 0xff];
    return ~c;
}

#if CRC32C_X86
__attribute__((target("sse4.2"))) uint32_t crc32c_hw(uint32_t crc, const void *p, size_t n)
{
    const uint8_t *s = p;
    uint32_t c = ~crc;
    /* Byte steps up to 8-byte alignment: unaligned 8-byte loads are legal on
     * x86 but can straddle cache lines; this costs at most 7 steps. */
    while (n && ((uintptr_t)s & 7)) {
        c = _mm_crc32_u8(c, *s++);
        n--;
    }
#if defined(__x86_64__)
    uint64_t c64 = c;
    while (n >= 8) {
        uint64_t v;
        __builtin_memcpy(&v, s, 8);
        c64 = _mm_crc32_u64(c64, v);
        s += 8;
        n -= 8;
    }
    c = (uint32_t)c64;
#else
    while (n >= 4) {
        uint32_t v;
        __builtin_memcpy(&v, s, 4);
        c = _mm_crc32_u32(c, v);
        s += 4;
        n -= 4;
    }
#endif
    while (n--) c = _mm_crc32_u8(c, *s++);
    return ~c;
}

int crc32c_hw_available(void) { return __builtin_cpu_supports("sse4.2") ? 1 : 0; }
#else
uint32_t crc32c_hw(uint32_t crc, const void *p, size_t n) { return crc32c_sw(crc, p, n); }
int crc32c_hw_available(void) { return 0; }
#endif

uint32_t crc32c(uint32_t crc, const void *p, size_t n)
{
#if CRC32C_X86
    if (__builtin_cpu_supports("sse4.2")) return crc32c_hw(crc, p, n);
#endif
    return crc32c_sw(crc, p, n);
}
