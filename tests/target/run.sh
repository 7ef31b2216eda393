#!/bin/sh
# The library on microcontroller targets.
#   run.sh test  build the target tests for Cortex-M0, Cortex-M4, RV32IMAC,
#                AVR and big-endian 32-bit PowerPC (Linux); run them under
#                qemu (Cortex-M, RISC-V), simavr (AVR) and qemu-user
#                (PowerPC, built by clang); the Cortex-M0 and AVR ones also
#                built by clang; the 8051 ones built by SDCC, run under
#                s51
#   run.sh size  .text/.data/.bss of the library object per target, the
#                core's share of a linked program, sizeof(mt_task), the
#                hosted builds, what each feature adds to a whole image
#                (size_features.c), and the RAM of a one-task program on AVR
#                with the defaults (run.sh test fails above 256 bytes)
set -eu
cd "$(dirname "$0")/../.."
mode=${1:-test}
out=${BUILD:-build}/target
mkdir -p "$out"
W="-std=c99 -Wall -Wextra -Wpedantic -Werror -Os -ffunction-sections -fdata-sections"
ARM="arm-none-eabi-gcc $W -mthumb -ffreestanding -fno-tree-loop-distribute-patterns"
RV="riscv64-unknown-elf-gcc $W -march=rv32imac -mabi=ilp32 -ffreestanding -fno-tree-loop-distribute-patterns"
AVR="avr-gcc $W -mmcu=atmega328p -DF_CPU=16000000UL"
T=tests/target
fail=0

# RAM of a one-task program on AVR with the library's defaults (no -D):
# sets avr_data, avr_bss, avr_ram.
AVR_RAM_MAX=256
avr_ram() {
    avr-gcc -std=c99 -Os -mmcu=atmega328p -ffunction-sections -fdata-sections -Wl,--gc-sections \
        -I. multitask.c $T/size_avr_ram.c -o "$out/avr-ram.elf" || return 1
    set -- $(avr-size "$out/avr-ram.elf" | awk 'NR == 2 { print $2, $3 }')
    avr_data=$1 avr_bss=$2 avr_ram=$(($1 + $2))
}

