#!/bin/sh
# Prints the library's version, MAJOR.MINOR.PATCH, from multitask.h's
# MT_VERSION_* (the one place it is written; CMake reads the header too).
set -eu
cd "$(dirname "$0")/.."
sed -n 's/^#define MT_VERSION_[A-Z]* \([0-9]*\).*/\1/p' multitask.h | paste -sd. -
