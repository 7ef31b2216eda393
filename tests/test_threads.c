/* Posts from other threads while the scheduler blocks and sleeps: none is
 * lost (a post is kept at most once: posts may merge, but the last one
 * always wakes a waiter), none leaves the loop waking for nothing. Built
 * plain in make test and under ThreadSanitizer in make tsan. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

#if MT_IO
#define POSTERS 2
#define POSTS 3000 /* per poster */

static mt_signal sig;
static int done_posting; /* written by main after the joins */
static int finished;     /* posters done (atomic) */

struct waiter { mt_task task; unsigned long woken; };

static int waiter(mt_task *t)
{
    struct waiter *f = (struct waiter *)t;
    MT_BEGIN(t);
    for (;;) {
        MT_SIGNAL_WAIT(t, &sig, MT_FOREVER);
        f->woken++;
    }
    MT_END(t);
}

/* Sleeps in small steps, so cycles also block on timers. */
struct napper { mt_task task; int i; };

static int napper(mt_task *t)
{
    struct napper *f = (struct napper *)t;
    MT_BEGIN(t);
    for (f->i = 0; f->i < 200 && !done_posting; f->i++)
        MT_SLEEP(t, 1);
    MT_END(t);
}

static void *poster(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg;
    int i;

    for (i = 0; i < POSTS; i++) {
        mt_signal_post(&sig);
        seed = seed * 1103515245u + 12345u;
        if ((seed >> 16) % 4 == 0) { /* now and then, let the loop block */
            struct timespec ts = {0, (long)((seed >> 8) % 50) * 1000};
            nanosleep(&ts, NULL);
        }
    }
    __atomic_add_fetch(&finished, 1, __ATOMIC_RELEASE);
    return NULL;
}

static void test_thread_posts(void **state)
{
    mt_sched s;
    static struct waiter w;
    static struct napper nap;
    pthread_t th[POSTERS];
    unsigned long cycles = 0, before;
    int i;
    char b;
    (void)state;

    mt_sched_init(&s);
    assert_int_equal(mt_signal_init(&s, &sig), 0);
    assert_int_equal(mt_sched_add(&s, &w.task, waiter), 0);
    assert_int_equal(mt_sched_add(&s, &nap.task, napper), 0);
    for (i = 0; i < POSTERS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, poster, (void *)(uintptr_t)(i + 1)), 0);
    while (__atomic_load_n(&finished, __ATOMIC_ACQUIRE) < POSTERS) { /* race */
        assert_true(mt_sched_run_once(&s, 5) >= 0);
        cycles++;
    }
    for (i = 0; i < POSTERS; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    done_posting = 1;
    /* Every post is in: the next cycles wake the waiter once more at most,
     * and leave nothing in the pipe. */
    assert_true(mt_sched_run_once(&s, 0) >= 0);
    assert_true(mt_sched_run_once(&s, 1) >= 0);
    assert_int_equal(read(s.wake_fd[0], &b, 1), -1);
    assert_int_equal(errno, EAGAIN);
    assert_int_equal(mt_sched_signalled(&s), 0);
    assert_true(w.woken >= 1 && w.woken <= POSTERS * POSTS);
    /* A post now, from this thread, is not lost. */
    before = w.woken;
    mt_signal_post(&sig);
    assert_true(mt_sched_run_once(&s, MT_FOREVER) >= 1);
    assert_int_equal(w.woken, before + 1);
    print_message("cycles while posting: %lu, wake-ups: %lu of %d posts\n", cycles,
                  w.woken, POSTERS * POSTS);
    assert_int_equal(mt_cancel(&w.task), 0);
    assert_int_equal(mt_cancel(&nap.task), 0);
    assert_int_equal(mt_sched_run(&s), 0);
    assert_sched_empty(&s);
    assert_int_equal(mt_sched_destroy(&s), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_thread_posts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
#else
int main(void)
{
    return 0; /* posts from threads need the self-pipe (the I/O layer) */
}
#endif
