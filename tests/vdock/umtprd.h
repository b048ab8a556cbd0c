/* umtprd.h: an unmodified umtprd (uMTP-Responder, Debian's umtp-responder)
 * as a camera. It runs in FunctionFS mode on files that vdock serves
 * (ffs-mount.h) and shares the folder cam->umtprd_dir; the world puts its
 * gadget on the bus (gadget.h) while it is bound and the camera docked. */
#pragma once
#include <glib.h>

#include "camera.h"
#include "ffs.h"
#include "usb-descriptors.h"

typedef struct Umtprd Umtprd;

/* changed: the gadget bound or unbound (any thread, lock held). Files live
 * in world_dir/umtprd-SERIAL: umtprd.conf, umtprd.log, the mount ffs/. */
Umtprd *umtprd_start(Camera *cam, const char *world_dir, GRecMutex *lock, void (*changed)(gpointer user_data),
                     gpointer user_data, GError **error);
void umtprd_stop(Umtprd *u);
Ffs *umtprd_ffs(Umtprd *u);
/* What the host sees; NULL while umtprd has not written its descriptors. Lock held. */
UsbDescriptors *umtprd_descriptors(Umtprd *u);
