/* The result of one run (report.h). */
#include "report.h"

#include <sys/mman.h>

#include "firewall.h"
#include "txn.h"
#include "util.h"

static void note(struct report *r, int ret)
{
	if (ret < 0)
		r->enomem = true;
}

void report_set(struct report *r, const char *key, json_t *value)
{
	if (!r->o) {
		if (value)
			json_decref(value);
		return;
	}
	note(r, js_set(r->o, key, value));
}

void report_bool(struct report *r, const char *key, bool value) { report_set(r, key, json_boolean(value)); }
void report_str(struct report *r, const char *key, const char *value) { report_set(r, key, js_string(value)); }

void report_init(struct report *r, const struct options *o, const char *verb)
{
	*r = (struct report){ .o = json_object(), .opt = o };
	if (!r->o) {
		r->enomem = true;
		return;
	}
	report_str(r, "op25b", OP25B_VERSION);
	report_set(r, "schema", json_integer(OP25B_JSON_SCHEMA));
	report_str(r, "verb", verb);
	report_bool(r, "dry_run", o->dry_run);
	report_bool(r, "changed", false);
}

void report_merge(struct report *r, json_t *obj)
{
	if (!obj) {
		r->enomem = true;
		return;
	}
	if (r->o && json_object_update(r->o, obj) < 0)
		r->enomem = true;
	json_decref(obj);
}

void report_modes(struct report *r, const char *key, unsigned modes)
{
	json_t *a = json_array();
	for (unsigned m = 1; a && m <= MODE_ALL; m <<= 1)
		if (modes & m)
			note(r, js_push_str(a, mode_name(m)));
	report_set(r, key, a);
}

static json_t *edits_json(const struct conf_file *f)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < f->n_edits; i++) {
		const struct edit *e = &f->edits[i];
		json_t *x = json_object();
		if (!x || js_set_str(x, "node", e->path) < 0 ||
		    js_set(x, "before", e->before_present ? js_string(e->before ? e->before : "") : json_null()) < 0 ||
		    js_set(x, "after", e->after_present ? js_string(e->after ? e->after : "") : json_null()) < 0 ||
		    js_push(a, x) < 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static const char *file_action(const struct conf_file *f, bool revert)
{
	if (revert)
		return f->remove ? "removed" : f->merged ? "updated" : "restored";
	if (f->remove)
		return "removed";
	return f->existed ? "changed" : "created";
}

void report_files(struct report *r, const struct conf_set *s, bool revert)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < s->n; i++) {
		const struct conf_file *f = s->files[i];
		if (!f->new && !f->remove)
			continue;
		json_t *x = json_object();
		if (!x || js_push(a, x) < 0) {
			r->enomem = true;
			break;
		}
		note(r, js_set_str(x, "path", f->path));
		note(r, js_set_str(x, "action", file_action(f, revert)));
		/* A secret file (the password map) is named, never shown: no edits, no content. */
		if (f->secret)
			note(r, js_set_bool(x, "secret", true));
		else if (f->lens && !revert)
			note(r, js_set(x, "edits", edits_json(f)));
	}
	report_set(r, "files", a);
}

void report_units(struct report *r, const struct restart_report *u)
{
	json_t *a = json_array(), *restart = json_object();
	for (size_t i = 0; a && i < u->n; i++) {
		json_t *x = json_object();
		if (!x || js_push(a, x) < 0) {
			r->enomem = true;
			break;
		}
		note(r, js_set_str(x, "unit", u->v[i].unit));
		note(r, js_set_str(x, "action", u->v[i].action));
	}
	report_set(r, "units", a);
	if (restart)
		note(r, js_set_str(restart, "skipped", u->skipped));
	report_set(r, "restart", restart);
}

void report_firewall(struct report *r, const struct fw_report *f)
{
	json_t *x = json_object(), *a = json_array();
	if (!x || !a) {
		r->enomem = true;
		json_decref(x);
		json_decref(a);
		return;
	}
	for (size_t i = 0; i < f->n; i++)
		note(r, js_push_str(a, f->services[i]));
	note(r, js_set_str(x, "where", f->where));
	note(r, js_set_str(x, "zone", f->zone));
	note(r, js_set(x, "services", a));
	report_set(r, "firewall", x);
}

void report_router_ports(struct report *r, unsigned modes)
{
	unsigned ports[4];
	size_t n = fw_router_ports(modes, ports);
	json_t *a = json_array();
	for (size_t i = 0; a && i < n; i++)
		note(r, js_push(a, json_integer(ports[i])));
	report_set(r, "router_ports", a);
}

void report_diff(struct report *r, const struct conf_set *s)
{
	/* diff(1) writes into an anonymous file, read back whole. */
	_cleanup_close_ int fd = memfd_create("op25b-diff", MFD_CLOEXEC);
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	if (fd < 0) {
		log_err(-errno, "memfd_create: %m");
		r->enomem = true;
		return;
	}
	if (txn_diff(s, fd) < 0) {
		r->enomem = true;
		return;
	}
	_cleanup_free_ char *path = strdup_printf("/proc/self/fd/%d", fd);
	if (!path || read_file(path, false, &text, &len) < 0) {
		r->enomem = true;
		return;
	}
	report_set(r, "diff", js_stringn(text, len));
}

int report_end(struct report *r, int exit_status)
{
	_cleanup_json_ json_t *o = TAKE_PTR(r->o);
	if (!r->opt->json)
		return exit_status;
	if (o && !r->enomem)
		r->enomem = js_set_int(o, "exit", exit_status) < 0;
	if (!o || r->enomem)
		return log_err(EXIT_FAIL, "--json: out of memory making the report");
	_cleanup_fclose_ FILE *f = fdopen(dup(r->opt->json_fd), "w");
	if (!f || js_print(o, f) < 0)
		return log_err(EXIT_FAIL, "--json: cannot write the report: %m");
	return exit_status;
}
