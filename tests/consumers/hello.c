/* A program built against an installed multitask (pkg-config, CMake or
 * Meson): two tasks take turns, and it says which library it ran with and
 * which options the installed header carried. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>

#include <multitask.h>

struct turn { mt_task task; const char *name; int i; };

static int turn(mt_task *t)
{
    struct turn *f = (struct turn *)t;
    MT_BEGIN(t);
    for (f->i = 0; f->i < 2; f->i++) {
        printf("%s %d\n", f->name, f->i);
        MT_YIELD(t);
    }
    MT_END(t);
}

int main(void)
{
    static struct turn a = {{0}, "ping", 0}, b = {{0}, "pong", 0};
    char want[32];

    snprintf(want, sizeof want, "%d.%d.%d", MT_VERSION_MAJOR, MT_VERSION_MINOR,
             MT_VERSION_PATCH);
    if (strcmp(mt_version(), want) != 0) { /* the header and the library agree */
        printf("version mismatch: header %s, library %s\n", want, mt_version());
        return 1;
    }
    mt_add(&a.task, turn);
    mt_add(&b.task, turn);
    if (mt_run() != 0)
        return 1;
    printf("multitask %s, backend %d, labels %d\n", mt_version(), MT_BACKEND, MT_LC_LABELS);
    return 0;
}
