#!/bin/sh
# Assembles the Arduino library (1.5 layout: library.properties, src/,
# examples/NAME/NAME.ino) from arduino/ and the two sources.
# Usage: tools/arduino_lib.sh OUTDIR   (make arduino-lib: OUTDIR/multitask)
set -eu
out=${1:?usage: tools/arduino_lib.sh OUTDIR}/multitask
case $out in /*) ;; *) out=$PWD/$out ;; esac # relative to where it is run
cd "$(dirname "$0")/.."
version=$(tools/version.sh)
grep -q "^version=$version\$" arduino/library.properties ||
    { echo "arduino/library.properties: version is not the header's ($version)" >&2; exit 1; }
rm -rf "$out"
mkdir -p "$out/src"
cp arduino/library.properties "$out/"
cp multitask.h multitask.c LICENSE "$out/src/"
cp -R arduino/examples "$out/"
echo "$out"
