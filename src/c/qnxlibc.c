/*
 * The QNX-only C-library calls QNX code uses (itoa and friends, stricmp, strlwr, strlcpy
 * where glibc lacks it, ...).  The header overlays (<stdlib.h>, <string.h>) reach them
 * through asm labels under __libneutrino_ names, which no C library defines: a program that
 * defines its own itoa, or a glibc that has its own strlcpy, never clashes with them.
 */
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

/* ulltoa() and the rest: digits of `value` in `radix` (2 to 36, else EINVAL and NULL),
 * lower-case letters; `minus` puts a '-' first. */
static char *to_text(unsigned long long value, int minus, char *buf, int radix)
{
    char digits[8 * sizeof value];
    size_t n = 0;
    char *p = buf;
    if (radix < 2 || radix > 36) {
        errno = EINVAL;
        return NULL;
    }
    do {
        digits[n++] = "0123456789abcdefghijklmnopqrstuvwxyz"[value % (unsigned)radix];
        value /= (unsigned)radix;
    } while (value != 0);
    if (minus)
        *p++ = '-';
    while (n > 0)
        *p++ = digits[--n];
    *p = '\0';
    return buf;
}

/* Signed forms: a minus sign in radix 10 only; other radices show the value's bits as the
 * unsigned type of the same width (itoa(-1, buf, 16) is "ffffffff"), as QNX documents. */
static char *signed_text(long long value, unsigned long long as_unsigned, char *buf, int radix)
{
    if (radix == 10 && value < 0)
        return to_text(0ULL - (unsigned long long)value, 1, buf, radix);
    return to_text(as_unsigned, 0, buf, radix);
}

char *__libneutrino_itoa(int value, char *buf, int radix)
{
    return signed_text(value, (unsigned)value, buf, radix);
}

char *__libneutrino_ltoa(long value, char *buf, int radix)
{
    return signed_text(value, (unsigned long)value, buf, radix);
}

char *__libneutrino_lltoa(long long value, char *buf, int radix)
{
    return signed_text(value, (unsigned long long)value, buf, radix);
}

char *__libneutrino_utoa(unsigned value, char *buf, int radix)
{
    return to_text(value, 0, buf, radix);
}

char *__libneutrino_ultoa(unsigned long value, char *buf, int radix)
{
    return to_text(value, 0, buf, radix);
}

char *__libneutrino_ulltoa(unsigned long long value, char *buf, int radix)
{
    return to_text(value, 0, buf, radix);
}

int __libneutrino_stricmp(const char *s1, const char *s2)
{
    return strcasecmp(s1, s2);
}

int __libneutrino_strnicmp(const char *s1, const char *s2, size_t n)
{
    return strncasecmp(s1, s2, n);
}

int __libneutrino_memicmp(const void *s1, const void *s2, size_t n)
{
    const unsigned char *a = s1, *b = s2;
    for (size_t i = 0; i < n; i++) {
        int d = tolower(a[i]) - tolower(b[i]);
        if (d != 0)
            return d;
    }
    return 0;
}

char *__libneutrino_strlwr(char *s)
{
    for (char *p = s; *p != '\0'; p++)
        *p = (char)tolower((unsigned char)*p);
    return s;
}

char *__libneutrino_strupr(char *s)
{
    for (char *p = s; *p != '\0'; p++)
        *p = (char)toupper((unsigned char)*p);
    return s;
}

char *__libneutrino_strrev(char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n / 2; i++) {
        char c = s[i];
        s[i] = s[n - 1 - i];
        s[n - 1 - i] = c;
    }
    return s;
}

char *__libneutrino_strset(char *s, int c)
{
    return memset(s, c, strlen(s));
}

char *__libneutrino_strnset(char *s, int c, size_t n)
{
    return memset(s, c, strnlen(s, n));
}

/* BSD's: copies what fits of `src` into `dst` (size `n`), always terminated when n > 0, and
 * returns strlen(src): a result >= n means the copy was truncated. */
size_t __libneutrino_strlcpy(char *dst, const char *src, size_t n)
{
    size_t len = strlen(src);
    if (n > 0) {
        size_t k = len < n - 1 ? len : n - 1;
        memcpy(dst, src, k);
        dst[k] = '\0';
    }
    return len;
}

/* Appends what fits; returns the length it tried to make (strlen(dst) + strlen(src), with
 * strlen(dst) taken as n when dst holds no terminator within n). */
size_t __libneutrino_strlcat(char *dst, const char *src, size_t n)
{
    size_t have = strnlen(dst, n);
    if (have == n)
        return n + strlen(src);
    return have + __libneutrino_strlcpy(dst + have, src, n - have);
}