if [ "$mode" = size ]; then
    printf '| target | .text | .data | .bss | sizeof(mt_task) | core in a linked program |\n|---|---|---|---|---|---|\n'
    row() { # name, compile command, size tool, nm tool
        name=$1 cc=$2 sz=$3 nm=$4
        $cc -I. -c multitask.c -o "$out/$name.o"
        printf '#include "multitask.h"\nchar mt_task_size[sizeof(mt_task)];\n' > "$out/sizeof.c"
        $cc -I. -c "$out/sizeof.c" -o "$out/$name-sizeof.o"
        task=$($nm -S "$out/$name-sizeof.o" | awk '$4 == "mt_task_size" { print $2 }')
        core=-
        if [ "$name" = cortex-m0 ]; then
            $cc -I. -nostdlib -Wl,--gc-sections -Wl,-e,main multitask.c $T/size_core.c -lgcc -o "$out/core.elf"
            core=$($nm -S "$out/core.elf" | awk '$3 ~ /^[tT]$/ && $4 ~ /^mt_/ { print $2 }' |
                   while read -r h; do echo $((0x$h)); done | awk '{ s += $1 } END { print s " B" }')
        fi
        $sz "$out/$name.o" | awk -v n="$name" -v task="$((0x$task))" -v core="$core" \
            'NR == 2 { printf "| %s | %s | %s | %s | %s | %s |\n", n, $1, $2, $3, task, core }'
    }
    row cortex-m0 "$ARM -mcpu=cortex-m0" arm-none-eabi-size arm-none-eabi-nm
    row cortex-m4 "$ARM -mcpu=cortex-m4" arm-none-eabi-size arm-none-eabi-nm
    row rv32imac "$RV" riscv64-unknown-elf-size riscv64-unknown-elf-nm
    row atmega328p "$AVR" avr-size avr-nm
    printf '%s\n' "(core: the library functions linked into $T/size_core.c, a program using tasks, yield, sleep, await, catch and cancel)"
    # The same program with the toolchains' own C libraries, as Arduino and
    # vendor IDEs build: what it adds to an empty program, and whether it
    # pulled in stdio or the allocator.
    printf '\n| hosted build of size_core.c | empty program .text | with the library .text | added | stdio or heap linked |\n|---|---|---|---|---|\n'
    hosted() { # name, cc, size tool, nm tool
        printf 'int main(void) { return 0; }\n' > "$out/empty.c"
        $2 "$out/empty.c" -o "$out/$1-empty.elf"
        $2 -I. multitask.c $T/size_core.c -o "$out/$1-core.elf"
        e=$($3 "$out/$1-empty.elf" | awk 'NR == 2 { print $1 }')
        c=$($3 "$out/$1-core.elf" | awk 'NR == 2 { print $1 }')
        syms=$($4 "$out/$1-core.elf")
        libs=$(printf '%s\n' "$syms" | awk '$2 ~ /^[tT]$/ && $3 ~ /^(malloc|free|realloc|_sbrk|fprintf|fiprintf|vfprintf|fputs|printf)$/ { print $3 }' |
               sort | tr '\n' ' ')
        printf '| %s | %s | %s | %s | %s |\n' "$1" "$e" "$c" "$((c - e))" "${libs:-none}"
    }
    hosted "cortex-m0, newlib-nano" "arm-none-eabi-gcc -std=c99 -Os -mcpu=cortex-m0 -mthumb -ffunction-sections -fdata-sections --specs=nano.specs --specs=nosys.specs -Wl,--gc-sections" \
        arm-none-eabi-size arm-none-eabi-nm
    hosted "atmega328p, avr-libc" "avr-gcc -std=c99 -Os -mmcu=atmega328p -ffunction-sections -fdata-sections -Wl,--gc-sections" \
        avr-size avr-nm
    # What each feature adds to a whole image: size_features.c at LEVEL 1..8.
    # Cortex-M0: its own vectors and reset code, no libc (flash: .text +
    # .data; RAM: .data + .bss). AVR: avr-libc's startup; linked with room
    # to spare so that a program over the ATmega328P's 2 KB is measured too.
    printf '\n| features (size_features.c) | Cortex-M0 flash | added | Cortex-M0 RAM | ATmega328P RAM | ATmega328P RAM with names, messages, dump on |\n|---|---|---|---|---|---|\n'
    feature_ram() { # compile command, level, output name
        $1 -I. -DLEVEL="$2" multitask.c $T/size_features.c -Wl,--gc-sections \
            -Wl,--defsym=__DATA_REGION_LENGTH__=0xffa0 -o "$out/$3.elf" || return 1
        avr-size "$out/$3.elf" | awk 'NR == 2 { r = $2 + $3; print r (r > 2048 ? " (over 2 KB)" : "") }'
    }
    prev=0
    for level in 1 2 3 4 5 6 7 8; do
        case $level in
            1) what="1 task + yield" ;; 2) what="+ sleep" ;; 3) what="+ await a child" ;;
            4) what="+ queue" ;; 5) what="+ event, semaphore" ;;
            6) what="+ signal from an ISR" ;; 7) what="+ ring from an ISR" ;; 8) what="+ task dump" ;;
        esac
        $ARM -mcpu=cortex-m0 -nostdlib -I. -T $T/arm/microbit.ld -DLEVEL=$level multitask.c \
            $T/size_features.c -Wl,--gc-sections -lgcc -o "$out/features-$level.elf"
        set -- $(arm-none-eabi-size "$out/features-$level.elf" | awk 'NR == 2 { print $1 + $2, $2 + $3 }')
        flash=$1 ram=$2
        added=-
        [ $level = 1 ] || added="+$((flash - prev))"
        prev=$flash
        avr=$(feature_ram "avr-gcc $W -mmcu=atmega328p" $level features-avr-$level)
        avr_opts=$(feature_ram "$AVR -DMT_FUNC=__func__ -DMT_FILE=__FILE__ -DMT_DUMP=1 -DMT_MSGS=1" $level features-avr-opts-$level)
        printf '| %s | %s | %s | %s | %s | %s |\n' "$what" "$flash" "$added" "$ram" "$avr" "$avr_opts"
    done
    printf '%s\n' "(RAM: .data + .bss, not counting the stack; Cortex-M0: -mcpu=cortex-m0 -mthumb -Os, --gc-sections, tests/target/arm/microbit.ld, whole image without libc)"
    avr_ram
    printf '\nAVR one task + sleep, default settings: .data %s + .bss %s = %s B (target <= %s)\n' \
        "$avr_data" "$avr_bss" "$avr_ram" "$AVR_RAM_MAX"
    exit 0
fi

