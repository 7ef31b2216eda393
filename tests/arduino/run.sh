#!/bin/sh
# The Arduino library for the Uno (ATmega328P), built as the IDE would, with
# avr-gcc and the Arduino AVR core of Debian's arduino-core-avr: the core,
# the library (src/), and each example sketch (.ino: Arduino.h included
# first); then Blink's image runs under simavr and its serial output is
# checked. (arduino-builder stops in the core's WString.cpp with Debian's
# avr-gcc 5.4: DECIMAL_DIG is C99-only in its float.h; -DDECIMAL_DIG= fixes
# that.)
set -eu
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
out=$BUILD/arduino
AVR=/usr/share/arduino/hardware/arduino/avr
[ -d "$AVR/cores/arduino" ] || { echo "FAIL arduino: no Arduino AVR core (apt-get install arduino-core-avr)"; exit 1; }
lib=$(tools/arduino_lib.sh "$out")
core=$AVR/cores/arduino
F="-mmcu=atmega328p -DF_CPU=16000000L -DARDUINO=10807 -DARDUINO_AVR_UNO -DARDUINO_ARCH_AVR
   -I$core -I$AVR/variants/standard -I$lib/src -Os -g -ffunction-sections -fdata-sections"
CXXF="-std=gnu++11 -fpermissive -fno-exceptions -fno-threadsafe-statics"
obj=$out/obj
rm -rf "$obj"
mkdir -p "$obj/core"
# The core, with the IDE's flags (warnings off, as the IDE has them).
for f in "$core"/*.c; do avr-gcc -c -w -std=gnu11 $F -o "$obj/core/$(basename "$f").o" "$f"; done
for f in "$core"/*.cpp; do
    avr-g++ -c -w $CXXF -DDECIMAL_DIG=__DECIMAL_DIG__ $F -o "$obj/core/$(basename "$f").o" "$f"
done
for f in "$core"/*.S; do avr-gcc -c -x assembler-with-cpp $F -o "$obj/core/$(basename "$f").o" "$f"; done
# The library: ours compiles warning-free.
avr-gcc -c -std=gnu11 -Wall -Wextra -Werror $F -o "$obj/multitask.o" "$lib/src/multitask.c"
fail=0
for dir in "$lib"/examples/*/; do
    name=$(basename "$dir")
    { echo '#include <Arduino.h>'; echo '#line 1'; cat "$dir/$name.ino"; } > "$obj/$name.cpp"
    if avr-g++ -c -Wall -Wextra -Werror $CXXF $F -o "$obj/$name.o" "$obj/$name.cpp" &&
        avr-gcc -mmcu=atmega328p -Os -Wl,--gc-sections -o "$out/$name.elf" "$obj/$name.o" \
            "$obj/multitask.o" "$obj"/core/*.o; then
        echo "ok   arduino: $name builds for the Uno ($(avr-size "$out/$name.elf" | awk 'NR == 2 { print $1 + $2 " B flash, " $2 + $3 " B RAM" }'))"
    else
        echo "FAIL arduino: $name"; fail=1
    fi
done
# Blink on simavr: four blinks, three counts, in their order in time, then
# done (the sketch sleeps with interrupts off, which ends the simulation).
if [ -f "$out/Blink.elf" ]; then
    timeout 120 simavr -m atmega328p -f 16000000 "$out/Blink.elf" > "$out/blink.log" 2>&1 || true
    got=$(tr -d '\r' < "$out/blink.log" | grep -ao 'blink [0-9]\|count [0-9]\|done' | paste -sd, -)
    want='blink 1,blink 2,count 1,blink 3,count 2,blink 4,count 3,done'
    if [ "$got" = "$want" ]; then
        echo "ok   arduino: Blink runs under simavr (serial: $got)"
    else
        echo "FAIL arduino: Blink under simavr: got '$got', want '$want'"; cat "$out/blink.log"; fail=1
    fi
fi
[ $fail = 0 ] && echo "arduino: passed" || { echo "arduino: FAILED"; exit 1; }
