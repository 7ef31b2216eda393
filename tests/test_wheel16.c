/* tests/test_wheel.c with 16-bit ticks and a first level of 1024 slots,
 * whatever the variant being built sets: a copy of the library of its own
 * (every symbol static). Its second level then has 16 slots, so that both
 * reach a quarter of the tick range, and the tests' timers wrap. */
#define _POSIX_C_SOURCE 200809L
#undef MT_TIME_T
#undef MT_TIMER_LIST
#undef MT_WHEEL_BITS
#undef MT_WHEEL2_BITS
#define MT_TIME_T uint16_t
#define MT_TIMER_LIST 0
#define MT_WHEEL_BITS 10
#define MT_STATIC
#include "../multitask.h"
#include "../multitask.c"

typedef char test_wheel16_has_16_slots[MT__W2 == 16 ? 1 : -1];

#include "test_wheel.c"
