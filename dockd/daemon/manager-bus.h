/* SPDX-License-Identifier: Apache-2.0 */
/* manager-bus.h: dockd's D-Bus API, org.dockd.Dock1 (bus-names.h), that
 * dockctl and monitoring use: the dock's status, its bays, its reports. */
#pragma once

#include "manager.h"

/* Connect to the system bus and serve the API from m's loop. The name is
 * requested asynchronously: a stuck bus never holds up cameras. */
int manager_bus_setup(Manager *m);
