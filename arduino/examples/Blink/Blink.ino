// Two tasks on one Uno: one blinks the LED, one counts; both sleep with
// MT_SLEEP. On Arduino the library's clock is millis(), and when no task is
// due the CPU sleeps (idle mode) until the next interrupt: nothing to set
// up but the tasks.
#include <avr/sleep.h>
#include <multitask.h>

struct Blinker {
  mt_task task;
  int n;
};

static int blinker(mt_task *t)
{
  Blinker *f = (Blinker *)t;
  MT_BEGIN(t);
  for (f->n = 1; f->n <= 4; f->n++) {
    digitalWrite(LED_BUILTIN, f->n & 1);
    Serial.print("blink ");
    Serial.println(f->n);
    MT_SLEEP(t, 500);
  }
  MT_END(t);
}

struct Counter {
  mt_task task;
  int n;
};

static int counter(mt_task *t)
{
  Counter *f = (Counter *)t;
  MT_BEGIN(t);
  for (f->n = 1; f->n <= 3; f->n++) {
    MT_SLEEP(t, 700);
    Serial.print("count ");
    Serial.println(f->n);
  }
  MT_END(t);
}

static Blinker b;
static Counter c;

void setup()
{
  pinMode(LED_BUILTIN, OUTPUT);
  Serial.begin(115200);
  mt_add(&b.task, blinker);
  mt_add(&c.task, counter);
  mt_run(); // until both have ended
  Serial.println("done");
  Serial.flush();
}

void loop()
{
  cli(); // all ended: stop here (a simulator ends the run)
  sleep_enable();
  sleep_cpu();
}
