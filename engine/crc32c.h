/*
 * crc32c — CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the
 * checksum of every WAL record.
 *
 * Convention (as zlib's crc32()): start with crc = 0; the pre- and
 * post-inversion happen inside, so calls chain:
 *     crc32c(crc32c(0, a, na), b, nb) == crc32c(0, a||b, na + nb)
 * and crc32c(0, "123456789", 9) == 0xE3069283.
 *
 * crc32c() picks the SSE4.2 instruction when the CPU has it and the
 * slicing-by-8 tables otherwise. The two paths are exported separately so the
 * tests can check them against each other. Owns no mutable state; thread-safe.
 */
#ifndef CAIRN_CRC32C_H
#define CAIRN_CRC32C_H
#include <stddef.h>
#include <stdint.h>

uint32_t crc32c(uint32_t crc, const void *p, size_t n);
/* Portable slicing-by-8 implementation. */
uint32_t crc32c_sw(uint32_t crc, const void *p, size_t n);
/* Hardware implementation; only call it when crc32c_hw_available() is 1. */
uint32_t crc32c_hw(uint32_t crc, const void *p, size_t n);
/* 1 if this CPU has the CRC32 instruction (x86 SSE4.2), else 0. */
int crc32c_hw_available(void);
#endif
