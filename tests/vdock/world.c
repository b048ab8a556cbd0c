/* world.c: the dock hub, bays, ports and camera enumeration (world.h).
 * Sysfs names follow the kernel: hub 1-1, ports 1-1:1.0/1-1-port<B>/disable,
 * camera 1-1.<B> with a fresh devnum at every enumeration. The ports' disable
 * attributes are in world-ports.c, chargers and LEDs in world-sysfs.c. */
#include "world-private.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "responder-usb.h"
#include "usbdev.h"

#define WORLD_ERROR g_quark_from_static_string("vdock-world")

void world_record(GPtrArray *history, const char *what, const char *attr, const char *value)
{
        WorldEvent *e = g_new0(WorldEvent, 1);

        e->mono_us = g_get_monotonic_time();
        e->real_us = g_get_real_time();
        e->what = g_strdup(what);
        e->attr = g_strdup(attr);
        e->value = g_strdup(value);
        g_ptr_array_add(history, e);
}

static void world_event_free(WorldEvent *e)
{
        g_free(e->what);
        g_free(e->attr);
        g_free(e->value);
        g_free(e);
}

static char *hex(GBytes *b)
{
        gsize n;
        const uint8_t *p = g_bytes_get_data(b, &n);
        GString *s = g_string_new(NULL);

        for (gsize i = 0; i < n; i++)
                g_string_append_printf(s, "%02x", p[i]);
        return g_string_free(s, FALSE);
}

static void add_hubs(World *w)
{
        g_autoptr(GBytes) root = usb_hub_descriptors(TRUE), hub = usb_hub_descriptors(FALSE);
        g_autofree char *rh = hex(root), *hh = hex(hub);
        g_autofree char *text = g_strdup_printf(
                "P: /devices/pci0000:00/0000:00:14.0/usb1\nN: bus/usb/001/001\n"
                "E: SUBSYSTEM=usb\nE: DEVTYPE=usb_device\nE: DRIVER=usb\nE: BUSNUM=001\nE: DEVNUM=001\n"
                "E: DEVNAME=/dev/bus/usb/001/001\nE: PRODUCT=1d6b/2/600\nE: TYPE=9/0/1\nE: MAJOR=189\nE: MINOR=0\n"
                "A: busnum=1\\n\nA: devnum=1\\n\nA: speed=480\\n\nA: idVendor=1d6b\\n\nA: idProduct=0002\\n\n"
                "A: bDeviceClass=09\\n\nA: bNumConfigurations=1\\n\nA: bConfigurationValue=1\\n\nA: devpath=0\\n\n"
                "A: maxchild=1\\n\nA: product=xHCI Host Controller\\n\nH: descriptors=%s\n\n"
                "P: " HUB_PATH "\nN: bus/usb/001/002\n"
                "E: SUBSYSTEM=usb\nE: DEVTYPE=usb_device\nE: DRIVER=usb\nE: BUSNUM=001\nE: DEVNUM=002\n"
                "E: DEVNAME=/dev/bus/usb/001/002\nE: PRODUCT=1209/d0d/100\nE: TYPE=9/0/1\nE: MAJOR=189\nE: MINOR=1\n"
                "A: busnum=1\\n\nA: devnum=2\\n\nA: speed=480\\n\nA: idVendor=1209\\n\nA: idProduct=0d0d\\n\n"
                "A: bDeviceClass=09\\n\nA: bNumConfigurations=1\\n\nA: bConfigurationValue=1\\n\nA: devpath=1\\n\n"
                "A: maxchild=%u\\n\nA: product=vdock dock hub\\n\nA: manufacturer=vdock\\n\nH: descriptors=%s\n\n"
                "P: " HUB_PATH "/1-1:1.0\nE: SUBSYSTEM=usb\nE: DEVTYPE=usb_interface\nE: DRIVER=hub\n"
                "E: INTERFACE=9/0/0\nE: PRODUCT=1209/d0d/100\nE: TYPE=9/0/1\n"
                "A: bInterfaceClass=09\\n\nA: bInterfaceSubClass=00\\n\nA: bInterfaceProtocol=00\\n\n"
                "A: bInterfaceNumber=00\\n\nA: bNumEndpoints=01\\n\n",
                rh, w->scenario->bays, hh);
        g_autoptr(GError) error = NULL;

        if (!umockdev_testbed_add_from_string(w->testbed, text, &error))
                g_error("adding the hub: %s", error->message);
}

