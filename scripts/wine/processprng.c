/*
 * bcryptprimitives.dll for Wine 8, which lacks ProcessPrng.
 *
 * Rust's standard library (1.78 and later) fills its random bytes (HashMap
 * keys, tempfile names) with bcryptprimitives.dll!ProcessPrng, which real
 * Windows 10 and later export. Debian's Wine 8 has no such export, so every
 * Rust .exe stops at load time. This DLL, placed beside the .exe under test,
 * supplies that one function over advapi32's RtlGenRandom (exported as
 * SystemFunction036), which Wine has always had.
 *
 * Used only by scripts/ci-windows.sh to run the Windows build under Wine; it
 * is never shipped in a release archive.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    /* RtlGenRandom takes a ULONG: hand it the buffer in pieces that fit. */
    while (len > 0) {
        ULONG chunk = len > 0x40000000 ? 0x40000000 : (ULONG)len;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
