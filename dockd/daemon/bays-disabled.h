/* SPDX-License-Identifier: Apache-2.0 */
/* bays-disabled.h: which bays an operator disabled (SetEnabled), kept in
 * <state_dir>/bays-disabled.json, a JSON array of bay numbers, written
 * atomically, so that a disabled bay stays disabled across restarts. */
#pragma once

#include <stdbool.h>

/* disabled[i] for bay i + 1, i < n. No file: none disabled. A file that
 * cannot be read is logged and the error returned; disabled[] is then untouched. */
int bays_disabled_load(const char *state_dir, bool *disabled, unsigned n);
int bays_disabled_save(const char *state_dir, const bool *disabled, unsigned n);
