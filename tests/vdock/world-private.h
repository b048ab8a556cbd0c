/* world-private.h: World internals shared by world.c (hub, ports, cameras)
 * and world-sysfs.c (chargers, LEDs, watching what the dock writes). */
#pragma once
#include <umockdev.h>

#include "responder.h"
#include "umtprd.h"
#include "usbdev.h"
#include "world.h"

#define HUB_PATH "/devices/pci0000:00/0000:00:14.0/usb1/1-1"

typedef struct World World;

typedef struct {
        char *name;
        char *path; /* sysfs dir */
        int brightness;
        char *trigger;
        unsigned delay_on, delay_off;
} Led;

typedef struct {
        World *world;
        unsigned index;
        Camera *camera;
        gboolean port_power;
        unsigned devnum;
        char *syspath, *devnode;
        Responder *responder;   /* NULL for an umtprd camera */
        UsbDev *usbdev;
        unsigned ffs_binds;     /* umtprd camera: ffs_binds() when enumerated */
        ChargerFault charger_fault;
        gboolean inhibit;
        char *charger_dir;
        char *last_status;
        Led green, red;
        int port_fifo, port_fifo_writer; /* its port's disable attribute (world-ports.c) */
        guint port_source;
} Bay;

typedef enum { WATCH_CHARGE_BEHAVIOUR, WATCH_LED } WatchKind;

typedef struct {
        char *path;
        char *canonical; /* what vdock last wrote */
        WatchKind kind;
        unsigned bay;
        Led *led;
        char *attr;
} Watch;

struct World {
        GRecMutex lock;
        Scenario *scenario;
        Pki *pki;
        char *world_dir;
        UMockdevTestbed *testbed;
        char *root, *sys_dir;
        Bay bays[MAX_BAYS + 1];
        Led status_green, status_red;
        unsigned next_devnum;
        GPtrArray *retired, *retired_devs, *retired_descs; /* responders/usbdevs/descriptors outlive their enumeration */
        GHashTable *umtprds;    /* serial → Umtprd*: cameras answered by umtprd */
        guint reconcile_source; /* main loop: put umtprd gadgets on or off the bus */
        GPtrArray *led_history, *charger_history, *port_history, *dock_history;
        int inotify_fd;
        guint inotify_source, charger_timer;
        GHashTable *watches; /* wd → Watch* */
};

void world_record(GPtrArray *history, const char *what, const char *attr, const char *value);
void sysfs_write_file(const char *path, const char *value);
void sysfs_write_watched(World *w, const char *path, const char *value);
gboolean watch_init(World *w, GError **error);
void watch_fini(World *w);
void watch_sync(World *w);
void watch_free(gpointer data);
void watch_attribute(World *w, const char *path, WatchKind kind, unsigned bay);
void add_chargers(World *w);
void add_leds(World *w);
void leds_free(Bay *bay);
void world_leds_free(World *w);
void chargers_update(World *w);
/* Creates the ports' disable attributes (FIFOs) and acts on what is written to them. */
gboolean ports_init(World *w, GError **error);
void ports_fini(World *w);
void ports_sync(World *w);