arm_run() { # cpu board linker-script [flags]
    elf=$out/tests-$1.elf
    $ARM -mcpu="$1" ${4:-} -nostdlib -I. -I$T -T $T/arm/$3 multitask.c $T/target_tests.c $T/arm/port.c \
        -Wl,--gc-sections -lgcc -o "$elf"
    if timeout 60 qemu-system-arm -nographic -monitor none -semihosting-config enable=on,target=native \
        -M "$2" -kernel "$elf" > "$out/$1.log" 2>&1 && grep -q '^EXIT 0' "$out/$1.log"; then
        echo "ok   $1 on qemu $2 ($(grep -c '^ok ' "$out/$1.log") checks)"
    else
        echo "FAIL $1 on qemu $2"; cat "$out/$1.log"; fail=1
    fi
}
arm_run cortex-m0 microbit microbit.ld -DCPU_HZ=16000000u # nRF51822: a real Cortex-M0, 16 KB of RAM
arm_run cortex-m4 mps2-an386 mps2.ld

# Clang builds the library and the tests (the ports' vendor macros are
# GCC's: the ports are compiled with GCC), GCC's linker and libgcc link.
clang_objs() { # name, clang flags, port compile command, port
    mkdir -p "$out/clang-$1"
    for f in multitask.c $T/target_tests.c; do
        clang $2 $W -I. -I$T -c "$f" -o "$out/clang-$1/$(basename "$f" .c).o" || return 1
    done
    $3 -I. -I$T -c "$4" -o "$out/clang-$1/port.o"
}
rm -f "$out/clang-m0.log"
CL_M0="--target=armv6m-none-eabi -mcpu=cortex-m0 -mthumb -ffreestanding -fshort-enums" # the EABI of arm-none-eabi-gcc
if clang_objs m0 "$CL_M0" "$ARM -mcpu=cortex-m0 -DCPU_HZ=16000000u" $T/arm/port.c &&
    arm-none-eabi-gcc -mcpu=cortex-m0 -mthumb -nostdlib -T $T/arm/microbit.ld "$out"/clang-m0/*.o \
        -Wl,--gc-sections -Wl,-z,noexecstack -lgcc -o "$out/clang-m0.elf" &&
    timeout 60 qemu-system-arm -nographic -monitor none -semihosting-config enable=on,target=native \
        -M microbit -kernel "$out/clang-m0.elf" > "$out/clang-m0.log" 2>&1 &&
    grep -q '^EXIT 0' "$out/clang-m0.log"; then
    echo "ok   cortex-m0 built by clang, on qemu microbit ($(grep -c '^ok ' "$out/clang-m0.log") checks)"
else
    echo "FAIL cortex-m0 built by clang"; cat "$out/clang-m0.log" 2>/dev/null; fail=1
fi

# RISC-V on qemu's virt board (-bios none, machine mode); the port's CSR
# instructions are the Zicsr extension, which rv32imac implied before the
# ISA split.
rm -f "$out/rv32.log"
if $RV -march=rv32imac_zicsr -I. -I$T -c $T/riscv/port.c -o "$out/rv32-port.o" &&
    $RV -nostdlib -I. -I$T -T $T/riscv/virt.ld multitask.c $T/target_tests.c "$out/rv32-port.o" \
        -Wl,--gc-sections -Wl,--no-warn-rwx-segments -lgcc -o "$out/tests-rv32.elf" &&
    timeout 60 qemu-system-riscv32 -nographic -monitor none -M virt -bios none \
        -semihosting-config enable=on,target=native -kernel "$out/tests-rv32.elf" > "$out/rv32.log" 2>&1 &&
    grep -q '^EXIT 0' "$out/rv32.log"; then
    echo "ok   rv32imac on qemu virt ($(grep -c '^ok ' "$out/rv32.log") checks)"
else
    echo "FAIL rv32imac on qemu virt"; cat "$out/rv32.log" 2>/dev/null; fail=1
fi

avr_run() { # name, elf: simavr exits 0 whatever happens and shows newlines
    # as "."; read the marker
    timeout 60 simavr -m atmega328p -f 16000000 "$2" > "$out/$1.log" 2>&1 || true
    if grep -aq 'EXIT 0' "$out/$1.log" && ! grep -aq 'FAIL' "$out/$1.log"; then
        echo "ok   atmega328p$3 on simavr ($(grep -ac 'ok [0-9]' "$out/$1.log") checks)"
    else
        echo "FAIL atmega328p$3 on simavr"; cat "$out/$1.log"; fail=1
    fi
}
$AVR -I. -I$T multitask.c $T/target_tests.c $T/avr/port.c -Wl,--gc-sections -o "$out/tests-avr.elf"
avr_run avr "$out/tests-avr.elf" ""
# This build has the allocator (MT_NO_HEAP 0): the unbounded queue runs on a target.
CL_AVR="--target=avr -mmcu=atmega328p -DF_CPU=16000000UL -DMT_NO_HEAP=0"
if clang_objs avr "$CL_AVR" "$AVR" $T/avr/port.c &&
    avr-gcc -mmcu=atmega328p "$out"/clang-avr/*.o -Wl,--gc-sections -o "$out/clang-avr.elf"; then
    avr_run clang-avr "$out/clang-avr.elf" " built by clang,"
else
    echo "FAIL atmega328p built by clang"; fail=1
fi
# Big-endian: 32-bit PowerPC, a Linux program under qemu-user (linked
# static: qemu needs no sysroot). SIGALRM at 1 kHz is the interrupt,
# sigsuspend the idle wait; the port refuses a little-endian target and
# prints "big-endian" first. Built twice: as every other target builds the
# library (MT_POSIX=0: timer list, no I/O layer, no heap) and with its
# defaults on Linux (the timer wheel, the self-pipe a post writes from the
# handler, the allocator). Clang compiles, with Debian's cross glibc and
# libgcc as sysroot and binutils' linker: gcc-powerpc-linux-gnu conflicts
# with gcc-multilib (make m32). ppc32's BSS PLT is a writable, executable
# segment.
PPC="clang --target=powerpc-linux-gnu --sysroot=/usr/powerpc-linux-gnu $W"
QEMU_PPC=$(command -v qemu-ppc || command -v qemu-ppc-static || echo qemu-ppc)
ppc_run() { # name, description, flags
    rm -f "$out/$1.log"
    if $PPC $3 -I. -I$T multitask.c $T/target_tests.c $T/ppc/port.c -static -Wl,--gc-sections \
            -Wl,--no-warn-rwx-segments -o "$out/tests-$1.elf" &&
        timeout 60 "$QEMU_PPC" "$out/tests-$1.elf" > "$out/$1.log" 2>&1 &&
        grep -qx 'big-endian' "$out/$1.log" && grep -q '^EXIT 0' "$out/$1.log"; then
        echo "ok   powerpc (32-bit, big-endian) $2, on qemu-user ($(grep -c '^ok ' "$out/$1.log") checks)"
    else
        echo "FAIL powerpc (32-bit, big-endian) $2"; cat "$out/$1.log" 2>/dev/null; fail=1
    fi
}
ppc_run ppc "as on bare metal (MT_POSIX=0)" -DMT_POSIX=0
ppc_run ppc-posix "with the Linux defaults" ""
# The 8051 (mcs51) with SDCC, under ucsim's s51 (sdcc-ucsim) as an 8052 at
# 48 MHz (a 12-clock core: 4 MIPS; the ring test's reader keeps up from
# 36 MHz): all the target tests with their port (tests/target/mcs51/port.c).
# --stack-auto: tasks are called through pointers and the library runs in
# the interrupt (reentrant functions), so every frame is on the 223 bytes
# of internal stack; the nested awaits take 213 of them with the library
# built --nogcse --fomit-frame-pointer (smaller frames; over 223 without),
# and the port's tick costs 2 bytes when it has nothing to do (see the
# port). The port prints the deepest the stack went ("stack: N of M
# bytes"); s51 stops on an overflow. --nogcse for the tests: SDCC 4.2's
# GCSE miscompiles a task with a `case` inside a `for`. The link must
# resolve every symbol (SDCC's linker only warns) and fit 64 KB of code.
# s51 reads its commands from stdin (with -G it quits before writing out
# the last lines).
SDCC="sdcc -mmcs51 --std-c99 --model-large --stack-auto -DMT_FUNC=0 -DMT_FILE=0 -DMT_DUMP=0 -DMT_MSGS=0"
M51_MHZ=48
m51=$out/mcs51
rm -rf "$m51" && mkdir -p "$m51"
if $SDCC --nogcse --fomit-frame-pointer -I. -c multitask.c -o "$m51/multitask.rel" > "$m51/build.log" 2>&1 &&
    $SDCC --nogcse -DCPU_HZ=${M51_MHZ}000000ul -I. -I$T -c $T/mcs51/port.c -o "$m51/port.rel" >> "$m51/build.log" 2>&1 &&
    (cd "$m51" && sdcc -mmcs51 --model-large --stack-auto --xram-size 0xff00 --code-size 0x10000 \
        port.rel multitask.rel -o tests.ihx) >> "$m51/build.log" 2>&1 &&
    ! grep -qi 'error\|undefined' "$m51/build.log" && [ -s "$m51/tests.ihx" ] &&
    printf 'run\nquit\n' | timeout 60 s51 -t 8052 -X ${M51_MHZ}M -I 'if=xram[0xffff]' \
        -S out="$m51/tests.log" "$m51/tests.ihx" > "$m51/s51.log" 2>&1 &&
    grep -q '^EXIT 0' "$m51/tests.log" && ! grep -q 'FAIL' "$m51/tests.log"; then
    echo "ok   8051 (mcs51) built by SDCC, on s51 at ${M51_MHZ} MHz ($(grep -c '^ok ' "$m51/tests.log") checks;" \
        "$(sed -n 's/^\(stack: [0-9]* of [0-9]* bytes\).*/\1/p' "$m51/tests.log");" \
        "$(awk '/ROM\/EPROM\/FLASH/ { print $4 }' "$m51/tests.mem") bytes of code)"
