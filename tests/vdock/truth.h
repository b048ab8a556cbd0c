/* truth.h: the ground truth JSON (schema in tests/vdock/README.md). */
#pragma once
#include "world.h"

gboolean truth_write(World *w, const char *path, GError **error);
