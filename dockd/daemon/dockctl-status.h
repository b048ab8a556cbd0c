/* SPDX-License-Identifier: Apache-2.0 */
/* dockctl-status.h: `dockctl status` (a short summary that fits 80 columns:
 * dock, storage, spool, backlog, one line per bay) and `dockctl bay N` (one
 * bay in detail), read from dockd's JSON methods. Sizes in IEC units, times as
 * local dates with their age, every camera string escaped, colour only when
 * asked (on a terminal, without NO_COLOR). --json prints the document itself. */
#pragma once

#include <stdbool.h>
#include <json-c/json.h>
#include <systemd/sd-bus.h>

/* Call a JSON method of org.dockd.Dock1 (no arguments) and parse its answer.
 * escape: every string in it escaped with text_escape() (for text output;
 * JSON output is escaped by json-c). Prints why on failure. */
int dockctl_call_json(sd_bus *bus, const char *method, bool escape, struct json_object **ret);

int dockctl_status(sd_bus *bus, bool json, bool colour);
/* `dockctl bay N`: arg is N as typed. */
int dockctl_bay(sd_bus *bus, const char *arg, bool json, bool colour);
