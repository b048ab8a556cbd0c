/* usb-reader.c: a plain libusb PTP reader for the vdock benchmark. It opens
 * the first 1209:0d0c device, opens a session, and reads one object with
 * GetPartialObject64 in 1 MiB bulk transfers, printing the rate.
 * Usage: vdock-usb-reader HANDLE BYTES [--parent-rss] */
#include <glib.h>
#include <libusb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { CHUNK = 1 << 20, EP_OUT = 0x01, EP_IN = 0x82 };

static libusb_device_handle *dev;
static uint32_t tid;

static void put32(uint8_t *p, uint32_t v)
{
        p[0] = v & 0xff, p[1] = (v >> 8) & 0xff, p[2] = (v >> 16) & 0xff, p[3] = v >> 24;
}


static void command(uint16_t op, const uint32_t *params, int n)
{
        uint8_t buf[32];
        int len = 12 + 4 * n, done = 0;

        put32(buf, (uint32_t) len);
        buf[4] = 1, buf[5] = 0, buf[6] = op & 0xff, buf[7] = op >> 8;
        put32(buf + 8, tid);
        for (int i = 0; i < n; i++)
                put32(buf + 12 + 4 * i, params[i]);
        if (libusb_bulk_transfer(dev, EP_OUT, buf, len, &done, 5000) != 0 || done != len) {
                fprintf(stderr, "command 0x%04x failed\n", op);
                exit(1);
        }
}

/* Read one phase (until a short transfer); returns bytes. */
static uint64_t read_phase(uint8_t *buf, uint8_t *first, size_t first_len)
{
        uint64_t total = 0;

        for (;;) {
                int got = 0, rc = libusb_bulk_transfer(dev, EP_IN, buf, CHUNK, &got, 10000);

                if (rc != 0) {
                        fprintf(stderr, "bulk in: %s\n", libusb_error_name(rc));
                        exit(1);
                }
                if (total == 0 && first)
                        memcpy(first, buf, MIN((size_t) got, first_len));
                total += (uint64_t) got;
                if (got < CHUNK)
                        return total;
        }
}

static uint16_t transact(uint16_t op, const uint32_t *params, int n, uint8_t *buf, uint64_t *ret_data)
{
        uint8_t head[16];
        uint64_t len;

        command(op, params, n);
        len = read_phase(buf, head, sizeof head);
        if (head[4] == 2) {
                if (ret_data)
                        *ret_data = len - 12;
                len = read_phase(buf, head, sizeof head);
        }
        tid++;
        return (uint16_t) (head[6] | head[7] << 8);
}

static long parent_rss_kb(const char *field)
{
        g_autofree char *path = g_strdup_printf("/proc/%d/status", (int) getppid()), *text = NULL;
        const char *p;

        if (!g_file_get_contents(path, &text, NULL, NULL) || !(p = strstr(text, field)))
                return -1;
        return strtol(p + strlen(field), NULL, 10);
}

int main(int argc, char **argv)
{
        uint32_t handle = argc > 1 ? (uint32_t) strtoul(argv[1], NULL, 0) : 2;
        uint64_t want = argc > 2 ? g_ascii_strtoull(argv[2], NULL, 0) : (1u << 30), got = 0, off = 0;
        uint8_t *buf = g_malloc(CHUNK);
        uint32_t session = 1;
        gint64 t0;
        double secs;

        if (libusb_init(NULL) != 0)
                return 1;
        dev = libusb_open_device_with_vid_pid(NULL, 0x1209, 0x0d0c);
        if (!dev || libusb_claim_interface(dev, 0) != 0) {
                fprintf(stderr, "no camera\n");
                return 1;
        }
        if (transact(0x1002, &session, 1, buf, NULL) != 0x2001)
                return 1;
        tid = 1;
        t0 = g_get_monotonic_time();
        while (got < want) {
                uint64_t n = 0, step = MIN(want - got, (uint64_t) 256 << 20);
                uint32_t p[4] = { handle, (uint32_t) off, (uint32_t) (off >> 32), (uint32_t) step };

                if (transact(0x95C1, p, 4, buf, &n) != 0x2001 || n == 0) {
                        fprintf(stderr, "GetPartialObject64 failed at %llu\n", (unsigned long long) off);
                        return 1;
                }
                got += n;
                off += n;
        }
        secs = (g_get_monotonic_time() - t0) / 1e6;
        printf("bytes: %llu\nseconds: %.3f\nrate_MB_s: %.1f\n", (unsigned long long) got, secs, got / secs / 1e6);
        if (argc > 3 && g_str_equal(argv[3], "--parent-rss"))
                printf("parent_peak_rss_kB: %ld\n", parent_rss_kb("VmHWM:"));
        libusb_release_interface(dev, 0);
        libusb_close(dev);
        libusb_exit(NULL);
        g_free(buf);
        return 0;
}
