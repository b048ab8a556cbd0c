/* world-sysfs.c: bay chargers (power_supply class) and LEDs (LED class),
 * and the inotify watches that see what the dock writes to them. A write is
 * read back in the kernel's format (e.g. trigger "none [timer] heartbeat
 * default-on") and recorded. */
#include "world-private.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

static const char *const triggers[] = { "none", "timer", "heartbeat", "default-on", NULL };
static const char *const behaviours[] = { "auto", "inhibit-charge", "force-discharge", NULL };

void sysfs_write_file(const char *path, const char *value)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        size_t len = strlen(value);

        if (fd < 0 || write(fd, value, len) != (ssize_t) len)
                g_warning("%s: %s", path, g_strerror(errno));
        if (fd >= 0)
                close(fd);
}

static Watch *watch_by_path(World *w, const char *path)
{
        GHashTableIter it;
        gpointer k, v;

        g_hash_table_iter_init(&it, w->watches);
        while (g_hash_table_iter_next(&it, &k, &v))
                if (g_str_equal(((Watch *) v)->path, path))
                        return v;
        return NULL;
}

/* In-place write (a rename would lose the inotify watch). */
void sysfs_write_watched(World *w, const char *path, const char *value)
{
        Watch *watch = watch_by_path(w, path);

        if (watch) {
                g_free(watch->canonical);
                watch->canonical = g_strdup(value);
        }
        sysfs_write_file(path, value);
}

/* Rewrite an attribute as the kernel would show it, unless the host wrote it
 * after vdock last looked: that write's event is still queued behind the one
 * being applied, so it is the newer one, and it is applied in its turn. */
static void sysfs_rewrite_watched(World *w, const char *path, const char *value)
{
        Watch *watch = watch_by_path(w, path);
        g_autofree char *now = NULL;

        if (watch && (!g_file_get_contents(path, &now, NULL, NULL) || g_strcmp0(now, watch->canonical) != 0))
                return;
        sysfs_write_watched(w, path, value);
}

void watch_free(gpointer data)
{
        Watch *watch = data;

        g_free(watch->path);
        g_free(watch->canonical);
        g_free(watch->attr);
        g_free(watch);
}

void watch_attribute(World *w, const char *path, WatchKind kind, unsigned bay)
{
        Watch *watch = g_new0(Watch, 1);
        int wd = inotify_add_watch(w->inotify_fd, path, IN_CLOSE_WRITE | IN_MODIFY);

        if (wd < 0) {
                g_warning("inotify %s: %s", path, g_strerror(errno));
                watch_free(watch);
                return;
        }
        watch->path = g_strdup(path);
        g_file_get_contents(path, &watch->canonical, NULL, NULL);
        watch->kind = kind;
        watch->bay = bay;
        g_hash_table_replace(w->watches, GINT_TO_POINTER(wd), watch);
}

/* The longest listed value that the written text starts with: a writer that
 * does not truncate leaves the old tail behind its bytes. */
static const char *match_word(const char *text, const char *const *words)
{
        const char *best = NULL;

        for (int i = 0; words[i]; i++) {
                size_t n = strlen(words[i]);
                if (strncmp(text, words[i], n) == 0 && (!text[n] || !g_ascii_isalnum(text[n]) || text[n] == '-' || text[n] == ']') &&
                    (!best || n > strlen(best)))
                        best = words[i];
        }
        return best;
}

static char *choice_list(const char *const *words, const char *current)
{
        GString *s = g_string_new(NULL);

        for (int i = 0; words[i]; i++)
                g_string_append_printf(s, i ? (g_str_equal(words[i], current) ? " [%s]" : " %s")
                                            : (g_str_equal(words[i], current) ? "[%s]" : "%s"), words[i]);
        g_string_append_c(s, '\n');
        return g_string_free(s, FALSE);
}

