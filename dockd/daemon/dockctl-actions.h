/* SPDX-License-Identifier: Apache-2.0 */
/* dockctl-actions.h: dockctl's operator verbs, each one action method that
 * polkit authorises (docs/dbus-api.md): retry-storage, disable-bay N,
 * enable-bay N, self-test N, hold CAMERA RECORDING REFERENCE, release CAMERA
 * RECORDING REFERENCE; and `holds`, which lists them. */
#pragma once

#include <systemd/sd-bus.h>

/* Run verb with its arguments (args, n_args). Returns 0 on success, < 0 on
 * failure (said on stderr), -ENOENT (nothing said) if verb is not one of these. */
int dockctl_action(sd_bus *bus, const char *verb, char **args, int n_args);