static const char *string_of(const UsbDescriptors *d, uint8_t index)
{
        return index < USB_MAX_STRINGS && d->strings[index] ? d->strings[index] : "";
}

/* The device as the kernel shows it in sysfs, read from its descriptors. */
static char *camera_device_text(World *w, Bay *bay, const UsbDescriptors *d, const char *desc_hex)
{
        static const uint8_t no_interface[9] = { 9, 4 };
        const uint8_t *dev = g_bytes_get_data(d->descriptors, NULL);
        const uint8_t *conf = usb_find_descriptor(d, 2), *itf = usb_find_descriptor(d, 4);
        unsigned devnum = bay->devnum, b = bay->index;
        unsigned vid = dev[8] | dev[9] << 8, pid = dev[10] | dev[11] << 8, bcd = dev[12] | dev[13] << 8;

        if (!itf)
                itf = no_interface;
        return g_strdup_printf(
                "P: " HUB_PATH "/1-1.%u\n"
                "E: SUBSYSTEM=usb\nE: DEVTYPE=usb_device\nE: DRIVER=usb\nE: BUSNUM=001\nE: DEVNUM=%03u\n"
                "E: DEVNAME=/dev/bus/usb/001/%03u\nE: PRODUCT=%x/%x/%x\nE: TYPE=%u/%u/%u\n"
                "E: MAJOR=189\nE: MINOR=%u\nE: ID_SERIAL_SHORT=%s\n"
                "A: busnum=1\\n\nA: devnum=%u\\n\nA: speed=%s\\n\nA: idVendor=%04x\\n\nA: idProduct=%04x\\n\n"
                "A: bcdDevice=%04x\\n\nA: bDeviceClass=%02x\\n\nA: bDeviceSubClass=%02x\\n\nA: bDeviceProtocol=%02x\\n\n"
                "A: bNumConfigurations=1\\n\nA: bConfigurationValue=1\\n\nA: bNumInterfaces=%2u\\n\n"
                "A: bMaxPacketSize0=%u\\n\nA: bmAttributes=%02x\\n\nA: bMaxPower=%umA\\n\n"
                "A: version=%2x.%02x\\n\nA: devpath=1.%u\\n\nA: maxchild=0\\n\nA: removable=removable\\n\n"
                "A: authorized=1\\n\nA: manufacturer=%s\\n\nA: product=%s\\n\nA: serial=%s\\n\n"
                "H: descriptors=%s\n\n"
                "P: " HUB_PATH "/1-1.%u/1-1.%u:1.0\nE: SUBSYSTEM=usb\nE: DEVTYPE=usb_interface\n"
                "E: INTERFACE=%u/%u/%u\nE: PRODUCT=%x/%x/%x\nE: TYPE=%u/%u/%u\n"
                "E: MODALIAS=usb:v%04Xp%04Xd%04Xdc%02Xdsc%02Xdp%02Xic%02Xisc%02Xip%02Xin%02X\n"
                "A: bInterfaceClass=%02x\\n\nA: bInterfaceSubClass=%02x\\n\nA: bInterfaceProtocol=%02x\\n\n"
                "A: bInterfaceNumber=%02x\\n\nA: bAlternateSetting= 0\\n\nA: bNumEndpoints=%02x\\n\n"
                "A: interface=%s\\n\n",
                b, devnum, devnum, vid, pid, bcd, dev[4], dev[5], dev[6], devnum - 1,
                string_of(d, dev[16]), devnum, d->usb3 ? "5000" : "480", vid, pid, bcd, dev[4], dev[5], dev[6],
                conf ? conf[4] : 1, d->usb3 ? 1u << dev[7] : dev[7], conf ? conf[7] : 0x80,
                conf ? conf[8] * (d->usb3 ? 8u : 2u) : 0, dev[3], dev[2], b, string_of(d, dev[14]),
                string_of(d, dev[15]), string_of(d, dev[16]), desc_hex, b, b, itf[5], itf[6], itf[7], vid, pid,
                bcd, dev[4], dev[5], dev[6], vid, pid, bcd, dev[4], dev[5], dev[6], itf[5], itf[6], itf[7], itf[2],
                itf[5], itf[6], itf[7], itf[2], itf[4], string_of(d, itf[8]));
}