static const char *led_state(const Led *led)
{
        if (g_str_equal(led->trigger, "timer"))
                return "blink";
        if (g_str_equal(led->trigger, "heartbeat"))
                return "heartbeat";
        return led->brightness > 0 || g_str_equal(led->trigger, "default-on") ? "on" : "off";
}

/* Show what the kernel would show after a write, touching only the attributes
 * the kernel itself changes: rewriting others could clobber a write of the
 * host's that is still in flight (on a real kernel those writes are
 * synchronous; here they are files we see through inotify, a moment later). */
static void led_rewrite(World *w, Led *led, const char *attr)
{
        g_autofree char *t = g_strdup_printf("%s/trigger", led->path), *tv = choice_list(triggers, led->trigger);

        /* The timer trigger's default delays (500/500) live in the model only:
         * writing them to the files would race with the host setting its own. */
        if (g_str_equal(attr, "trigger") || g_str_equal(attr, "brightness"))
                sysfs_rewrite_watched(w, t, tv);
}

static void led_written(World *w, Watch *watch, const char *text)
{
        Led *led = watch->led;
        g_autofree char *state = NULL;
        const char *word;

        if (g_str_equal(watch->attr, "brightness")) {
                led->brightness = CLAMP(atoi(text), 0, 1);
                if (led->brightness == 0) { /* the kernel drops the trigger on brightness 0 */
                        g_free(led->trigger);
                        led->trigger = g_strdup("none");
                }
        } else if (g_str_equal(watch->attr, "trigger") && (word = match_word(text, triggers))) {
                g_free(led->trigger);
                led->trigger = g_strdup(word);
                if (g_str_equal(word, "timer") && !led->delay_on && !led->delay_off)
                        led->delay_on = led->delay_off = 500;
        } else if (g_str_equal(watch->attr, "delay_on")) {
                led->delay_on = (unsigned) g_ascii_strtoull(text, NULL, 10);
        } else if (g_str_equal(watch->attr, "delay_off")) {
                led->delay_off = (unsigned) g_ascii_strtoull(text, NULL, 10);
        }
        state = g_strdup_printf("%s %u/%u", led_state(led), led->delay_on, led->delay_off);
        world_record(w->led_history, led->name, watch->attr, text);
        world_record(w->led_history, led->name, "state", state);
        led_rewrite(w, led, watch->attr);
}

static void charge_behaviour_written(World *w, Watch *watch, const char *text)
{
        Bay *bay = &w->bays[watch->bay];
        const char *word = match_word(text, behaviours);
        g_autofree char *what = g_strdup_printf("dock-bay%u", watch->bay), *list = NULL;

        world_record(w->charger_history, what, "charge_behaviour written", text);
        if (word && !g_str_equal(word, "force-discharge")) {
                chargers_update(w);
                bay->inhibit = g_str_equal(word, "inhibit-charge");
        }
        list = choice_list(behaviours, bay->inhibit ? "inhibit-charge" : "auto");
        sysfs_rewrite_watched(w, watch->path, list);
        chargers_update(w);
}

/* One read of queued events, applied in order; FALSE when none was queued. */
static gboolean inotify_apply(World *w, int fd)
{
        char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
        ssize_t len = read(fd, buf, sizeof buf);

        if (len <= 0)
                return FALSE;
        for (char *p = buf; p < buf + len;) {
                struct inotify_event *ev = (struct inotify_event *) p;
                Watch *watch = g_hash_table_lookup(w->watches, GINT_TO_POINTER(ev->wd));
                g_autofree char *text = NULL;

                p += sizeof *ev + ev->len;
                if (!watch || !g_file_get_contents(watch->path, &text, NULL, NULL) ||
                    g_strcmp0(text, watch->canonical) == 0 || !*text)
                        continue;
                /* What the file holds now, whoever wrote it last: the same value
                 * seen twice (IN_MODIFY, then IN_CLOSE_WRITE) is one write. */
                g_free(watch->canonical);
                watch->canonical = g_strdup(text);
                if (watch->kind == WATCH_LED)
                        led_written(w, watch, g_strchomp(text));
                else
                        charge_behaviour_written(w, watch, g_strchomp(text));
        }
        return TRUE;
}

