/* SPDX-License-Identifier: Apache-2.0 */
/* ptp-datetime.c: see ptp-datetime.h. Calendar arithmetic on 64-bit days, so
 * that no date a camera can write overflows before the time_t check. */
#include <errno.h>
#include <string.h>

#include "macro.h"
#include "ptp-datetime.h"

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
        int64_t era;
        unsigned yoe, doy, doe;

        y -= m <= 2;
        era = (y >= 0 ? y : y - 399) / 400;
        yoe = (unsigned) (y - era * 400);
        doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
        doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        return era * 146097 + (int64_t) doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *ret_y, unsigned *ret_m, unsigned *ret_d) {
        int64_t era, y;
        unsigned doe, yoe, doy, mp, d, m;

        z += 719468;
        era = (z >= 0 ? z : z - 146096) / 146097;
        doe = (unsigned) (z - era * 146097);
        yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        y = (int64_t) yoe + era * 400;
        doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        mp = (5 * doy + 2) / 153;
        d = doy - (153 * mp + 2) / 5 + 1;
        m = mp < 10 ? mp + 3 : mp - 9;
        *ret_y = y + (m <= 2);
        *ret_m = m;
        *ret_d = d;
}

static unsigned days_in_month(unsigned y, unsigned m) {
        static const unsigned days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
        bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

        return m == 2 && leap ? 29 : days[m - 1];
}

static bool digits(const char *s, size_t n, unsigned *ret) {
        unsigned v = 0;

        for (size_t i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return false;
                v = v * 10 + (unsigned) (s[i] - '0');
        }
        *ret = v;
        return true;
}

/* "YYYYMMDDThhmmss[.s]" and then exactly the suffix zone ("Z" or ""), read as UTC. */
static int datetime_parse(const char *s, const char *zone, time_t *ret) {
        unsigned Y, M, D, h, m, sec, tenths;
        size_t n, z;
        int64_t t;

        if (!s)
                return -EBADMSG;
        n = strlen(s);
        z = strlen(zone);
        /* 15 or 17 characters before the zone; tenths are dropped. */
        if (n != 15 + z && n != 17 + z)
                return -EBADMSG;
        if (!digits(s, 4, &Y) || !digits(s + 4, 2, &M) || !digits(s + 6, 2, &D) || s[8] != 'T' ||
            !digits(s + 9, 2, &h) || !digits(s + 11, 2, &m) || !digits(s + 13, 2, &sec))
                return -EBADMSG;
        if (n == 17 + z && (s[15] != '.' || !digits(s + 16, 1, &tenths)))
                return -EBADMSG;
        if (!streq(s + n - z, zone))
                return -EBADMSG;
        if (M < 1 || M > 12 || D < 1 || D > days_in_month(Y, M) || h > 23 || m > 59 || sec > 59)
                return -EBADMSG;

        t = days_from_civil(Y, M, D) * 86400 + h * 3600 + m * 60 + sec;
        if ((int64_t) (time_t) t != t)
                return -EBADMSG;    /* beyond a 32-bit time_t */
        *ret = (time_t) t;
        return 0;
}

int ptp_datetime_parse(const char *s, time_t *ret) {
        return datetime_parse(s, "Z", ret);
}

int ptp_datetime_parse_unzoned(const char *s, time_t *ret) {
        return datetime_parse(s, "", ret);
}

static void put_digits(char *p, size_t n, unsigned v) {
        for (size_t i = n; i > 0; i--) {
                p[i - 1] = (char) ('0' + v % 10);
                v /= 10;
        }
}

void ptp_datetime_format(time_t t, char buf[17]) {
        /* Four-digit years only: clamp to 0000-01-01 .. 9999-12-31T23:59:59. */
        const int64_t lo = days_from_civil(0, 1, 1) * 86400,
                      hi = days_from_civil(10000, 1, 1) * 86400 - 1;
        int64_t v = CLAMP((int64_t) t, lo, hi), days, secs, y;
        unsigned m, d;

        days = v / 86400;
        secs = v % 86400;
        if (secs < 0) {
                secs += 86400;
                days--;
        }
        civil_from_days(days, &y, &m, &d);
        put_digits(buf, 4, (unsigned) y);
        put_digits(buf + 4, 2, m);
        put_digits(buf + 6, 2, d);
        buf[8] = 'T';
        put_digits(buf + 9, 2, (unsigned) (secs / 3600));
        put_digits(buf + 11, 2, (unsigned) (secs / 60 % 60));
        put_digits(buf + 13, 2, (unsigned) (secs % 60));
        buf[15] = 'Z';
        buf[16] = 0;
}
