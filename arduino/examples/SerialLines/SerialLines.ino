// A task reads lines from the serial port, woken from an interrupt: the
// pin-change interrupt of RX (pin 0) posts an mt_signal when a byte starts
// to arrive, the reader task waits for it with MT_SIGNAL_WAIT (and a 5 s
// timeout, to say it is still there), then takes what Serial has buffered.
// Between bytes the CPU sleeps (the library's idle wait on Arduino). Try it
// in the serial monitor at 115200.
#include <avr/interrupt.h>
#include <avr/sleep.h>
#include <multitask.h>

static mt_signal rx;

ISR(PCINT2_vect) // RX is PD0 = PCINT16: a start bit
{
  mt_signal_post(&rx);
}

struct Reader {
  mt_task task;
  char line[48];
  unsigned char len;
};

static int reader(mt_task *t)
{
  Reader *f = (Reader *)t;
  MT_BEGIN(t);
  for (;;) {
    MT_CATCH(t, MT_SIGNAL_WAIT(t, &rx, 5000));
    if (mt_err(t) == MT_ETIMEDOUT) {
      Serial.println("(waiting for a line)");
      continue;
    }
    MT_SLEEP(t, 2); // let the rest of the byte land in Serial's buffer
    while (Serial.available() > 0) {
      char ch = (char)Serial.read();
      if (ch == '\r')
        continue;
      if (ch == '\n' || f->len == sizeof f->line - 1) {
        f->line[f->len] = '\0';
        Serial.print("line: ");
        Serial.println(f->line);
        f->len = 0;
      } else {
        f->line[f->len++] = ch;
      }
    }
  }
  MT_END(t);
}

static Reader r;

void setup()
{
  Serial.begin(115200);
  mt_signal_init(mt_default(), &rx);
  PCMSK2 |= _BV(PCINT16);
  PCICR |= _BV(PCIE2);
  mt_add(&r.task, reader);
}

void loop()
{
  mt_run(); // the reader runs for ever; the CPU sleeps between bytes
}
