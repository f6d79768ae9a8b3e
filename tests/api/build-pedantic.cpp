/* SPDX-License-Identifier: MIT */
/* The same program as build-pedantic.c, compiled as C++ (see there). */
#include "build-pedantic.c"