static gboolean on_inotify(gint fd, GIOCondition cond, gpointer data)
{
        while (inotify_apply(data, fd))
                ;
        return G_SOURCE_CONTINUE;
}

/* A host's write(2) queues its event before it returns: after this, every
 * write the host made before the call is applied. */
void watch_sync(World *w)
{
        if (w->inotify_fd >= 0)
                (void) on_inotify(w->inotify_fd, G_IO_IN, w);
}

static gboolean on_charger_timer(gpointer data)
{
        chargers_update(data);
        return G_SOURCE_CONTINUE;
}

gboolean watch_init(World *w, GError **error)
{
        w->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (w->inotify_fd < 0) {
                g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno), "inotify: %s", g_strerror(errno));
                return FALSE;
        }
        w->inotify_source = g_unix_fd_add(w->inotify_fd, G_IO_IN, on_inotify, w);
        w->charger_timer = g_timeout_add(250, on_charger_timer, w);
        return TRUE;
}

void watch_fini(World *w)
{
        if (w->inotify_source)
                g_source_remove(w->inotify_source);
        if (w->charger_timer)
                g_source_remove(w->charger_timer);
        if (w->inotify_fd >= 0)
                close(w->inotify_fd);
        w->inotify_source = w->charger_timer = 0;
}

void add_chargers(World *w)
{
        for (unsigned b = 1; b <= w->scenario->bays; b++) {
                Bay *bay = &w->bays[b];
                g_autofree char *name = g_strdup_printf("dock-bay%u", b);
                g_autofree char *path = NULL, *cb = NULL;

                path = umockdev_testbed_add_device(w->testbed, "power_supply", name, NULL,
                        "type", "USB\n", "status", "Not charging\n", "online", "0\n", "current_now", "0\n",
                        "voltage_now", "0\n", "temp", "250\n", "health", "Good\n",
                        "charge_behaviour", "[auto] inhibit-charge force-discharge\n", NULL,
                        "POWER_SUPPLY_NAME", name, "POWER_SUPPLY_TYPE", "USB", NULL);
                bay->charger_dir = g_strdup_printf("%s%s", w->root, path);
                cb = g_build_filename(bay->charger_dir, "charge_behaviour", NULL);
                watch_attribute(w, cb, WATCH_CHARGE_BEHAVIOUR, b);
        }
}

static void charger_set(World *w, Bay *bay, const char *attr, const char *value)
{
        g_autofree char *path = g_build_filename(bay->charger_dir, attr, NULL);
        g_autofree char *old = NULL;

        if (g_file_get_contents(path, &old, NULL, NULL) && g_str_equal(old, value))
                return;
        g_file_set_contents(path, value, -1, NULL); /* atomic: readers never see it empty */
}

static void charger_update(World *w, Bay *bay)
{
        Camera *cam = bay->camera;
        gboolean powered = cam && bay->port_power;
        gboolean allowed = !bay->inhibit && bay->charger_fault == CHARGER_OK;
        const char *status = "Not charging", *health = "Good";
        int temp = 250;
        g_autofree char *cur = NULL, *volt = NULL, *t = NULL, *what = NULL, *h = NULL, *st = NULL;

        if (cam) {
                battery_advance(&cam->battery, g_get_monotonic_time(), powered, allowed);
                if (powered)
                        status = battery_status(&cam->battery, TRUE, allowed);
                temp += cam->battery.charging ? 60 : 0;
        }
        if (bay->charger_fault == CHARGER_OVERTEMP)
                health = "Overheat", temp = 650;
        else if (bay->charger_fault == CHARGER_FAULT)
                health = "Unspecified failure";
        cur = g_strdup_printf("%d\n", powered && cam->battery.charging ? cam->battery.current_ma * 1000 : 0);
        volt = g_strdup_printf("%u\n", powered ? battery_voltage_mv(&cam->battery) * 1000 : 0);
        t = g_strdup_printf("%d\n", temp);
        charger_set(w, bay, "online", powered ? "1\n" : "0\n");
        charger_set(w, bay, "current_now", cur);
        charger_set(w, bay, "voltage_now", volt);
        charger_set(w, bay, "temp", t);
        h = g_strconcat(health, "\n", NULL);
        st = g_strconcat(status, "\n", NULL);
        charger_set(w, bay, "health", h);
        charger_set(w, bay, "status", st);
        if (g_strcmp0(bay->last_status, status) != 0) {
                what = g_strdup_printf("dock-bay%u", bay->index);
                world_record(w->charger_history, what, "status", status);
                g_free(bay->last_status);
                bay->last_status = g_strdup(status);
                if (bay->charger_dir) {
                        g_autofree char *devpath = g_strdup(bay->charger_dir + strlen(w->root));
                        umockdev_testbed_uevent(w->testbed, devpath, "change");
                }
        }
}

