/* SPDX-License-Identifier: Apache-2.0 */
/* bay-bus.h: a bay on D-Bus, /org/dockd/Dock1/bay/N with interface
 * org.dockd.Bay1 (docs/dbus-api.md): typed properties read from the live bay,
 * announced with PropertiesChanged through the manager's BusWatcher. */
#pragma once

#include "bus-names.h"
#include "manager.h"

/* Register bay b's object (b->index) on m->bus and watch its properties. */
int bay_bus_add(Manager *m, Bay *b);
