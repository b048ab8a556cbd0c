/* SPDX-License-Identifier: Apache-2.0 */
/* dockctl-watch.h: `dockctl watch`, every bay live from dockd's PropertiesChanged
 * (docs/dbus-api.md): a view redrawn in place with progress bars on a terminal,
 * one dated line per change otherwise. Follows dockd across restarts. */
#pragma once

#include <stdbool.h>
#include <systemd/sd-bus.h>

/* Runs until SIGINT or SIGTERM; 0 then, < 0 if dockd cannot be watched. */
int dockctl_watch(sd_bus *bus, bool colour);
