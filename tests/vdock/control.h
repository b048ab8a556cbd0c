/* control.h: the control socket ($VDOCK_CONTROL) and the command language
 * it shares with the scenario timeline: one command per line, one reply
 * line "ok ..." or "error ...". */
#pragma once
#include <gio/gio.h>

#include "world.h"

typedef struct Control Control;

/* Execute one command; returns the reply line (without newline). */
char *control_execute(World *w, const char *line);
Control *control_listen(World *w, const char *socket_path, GError **error);
void control_free(Control *c);