else
    echo "FAIL 8051 (mcs51) built by SDCC, on s51"
    cat "$m51/build.log" "$m51/tests.log" "$m51/s51.log" 2>/dev/null | tail -n 40; fail=1
fi
# User code with the AVR defaults (names, dump and messages off unless
# asked; MT_DEBUG turns the dump back on) under the embedded warning set.
uw=ok
for c in "" "-DMT_DEBUG=1"; do
    avr-gcc -mmcu=atmega328p -Os -std=c99 -Wall -Wextra -Wpedantic -Werror -Wconversion -Wsign-conversion \
        -Wcast-qual -Wshadow -Wundef $c -I. -c tests/user_warnings.c -o "$out/uw-avr.o" || uw="FAIL ($c)"
done
if [ "$uw" = ok ]; then echo "ok   atmega328p: user code clean under the embedded warning set, with and without MT_DEBUG"
else echo "FAIL atmega328p user code $uw"; fail=1; fi
# With the toolchains' own C libraries, tasks and sleeps link no stdio and
# no allocator (MT_NO_HEAP and the silent report are the defaults off POSIX).
no_libc() { # name, cc, nm tool
    $2 -I. multitask.c $T/size_core.c -o "$out/$1-hosted.elf" 2>/dev/null || { echo "FAIL $1 hosted build"; fail=1; return; }
    syms=$($3 "$out/$1-hosted.elf") || { echo "FAIL $1: $3"; fail=1; return; }
    libs=$(printf '%s\n' "$syms" | awk '$2 ~ /^[tT]$/ && $3 ~ /^(malloc|free|realloc|_sbrk|fprintf|fiprintf|vfprintf|fputs|printf)$/ { print $3 }' | tr '\n' ' ')
    if [ -z "$libs" ]; then echo "ok   $1: tasks and sleeps link no stdio, no allocator"
    else echo "FAIL $1: a program with tasks and sleeps links $libs"; fail=1; fi
}
no_libc "cortex-m0 with newlib-nano" "arm-none-eabi-gcc -std=c99 -Os -mcpu=cortex-m0 -mthumb -ffunction-sections -fdata-sections --specs=nano.specs --specs=nosys.specs -Wl,--gc-sections" arm-none-eabi-nm
no_libc "atmega328p with avr-libc" "avr-gcc -std=c99 -Os -mmcu=atmega328p -ffunction-sections -fdata-sections -Wl,--gc-sections" avr-nm
# RAM with the defaults on AVR: a regression check.
if avr_ram && [ "$avr_ram" -le $AVR_RAM_MAX ]; then
    echo "ok   atmega328p: one task + sleep, default settings, ${avr_ram} B of .data + .bss (at most $AVR_RAM_MAX)"
else
    echo "FAIL atmega328p: one task + sleep, default settings, ${avr_ram:-?} B of .data + .bss (at most $AVR_RAM_MAX)"; fail=1
fi
[ $fail = 0 ] && echo "target tests: 13 passed, 0 failed" || { echo "target tests FAILED"; exit 1; }
