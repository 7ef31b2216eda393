/* Header-only use, way 1: one file includes multitask.c, with every
 * library symbol static. (The POSIX clock needs _POSIX_C_SOURCE before any
 * system header.) */
#define _POSIX_C_SOURCE 200809L
#define MT_STATIC
#include <stdio.h>

#include "../../multitask.c"

struct child { mt_task task; int v; };

static int child(mt_task *t)
{
    struct child *f = (struct child *)t;
    MT_BEGIN(t);
    MT_YIELD(t);
    f->v = 7;
    MT_END(t);
}

struct parent { mt_task task; struct child c; };

static int parent(mt_task *t)
{
    struct parent *f = (struct parent *)t;
    MT_BEGIN(t);
    MT_AWAIT(t, &f->c.task, child, MT_FOREVER);
    printf("include_c %d\n", f->c.v);
    MT_END(t);
}

int main(void)
{
    static struct parent p;
    mt_add(&p.task, parent);
    return mt_run();
}
