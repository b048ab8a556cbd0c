/* SPDX-License-Identifier: Apache-2.0 */
/* bus-names.h: names of dockd's D-Bus API, shared by the daemon and dockctl. */
#pragma once

#define DOCKD_BUS_NAME "org.dockd.Dock1"
#define DOCKD_BUS_PATH "/org/dockd/Dock1"
#define DOCKD_BUS_INTERFACE "org.dockd.Dock1"
#define DOCKD_BAY_INTERFACE "org.dockd.Bay1"   /* of the objects DOCKD_BUS_PATH/bay/N */
