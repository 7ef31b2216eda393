/* The single-file edition, the file that compiles the implementation: it
 * defines MT_IMPLEMENTATION before the one #include (built as C and as
 * C++ by run.sh). */
#define _POSIX_C_SOURCE 200809L
#define MT_IMPLEMENTATION
#include "multitask.h"

int run_b(void);

int main(void) { return run_b(); }