static void unplug_trigger(UsbDev *dev, Trigger *t, gpointer user_data);

/* What the camera presents on the bus, or NULL (an umtprd not bound yet). */
static UsbDescriptors *camera_descriptors(World *w, Bay *bay, const UsbFunctionOps **ops, gpointer *fn)
{
        Camera *cam = bay->camera;
        UsbIdentity id = { cam->usb3, cam->manufacturer, cam->model, camera_presented_serial(cam) };
        Umtprd *u = g_hash_table_lookup(w->umtprds, cam->serial);
        UsbDescriptors *d;

        if (u) {
                g_rec_mutex_lock(&w->lock);
                d = umtprd_descriptors(u);
                bay->ffs_binds = ffs_binds(umtprd_ffs(u));
                g_rec_mutex_unlock(&w->lock);
                *ops = &ffs_usb_ops;
                *fn = umtprd_ffs(u);
                return d;
        }
        bay->responder = responder_new(cam, vclock_system(), cam->usb3 ? 1024 : 512);
        g_ptr_array_add(w->retired, bay->responder);
        *ops = &responder_usb_ops;
        *fn = bay->responder;
        return usb_camera_descriptors(&id);
}

static void enumerate(World *w, Bay *bay)
{
        Camera *cam = bay->camera;
        const UsbFunctionOps *ops;
        gpointer fn;
        UsbDescriptors *desc = camera_descriptors(w, bay, &ops, &fn);
        g_autofree char *desc_hex = NULL, *text = NULL, *devnode = NULL, *link = NULL, *target = NULL;
        g_autofree char *node = NULL, *dirname = NULL;
        g_autoptr(GError) error = NULL;

        if (!desc)
                return; /* umtprd has not bound its gadget yet */
        g_ptr_array_add(w->retired_descs, desc);
        desc_hex = hex(desc->descriptors);
        bay->devnum = w->next_devnum++;
        if (w->next_devnum > 127)
                w->next_devnum = 3;
        devnode = g_strdup_printf("/dev/bus/usb/001/%03u", bay->devnum);
        bay->usbdev = usbdev_new(&w->lock, ops, fn, desc, cam->link_mbps * 1e6, unplug_trigger, bay);
        g_ptr_array_add(w->retired_devs, bay->usbdev);
        if (!umockdev_testbed_attach_ioctl(w->testbed, devnode, usbdev_handler(bay->usbdev), &error))
                g_error("attach ioctl %s: %s", devnode, error->message);
        /* The node is ours (no "N:" line, which umockdev would make a plain
         * file), and exists before the uevent announces it. */
        node = g_build_filename(w->root, devnode, NULL);
        if (g_mkdir_with_parents(dirname = g_path_get_dirname(node), 0755) < 0 ||
            !usbdev_serve_node(bay->usbdev, node, &error))
                g_error("device node %s: %s", node, error ? error->message : g_strerror(errno));
        text = camera_device_text(w, bay, desc, desc_hex);
        if (!umockdev_testbed_add_from_string(w->testbed, text, &error))
                g_error("adding camera: %s", error->message);
        bay->syspath = g_strdup_printf("/sys" HUB_PATH "/1-1.%u", bay->index);
        bay->devnode = g_steal_pointer(&devnode);
        link = g_strdup_printf("%s" HUB_PATH "/1-1.%u/port", w->sys_dir, bay->index);
        target = g_strdup_printf("../1-1:1.0/1-1-port%u", bay->index);
        if (symlink(target, link) < 0 && errno != EEXIST)
                g_warning("%s: %s", link, g_strerror(errno));
        if (!bay->responder) { /* the host configures the gadget */
                g_rec_mutex_lock(&w->lock);
                ffs_connect(fn);
                g_rec_mutex_unlock(&w->lock);
        }
        world_record(w->dock_history, cam->serial, "enumerated", bay->devnode);
}

