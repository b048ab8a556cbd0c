/* world.h: the simulated dock: a umockdev testbed with the dock hub, one
 * port, charger and bicolour LED per bay, the status LED, and the cameras
 * that dock and undock. Everything runs on the main loop except URB
 * handling (usbdev.c), which takes world_lock(). */
#pragma once
#include <glib.h>

#include "scenario.h"

typedef struct World World;

typedef struct {
        gint64 mono_us, real_us;
        char *what;  /* e.g. LED name, "bay2" */
        char *attr;  /* attribute or event */
        char *value;
} WorldEvent;

World *world_new(Scenario *s, const char *world_dir, Pki *pki, GError **error);
/* Stop the emulation for good before world_free() and exit: umockdev's worker
 * thread, where every device's ioctls and timers run (and cameras sign), is
 * parked between two dispatches until the process ends; umockdev never joins
 * it. FALSE when it did not get there within timeout_ms (a handler is stuck):
 * then nothing it may touch may be freed. Call without the world lock. */
gboolean world_quiesce(World *w, guint timeout_ms);
void world_free(World *w);
const char *world_root(World *w);
GRecMutex *world_lock(World *w);
/* Applies every write the host made to the emulated sysfs (LEDs, chargers,
 * ports) before the call: the kernel acts in the write itself, vdock a moment
 * later. The control socket calls it before each command, so that what a
 * command shows (status, truth) follows every write made before it. */
void world_sync(World *w);
Scenario *world_scenario(World *w);

gboolean world_dock(World *w, const char *serial, unsigned bay, GError **error);
gboolean world_undock(World *w, unsigned bay, GError **error);
gboolean world_port_power(World *w, unsigned bay, gboolean on, const char *source, GError **error);
gboolean world_bay_fault(World *w, unsigned bay, const char *key, const char *value, GError **error);
/* The test CA revokes the camera's certificate; its CRL file is rewritten. */
gboolean world_revoke(World *w, const char *serial, GError **error);
/* Write the CA's current CRL to path (atomically). */
gboolean world_write_crl(World *w, const char *path, GError **error);
const char *world_crl_path(World *w);
/* JSON one-liner: bays, cameras, objects left. */
char *world_status(World *w);
/* Histories for the ground truth. */
GPtrArray *world_led_history(World *w);
GPtrArray *world_charger_history(World *w);
GPtrArray *world_port_history(World *w);
GPtrArray *world_dock_history(World *w);
