/* SPDX-License-Identifier: Apache-2.0 */
/* The pieces of the metrics that read or write text (README, "Metrics for
 * Prometheus"): the exposition format (basic/prom-text.h) with its escaped
 * label values and special values, the [metrics] listen address
 * (basic/socket-util.h), and which request lines the HTTP endpoint answers
 * (daemon/metrics-http.h). promtool checks whole expositions in the
 * operations suite; these pin the corners a real dock rarely produces. */
#include <glib.h>
#include <math.h>
#include <netinet/in.h>

#include "metrics-http.h"
#include "prom-text.h"
#include "socket-util.h"

static char *render_one(double value, const char *label_value) {
        _cleanup_(prom_text_freep) PromText *p = NULL;

        g_assert_cmpint(prom_text_new(&p), ==, 0);
        prom_family(p, "dockd_x", "gauge", "A test");
        if (label_value)
                prom_sample(p, "dockd_x", value, "serial", label_value, NULL);
        else
                prom_sample(p, "dockd_x", value, NULL);
        return prom_text_finish(p);
}

static void assert_sample(double value, const char *label_value, const char *expected_line) {
        _cleanup_free_ char *text = render_one(value, label_value);
        g_autofree char *expected = g_strdup_printf("# HELP dockd_x A test\n# TYPE dockd_x gauge\n%s\n",
                                                    expected_line);

        g_assert_cmpstr(text, ==, expected);
}

static void test_values(void) {
        assert_sample(0, NULL, "dockd_x 0");
        /* Byte counters past 2^32 and %g's six digits stay exact. */
        assert_sample(123456789012345, NULL, "dockd_x 123456789012345");
        assert_sample(-3, NULL, "dockd_x -3");
        /* Unix times keep their fraction of a second. */
        assert_sample(1795328043.25, NULL, "dockd_x 1795328043.25");
        assert_sample(0.55, NULL, "dockd_x 0.55");
        /* The spelling the format documents, not printf's "nan" and "inf" (Go's
         * ParseFloat takes both; stricter OpenMetrics parsers do not). */
        assert_sample(NAN, NULL, "dockd_x NaN");
        assert_sample(INFINITY, NULL, "dockd_x +Inf");
        assert_sample(-INFINITY, NULL, "dockd_x -Inf");
}

static void test_label_escaping(void) {
        assert_sample(1, "BWC-0001", "dockd_x{serial=\"BWC-0001\"} 1");
        assert_sample(1, "a\\b\"c\nd", "dockd_x{serial=\"a\\\\b\\\"c\\nd\"} 1");
        assert_sample(1, "", "dockd_x{serial=\"\"} 1");
}

static void test_listen_address(void) {
        struct sockaddr_storage ss;
        socklen_t len;

        g_assert_cmpint(parse_listen_address("127.0.0.1:9437", &ss, &len), ==, 0);
        g_assert_cmpint(ss.ss_family, ==, AF_INET);
        g_assert_cmpint(ntohs(((struct sockaddr_in *) &ss)->sin_port), ==, 9437);
        g_assert_cmpint(parse_listen_address("[::1]:9437", &ss, &len), ==, 0);
        g_assert_cmpint(ss.ss_family, ==, AF_INET6);
        g_assert_cmpint(len, ==, sizeof(struct sockaddr_in6));
        for (const char *const *s = (const char *const[]) { "localhost:9437", "127.0.0.1", "127.0.0.1:0",
                                                             "127.0.0.1:65536", "::1:9437", "[::1]", "",
                                                             ":9437", "127.0.0.1:94x7", "127.0.0.1:-1",
                                                             "127.0.0.1: 9437", NULL };
             *s; s++) {
                g_test_message("%s", *s);
                g_assert_cmpint(parse_listen_address(*s, &ss, &len), ==, -EINVAL);
        }
}

static void test_http_route(void) {
        bool head;

        g_assert_cmpint(metrics_http_route("GET /metrics HTTP/1.1", &head), ==, 200);
        g_assert_false(head);
        g_assert_cmpint(metrics_http_route("HEAD /metrics HTTP/1.0", &head), ==, 200);
        g_assert_true(head);
        g_assert_cmpint(metrics_http_route("GET /metrics?name[]=x HTTP/1.1", NULL), ==, 200);
        g_assert_cmpint(metrics_http_route("GET / HTTP/1.1", NULL), ==, 404);
        g_assert_cmpint(metrics_http_route("GET /metricsx HTTP/1.1", NULL), ==, 404);
        g_assert_cmpint(metrics_http_route("GET /metric HTTP/1.1", NULL), ==, 404);
        g_assert_cmpint(metrics_http_route("GET /../metrics HTTP/1.1", NULL), ==, 404);
        g_assert_cmpint(metrics_http_route("POST /metrics HTTP/1.1", NULL), ==, 405);
        g_assert_cmpint(metrics_http_route("get /metrics HTTP/1.1", NULL), ==, 405);
        g_assert_cmpint(metrics_http_route("GETX /metrics HTTP/1.1", NULL), ==, 405);
        g_assert_cmpint(metrics_http_route("GET /metrics", NULL), ==, 400);
        g_assert_cmpint(metrics_http_route("GET /metrics HTTP/2", NULL), ==, 400);
        g_assert_cmpint(metrics_http_route("GET  /metrics HTTP/1.1", NULL), ==, 400);
        g_assert_cmpint(metrics_http_route("GET /metrics HTTP/1.1 x", NULL), ==, 400);
        g_assert_cmpint(metrics_http_route(" /metrics HTTP/1.1", NULL), ==, 400);
        g_assert_cmpint(metrics_http_route("GET metrics HTTP/1.1", NULL), ==, 400);
        g_assert_cmpint(metrics_http_route("", NULL), ==, 400);
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/metrics/values", test_values);
        g_test_add_func("/metrics/label-escaping", test_label_escaping);
        g_test_add_func("/metrics/listen-address", test_listen_address);
        g_test_add_func("/metrics/http-route", test_http_route);
        return g_test_run();
}