static void deenumerate(World *w, Bay *bay)
{
        g_autofree char *iface = NULL;
        Umtprd *u;

        if (!bay->usbdev)
                return;
        u = g_hash_table_lookup(w->umtprds, bay->camera->serial);
        g_rec_mutex_lock(&w->lock);
        usbdev_disconnect(bay->usbdev);
        if (u)
                ffs_disconnect(umtprd_ffs(u));
        else
                responder_power_cycle(bay->responder);
        g_rec_mutex_unlock(&w->lock);
        iface = g_strdup_printf("%s/1-1.%u:1.0", bay->syspath, bay->index);
        /* umockdev_testbed_remove_device() sends no uevent; a kernel does, and
         * hotplug clients (libusb, sd-device) only learn of the removal from it. */
        umockdev_testbed_uevent(w->testbed, iface, "remove");
        umockdev_testbed_uevent(w->testbed, bay->syspath, "remove");
        umockdev_testbed_remove_device(w->testbed, iface);
        umockdev_testbed_remove_device(w->testbed, bay->syspath);
        umockdev_testbed_detach_ioctl(w->testbed, bay->devnode, NULL);
        world_record(w->dock_history, bay->camera->serial, "removed", bay->devnode);
        bay->usbdev = NULL;
        bay->responder = NULL;
        g_clear_pointer(&bay->syspath, g_free);
        g_clear_pointer(&bay->devnode, g_free);
}

/* An umtprd camera is on the bus while docked, powered and bound; a new
 * binding (umtprd started over) is a new device. */
static void reconcile_bay(World *w, Bay *bay)
{
        Umtprd *u = bay->camera ? g_hash_table_lookup(w->umtprds, bay->camera->serial) : NULL;
        gboolean bound;
        unsigned binds;

        if (!u)
                return;
        g_rec_mutex_lock(&w->lock);
        bound = ffs_is_bound(umtprd_ffs(u));
        binds = ffs_binds(umtprd_ffs(u));
        g_rec_mutex_unlock(&w->lock);
        if (bay->usbdev && (!bound || !bay->port_power || binds != bay->ffs_binds))
                deenumerate(w, bay);
        if (!bay->usbdev && bound && bay->port_power)
                enumerate(w, bay);
}

static gboolean reconcile_cb(gpointer data)
{
        World *w = data;

        g_rec_mutex_lock(&w->lock);
        w->reconcile_source = 0;
        g_rec_mutex_unlock(&w->lock);
        for (unsigned b = 1; b <= w->scenario->bays; b++)
                reconcile_bay(w, &w->bays[b]);
        return G_SOURCE_REMOVE;
}

/* Any thread, world lock held: an umtprd bound or unbound its gadget. */
static void umtprd_changed(gpointer user_data)
{
        World *w = user_data;

        if (!w->reconcile_source)
                w->reconcile_source = g_idle_add(reconcile_cb, w);
}

static Bay *get_bay(World *w, unsigned index, GError **error)
{
        if (index < 1 || index > w->scenario->bays) {
                g_set_error(error, WORLD_ERROR, 1, "no bay %u (1..%u)", index, w->scenario->bays);
                return NULL;
        }
        return &w->bays[index];
}

gboolean world_dock(World *w, const char *serial, unsigned index, GError **error)
{
        Camera *cam = scenario_camera(w->scenario, serial);
        Bay *bay = get_bay(w, index, error);
        g_autofree char *where = NULL;

        if (!bay)
                return FALSE;
        if (!cam) {
                g_set_error(error, WORLD_ERROR, 1, "no camera %s", serial);
                return FALSE;
        }
        if (cam->docked_bay || bay->camera) {
                g_set_error(error, WORLD_ERROR, 1, "%s", cam->docked_bay ? "camera already docked" : "bay occupied");
                return FALSE;
        }
        g_rec_mutex_lock(&w->lock);
        bay->camera = cam;
        cam->docked_bay = (int) index;
        cam->battery.last_update_us = g_get_monotonic_time();
        g_rec_mutex_unlock(&w->lock);
        where = g_strdup_printf("%u", index);
        world_record(w->dock_history, serial, "dock", where);
        if (bay->port_power)
                enumerate(w, bay);
        chargers_update(w);
        return TRUE;
}

