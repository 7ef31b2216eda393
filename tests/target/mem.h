/* memcpy and memset for builds with no libc (-nostdlib): the compiler may
 * call them for structure copies and zeroing. Included once per program,
 * by port_common.h or by a program with no port (size_features.c). */
#ifndef MEM_H
#define MEM_H

void *memcpy(void *dst, const void *src, unsigned int n);
void *memset(void *dst, int c, unsigned int n);

void *memcpy(void *dst, const void *src, unsigned int n)
{
    unsigned char *d = (unsigned char *)dst;
    const unsigned char *s = (const unsigned char *)src;
    while (n--)
        *d++ = *s++;
    return dst;
}

void *memset(void *dst, int c, unsigned int n)
{
    unsigned char *d = (unsigned char *)dst;
    while (n--)
        *d++ = (unsigned char)c;
    return dst;
}

#endif
