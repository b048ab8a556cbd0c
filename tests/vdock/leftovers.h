/* leftovers.h: what COMMAND leaves running in the world ends before the world
 * is torn down.
 *
 * A process COMMAND leaves behind (a reader started in the background, a
 * daemon it did not stop) talks to a world that is going away: one that binds
 * a uevent socket as it starts (libusb_init(), sd-device) makes umockdev's
 * preload create an event<fd> file in the testbed, and one made while
 * umockdev's ~Testbed removes that directory makes it g_error() "cannot
 * remove ...: Directory not empty" (vdock dies of SIGTRAP, exit 133). vdock
 * becomes a child subreaper, so that whatever is orphaned in COMMAND's tree
 * comes to it, and ends those once COMMAND exited. Until then an orphan that
 * exits stays a zombie of vdock's. */
#pragma once
#include <glib.h>

/* Just before COMMAND starts: vdock adopts the orphans of its tree. Returns
 * vdock's own children at this point (umtprd, libfuse's fusermount3), whom
 * leftovers_end() leaves alone; NULL and error if the kernel refuses. */
GArray *leftovers_adopt(GError **error);
/* After COMMAND exited: SIGKILL and reap every child of vdock not in own,
 * then those the killed ones leave to vdock in turn, until none is left.
 * Returns how many were ended. */
unsigned leftovers_end(const GArray *own);