gboolean world_undock(World *w, unsigned index, GError **error)
{
        Bay *bay = get_bay(w, index, error);
        g_autofree char *where = NULL;

        if (!bay)
                return FALSE;
        if (!bay->camera) {
                g_set_error(error, WORLD_ERROR, 1, "bay %u is empty", index);
                return FALSE;
        }
        chargers_update(w);
        deenumerate(w, bay);
        where = g_strdup_printf("%u", index);
        world_record(w->dock_history, bay->camera->serial, "undock", where);
        g_rec_mutex_lock(&w->lock);
        bay->camera->docked_bay = 0;
        camera_undocked(bay->camera); /* armed reuse_recording_id */
        bay->camera = NULL;
        g_rec_mutex_unlock(&w->lock);
        chargers_update(w);
        return TRUE;
}

gboolean world_port_power(World *w, unsigned index, gboolean on, const char *source, GError **error)
{
        Bay *bay = get_bay(w, index, error);
        g_autofree char *what = NULL;

        if (!bay)
                return FALSE;
        what = g_strdup_printf("bay%u", index);
        world_record(w->port_history, what, source, on ? "on" : "off");
        if (bay->port_power == on)
                return TRUE;
        chargers_update(w);
        bay->port_power = on;
        if (!on)
                deenumerate(w, bay);
        else if (bay->camera)
                enumerate(w, bay);
        chargers_update(w);
        return TRUE;
}

typedef struct {
        World *world;
        unsigned bay;
        char *serial;
        double redock_after;
} Redock;

static gboolean redock_cb(gpointer data)
{
        Redock *r = data;
        g_autoptr(GError) error = NULL;

        if (!world_dock(r->world, r->serial, r->bay, &error))
                g_warning("redock %s: %s", r->serial, error->message);
        g_free(r->serial);
        g_free(r);
        return G_SOURCE_REMOVE;
}

static gboolean unplug_cb(gpointer data)
{
        Redock *r = data;
        g_autoptr(GError) error = NULL;

        world_record(r->world->dock_history, r->serial, "unplug-fault", "");
        if (!world_undock(r->world, r->bay, &error))
                g_warning("unplug: %s", error->message);
        if (r->redock_after >= 0) {
                g_timeout_add((guint) (r->redock_after * 1000), redock_cb, r);
                return G_SOURCE_REMOVE;
        }
        g_free(r->serial);
        g_free(r);
        return G_SOURCE_REMOVE;
}

/* Worker thread, lock held: the camera must leave the bus now (URBs end
 * with -ESHUTDOWN at once); the sysfs side follows on the main loop. */
static void unplug_trigger(UsbDev *dev, Trigger *t, gpointer user_data)
{
        Bay *bay = user_data;
        Redock *r = g_new0(Redock, 1);

        usbdev_disconnect(dev);
        r->world = bay->world;
        r->bay = bay->index;
        r->serial = g_strdup(bay->camera->serial);
        r->redock_after = t->redock_after;
        g_idle_add(unplug_cb, r);
}

static gboolean start_umtprds(World *w, GError **error)
{
        for (guint i = 0; i < w->scenario->cameras->len; i++) {
                Camera *cam = w->scenario->cameras->pdata[i];
                Umtprd *u;

                if (cam->responder != CAMERA_UMTPRD)
                        continue;
                u = umtprd_start(cam, w->world_dir, &w->lock, umtprd_changed, w, error);
                if (!u)
                        return FALSE;
                g_hash_table_insert(w->umtprds, cam->serial, u);
        }
        return TRUE;
}

