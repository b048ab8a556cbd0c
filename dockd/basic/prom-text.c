/* SPDX-License-Identifier: Apache-2.0 */
/* prom-text.c: see prom-text.h. */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>

#include "prom-text.h"

struct PromText {
        FILE *f;
        char *buf;
        size_t size;
};

int prom_text_new(PromText **ret) {
        PromText *p = calloc(1, sizeof *p);

        if (!p)
                return -ENOMEM;
        p->f = open_memstream(&p->buf, &p->size);
        if (!p->f) {
                free(p);
                return -ENOMEM;
        }
        *ret = p;
        return 0;
}

PromText *prom_text_free(PromText *p) {
        if (!p)
                return NULL;
        if (p->f)
                fclose(p->f);
        free(p->buf);
        free(p);
        return NULL;
}

void prom_family(PromText *p, const char *name, const char *type, const char *help) {
        fprintf(p->f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void label_value(FILE *f, const char *s) {
        for (; *s; s++)
                switch (*s) {
                case '\\': fputs("\\\\", f); break;
                case '"': fputs("\\\"", f); break;
                case '\n': fputs("\\n", f); break;
                default: fputc(*s, f);
                }
}

void prom_sample(PromText *p, const char *name, double value, ...) {
        const char *k;
        bool first = true;
        va_list ap;

        fputs(name, p->f);
        va_start(ap, value);
        while ((k = va_arg(ap, const char *))) {
                fprintf(p->f, "%c%s=\"", first ? '{' : ',', k);
                label_value(p->f, va_arg(ap, const char *));
                fputc('"', p->f);
                first = false;
        }
        va_end(ap);
        if (!first)
                fputc('}', p->f);
        /* As the format documents them: printf's nan and inf pass Go's ParseFloat
         * (Prometheus, promtool) but not every parser of the format. */
        if (isnan(value))
                fputs(" NaN\n", p->f);
        else if (isinf(value))
                fputs(value > 0 ? " +Inf\n" : " -Inf\n", p->f);
        /* Whole numbers as integers (counters of bytes exceed %g's precision). */
        else if (value > -9e15 && value < 9e15 && value == (double) (int64_t) value)
                fprintf(p->f, " %.0f\n", value);
        else
                fprintf(p->f, " %.15g\n", value);   /* Unix times to 10 µs, ratios as written */
}

char *prom_text_finish(PromText *p) {
        char *text;

        if (fclose(p->f) != 0) {
                p->f = NULL;
                return NULL;
        }
        p->f = NULL;
        text = TAKE_PTR(p->buf);
        return text;
}