void chargers_update(World *w)
{
        g_rec_mutex_lock(&w->lock);
        for (unsigned b = 1; b <= w->scenario->bays; b++)
                if (w->bays[b].charger_dir)
                        charger_update(w, &w->bays[b]);
        g_rec_mutex_unlock(&w->lock);
}

static void add_led(World *w, Led *led, const char *name)
{
        static const char *const attrs[] = { "brightness", "trigger", "delay_on", "delay_off" };
        g_autofree char *path = umockdev_testbed_add_device(w->testbed, "leds", name, NULL,
                "brightness", "0\n", "max_brightness", "1\n", "trigger", "[none] timer heartbeat default-on\n",
                "delay_on", "0\n", "delay_off", "0\n", NULL, NULL);

        led->name = g_strdup(name);
        led->path = g_strdup_printf("%s%s", w->root, path);
        led->trigger = g_strdup("none");
        for (unsigned i = 0; i < G_N_ELEMENTS(attrs); i++) {
                g_autofree char *p = g_build_filename(led->path, attrs[i], NULL);
                Watch *watch;

                watch_attribute(w, p, WATCH_LED, 0);
                watch = watch_by_path(w, p);
                if (watch) {
                        watch->led = led;
                        watch->attr = g_strdup(attrs[i]);
                }
        }
}

void add_leds(World *w)
{
        for (unsigned b = 1; b <= w->scenario->bays; b++) {
                g_autofree char *g = g_strdup_printf("dock:green:bay-%u", b), *r = g_strdup_printf("dock:red:bay-%u", b);
                add_led(w, &w->bays[b].green, g);
                add_led(w, &w->bays[b].red, r);
        }
        add_led(w, &w->status_green, "dock:green:status");
        add_led(w, &w->status_red, "dock:red:status");
}

static void led_free(Led *led)
{
        g_free(led->name);
        g_free(led->path);
        g_free(led->trigger);
}

void world_leds_free(World *w)
{
        led_free(&w->status_green);
        led_free(&w->status_red);
}

void leds_free(Bay *bay)
{
        led_free(&bay->green);
        led_free(&bay->red);
        g_free(bay->charger_dir);
        g_free(bay->last_status);
}

gboolean world_bay_fault(World *w, unsigned index, const char *key, const char *value, GError **error)
{
        ChargerFault f;
        g_autofree char *what = NULL;

        if (index < 1 || index > w->scenario->bays || !g_str_equal(key, "charger") || !parse_charger_fault(value, &f)) {
                g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "expected: fault bay 1..%u charger ok|overtemp|fault",
                            w->scenario->bays);
                return FALSE;
        }
        chargers_update(w);
        g_rec_mutex_lock(&w->lock);
        w->bays[index].charger_fault = f;
        g_rec_mutex_unlock(&w->lock);
        what = g_strdup_printf("dock-bay%u", index);
        world_record(w->charger_history, what, "fault", value);
        chargers_update(w);
        return TRUE;
}