World *world_new(Scenario *s, const char *world_dir, Pki *pki, GError **error)
{
        World *w = g_new0(World, 1);

        g_rec_mutex_init(&w->lock);
        w->scenario = s;
        w->world_dir = g_strdup(world_dir);
        w->next_devnum = 3;
        w->testbed = umockdev_testbed_new();
        w->root = umockdev_testbed_get_root_dir(w->testbed);
        w->sys_dir = umockdev_testbed_get_sys_dir(w->testbed);
        w->retired = g_ptr_array_new_with_free_func((GDestroyNotify) responder_free);
        w->retired_devs = g_ptr_array_new();
        w->retired_descs = g_ptr_array_new_with_free_func((GDestroyNotify) usb_descriptors_free);
        w->umtprds = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify) umtprd_stop);
        w->led_history = g_ptr_array_new_with_free_func((GDestroyNotify) world_event_free);
        w->charger_history = g_ptr_array_new_with_free_func((GDestroyNotify) world_event_free);
        w->port_history = g_ptr_array_new_with_free_func((GDestroyNotify) world_event_free);
        w->dock_history = g_ptr_array_new_with_free_func((GDestroyNotify) world_event_free);
        w->watches = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, watch_free);
        for (unsigned b = 0; b <= MAX_BAYS; b++)
                w->bays[b].port_fifo = w->bays[b].port_fifo_writer = -1;
        for (unsigned b = 1; b <= s->bays; b++) {
                w->bays[b].world = w;
                w->bays[b].index = b;
                w->bays[b].port_power = TRUE;
                w->bays[b].charger_fault = s->charger[b];
        }
        w->pki = pki;
        for (guint i = 0; i < s->cameras->len; i++) {
                Camera *cam = s->cameras->pdata[i];
                cam->pki = pki;
                if (cam->presented_serial)
                        cam->impersonated = scenario_camera(s, cam->presented_serial);
                camera_finalize(cam, vclock_system());
        }
        /* Revoked certificates are in the CRL before the dock starts. */
        for (guint i = 0; i < s->cameras->len; i++)
                camera_prepare_pki(s->cameras->pdata[i]);
        if (!watch_init(w, error) || !start_umtprds(w, error)) {
                world_free(w);
                return NULL;
        }
        add_hubs(w);
        if (!ports_init(w, error)) {
                world_free(w);
                return NULL;
        }
        add_chargers(w);
        add_leds(w);
        return w;
}

typedef struct {
        GMutex mutex;
        GCond cond;
        gboolean parked;
} Park;

/* In the worker thread: never returns (see world_quiesce()). */
static gboolean park_worker(gpointer user_data)
{
        Park *p = user_data;

        g_mutex_lock(&p->mutex);
        p->parked = TRUE;
        g_cond_broadcast(&p->cond);
        for (;;)
                g_cond_wait(&p->cond, &p->mutex);
        return G_SOURCE_REMOVE;
}

gboolean world_quiesce(World *w, guint timeout_ms)
{
        static Park park;   /* the parked thread uses it until exit */
        GMainContext *ctx = NULL;
        GSource *s;
        gint64 end = g_get_monotonic_time() + (gint64) timeout_ms * G_TIME_SPAN_MILLISECOND;
        gboolean parked;

        /* Every handler of one testbed runs in its one worker context. */
        for (guint i = 0; !ctx && i < w->retired_devs->len; i++)
                ctx = usbdev_context(w->retired_devs->pdata[i]);
        if (!ctx)
                return TRUE;   /* no ioctl ever came: nothing runs there */
        s = g_idle_source_new();   /* a source, never g_main_context_invoke(): that may run it here */
        g_source_set_priority(s, G_PRIORITY_HIGH);
        g_source_set_callback(s, park_worker, &park, NULL);
        g_source_attach(s, ctx);
        g_source_unref(s);
        g_mutex_lock(&park.mutex);
        while (!park.parked && g_cond_wait_until(&park.cond, &park.mutex, end))
                ;
        parked = park.parked;
        g_mutex_unlock(&park.mutex);
        return parked;
}

