/* Header-only use, way 2: one file of a program defines MT_IMPLEMENTATION
 * before including the header, which then compiles the implementation;
 * the other files (impl_b.c) include the header as usual. */
#define _POSIX_C_SOURCE 200809L
#define MT_IMPLEMENTATION
#include "../../multitask.h"

int run_b(void);

int main(void) { return run_b(); }