void world_free(World *w)
{
        if (!w)
                return;
        for (unsigned b = 1; b <= MAX_BAYS; b++)
                if (w->bays[b].usbdev)
                        deenumerate(w, &w->bays[b]);
        g_hash_table_unref(w->umtprds);
        if (w->reconcile_source)
                g_source_remove(w->reconcile_source);
        watch_fini(w);
        ports_fini(w);
        g_clear_object(&w->testbed);
        g_ptr_array_unref(w->retired);
        g_ptr_array_unref(w->retired_devs);
        g_ptr_array_unref(w->retired_descs);
        g_ptr_array_unref(w->led_history);
        g_ptr_array_unref(w->charger_history);
        g_ptr_array_unref(w->port_history);
        g_ptr_array_unref(w->dock_history);
        g_hash_table_unref(w->watches);
        for (unsigned b = 1; b <= MAX_BAYS; b++)
                leds_free(&w->bays[b]);
        world_leds_free(w);
        g_free(w->root);
        g_free(w->sys_dir);
        g_free(w->world_dir);
        g_rec_mutex_clear(&w->lock);
        g_free(w);
}

gboolean world_revoke(World *w, const char *serial, GError **error)
{
        Camera *cam = scenario_camera(w->scenario, serial);
        DeviceIdentity *id;

        if (!cam) {
                g_set_error(error, WORLD_ERROR, 1, "no camera %s", serial);
                return FALSE;
        }
        g_rec_mutex_lock(&w->lock);
        id = camera_identity(cam);
        if (id)
                pki_revoke(w->pki, id->cert);
        g_rec_mutex_unlock(&w->lock);
        if (!id)
                g_set_error(error, WORLD_ERROR, 1, "%s has no certificate", serial);
        return id != NULL;
}

gboolean world_write_crl(World *w, const char *path, GError **error)
{
        gboolean ok;

        g_rec_mutex_lock(&w->lock);
        ok = pki_write_crl(w->pki, path, error);
        g_rec_mutex_unlock(&w->lock);
        return ok;
}

const char *world_crl_path(World *w) { return pki_crl_path(w->pki); }
const char *world_root(World *w) { return w->root; }
GRecMutex *world_lock(World *w) { return &w->lock; }
Scenario *world_scenario(World *w) { return w->scenario; }
void world_sync(World *w)
{
        ports_sync(w);
        watch_sync(w);
}

GPtrArray *world_led_history(World *w) { return w->led_history; }
GPtrArray *world_charger_history(World *w) { return w->charger_history; }
GPtrArray *world_port_history(World *w) { return w->port_history; }
GPtrArray *world_dock_history(World *w) { return w->dock_history; }

char *world_status(World *w)
{
        GString *s = g_string_new("{\"bays\":[");

        g_rec_mutex_lock(&w->lock);
        for (unsigned b = 1; b <= w->scenario->bays; b++) {
                Bay *bay = &w->bays[b];
                g_string_append_printf(s, "%s{\"bay\":%u,\"camera\":%s%s%s,\"port_power\":%s,\"devnode\":%s%s%s,"
                                       "\"charge_behaviour\":\"%s\"}",
                                       b > 1 ? "," : "", b, bay->camera ? "\"" : "",
                                       bay->camera ? bay->camera->serial : "null", bay->camera ? "\"" : "",
                                       bay->port_power ? "true" : "false", bay->devnode ? "\"" : "",
                                       bay->devnode ? bay->devnode : "null", bay->devnode ? "\"" : "",
                                       bay->inhibit ? "inhibit-charge" : "auto");
        }
        g_string_append(s, "],\"cameras\":[");
        for (guint i = 0; i < w->scenario->cameras->len; i++) {
                Camera *cam = w->scenario->cameras->pdata[i];
                unsigned left = 0;
                guint64 served = 0;

                for (guint o = 0; o < cam->objects->len; o++) {
                        Object *obj = cam->objects->pdata[o];
                        left += !obj->deleted;
                        served += obj->bytes_served;
                }
                /* bytes_served: what the camera sent of its objects so far, for a
                 * benchmark's timeline of each bay's pull. */
                g_string_append_printf(s, "%s{\"serial\":\"%s\",\"bay\":%d,\"objects_left\":%u,"
                                       "\"bytes_served\":%" G_GUINT64_FORMAT ",\"soc\":%.1f}",
                                       i ? "," : "", cam->serial, cam->docked_bay, left, served, cam->battery.soc * 100);
        }
        g_rec_mutex_unlock(&w->lock);
        g_string_append(s, "]}");
        return g_string_free(s, FALSE);
}
