/* The result of one run (report.h). */
#include "report.h"

#include <sys/mman.h>
#include <time.h>

#include "audit.h"
#include "firewall.h"
#include "history.h"
#include "option-check.h"
#include "rootfs.h"
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

void report_init(struct report *r, const struct request *o, const char *verb)
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
		if (edit_is_claim(e))
			continue; /* a node it needs as it found it: not a change */
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

/* "by rpm, then by hand": who applied a mode, as status says it. */
static char *who_applied(const char *const *by, size_t n)
{
	char *who = strdup("");
	for (size_t i = 0; who && i < n; i++) {
		char *more = strdup_printf("%s%s%s%s", who, i ? ", then " : "", by[i] ? "by " : "by hand", by[i] ? by[i] : "");
		free(who);
		who = more;
	}
	return who;
}

void report_left_applied(struct report *r, const struct journal *j, unsigned gone, bool say)
{
	json_t *a = json_array();
	unsigned left = 0;
	if (!a) {
		r->enomem = true;
		return;
	}
	for (size_t k = 0; k < j->n; k++)
		if (!j->txs[k].pending)
			left |= j->txs[k].mode & ~gone;
	for (unsigned m = 1; m <= MODE_ALL; m <<= 1) {
		const char *by[8];
		size_t n = (left & m) ? journal_origins(j, m, by, 8) : 0;
		if (!n)
			continue;
		json_t *x = json_object(), *origins = json_array();
		if (js_push(a, x) < 0) { /* X freed */
			json_decref(origins);
			r->enomem = true;
			break;
		}
		for (size_t i = 0; origins && i < n; i++)
			note(r, js_push_str(origins, by[i])); /* null: by hand */
		note(r, js_set_str(x, "mode", mode_name(m)));
		note(r, js_set(x, "origins", origins));
		_cleanup_free_ char *who = say ? who_applied(by, n) : NULL;
		if (say && !who)
			r->enomem = true;
		else if (say)
			log_info("%s: left applied (applied %s)", mode_name(m), who);
	}
	report_set(r, "left_applied", a);
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

/* The options of the run as the history keeps them, named as on the command line: paths and
 * names, never a secret (of the relay password only where it came from). */
/* "options": the options given (on the command line or in the file; not the defaults), as on the
 * command line and in the table's order (src/cli/option-table.h): first those that shape the
 * files (HASH), then those that say how the run went. No option holds a secret (a password is read
 * from a file or standard input, and only that is named). The mode is "modes"; --json says how
 * the run printed, not what it did. */
static json_t *options_json(const struct request *o)
{
	json_t *x = json_object();
	for (int hash = 1; x && hash >= 0; hash--)
		for (unsigned i = 0; i < N_OPTS; i++) {
			const char *value;
			unsigned num;
			if (opt_defs[i].hash != hash || i == OPT_MODE || i == OPT_JSON ||
			    !request_option(o, (enum opt_id)i, &value, &num))
				continue;
			json_t *v = value ? js_string(value) : opt_defs[i].kind == K_FLAG ? json_true() : json_integer(num);
			if (js_set(x, opt_defs[i].name, v) < 0) {
				json_decref(x);
				return NULL;
			}
		}
	return x;
}

/* A run that changed something, or failed trying, is recorded: the systemd journal (audit.c) and
 * op25b's history (history.c, for `op25b log`). */
static void record(const struct report *r, const json_t *o, int exit_status)
{
	const char *verb = json_string_value(json_object_get(o, "verb"));
	bool changed = json_is_true(json_object_get(o, "changed"));
	if (r->opt->dry_run || !(streq(verb, "apply") || streq(verb, "revert") || streq(verb, "reload-certs")) ||
	    !(changed || exit_status == EXIT_FAIL))
		return;
	audit_log(o);

	_cleanup_json_ json_t *e = json_object();
	char when[32];
	time_t now = time(NULL);
	struct tm tm;
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
	static const char *const keep[] = { "verb", "modes", "changed", "exit", "files", "units", "firewall" };
	if (!e || js_set_str(e, "time", when) < 0)
		return;
	for (size_t i = 0; i < ELEMENTSOF(keep); i++) {
		json_t *v = json_object_get(o, keep[i]);
		if (v && json_object_set(e, keep[i], v) < 0)
			return;
	}
	if (js_set(e, "options", options_json(r->opt)) < 0)
		return;
	/* The edits' values stay in the journal's transaction; the history names the files. */
	json_t *files = json_object_get(e, "files");
	if (files && json_object_set_new(e, "files", json_deep_copy(files)) == 0)
		for (size_t i = 0; i < json_array_size(json_object_get(e, "files")); i++)
			json_object_del(json_array_get(json_object_get(e, "files"), i), "edits");
	history_append(r->opt->target.root, r->opt->target.state_dir, e);
}

int report_end(struct report *r, int exit_status)
{
	_cleanup_json_ json_t *o = TAKE_PTR(r->o);
	if (o && !r->enomem)
		r->enomem = js_set_int(o, "exit", exit_status) < 0;
	if (o && !r->enomem)
		record(r, o, exit_status);
	if (!r->opt->json)
		return exit_status;
	if (!o || r->enomem)
		return log_err(EXIT_FAIL, "--json: out of memory making the report");
	_cleanup_fclose_ FILE *f = fdopen(dup(r->opt->json_fd), "w");
	if (!f || js_print(o, f) < 0)
		return log_err(EXIT_FAIL, "--json: cannot write the report: %m");
	return exit_status;
}

const char *interrupted_revert_command(const struct journal *j, char *buf, size_t size)
{
	unsigned modes = journal_intent_modes(j);
	if (modes == MODE_SMTPS || modes == MODE_SUBMISSION)
		snprintf(buf, size, "op25b revert --mode=%s", mode_name(modes));
	else
		snprintf(buf, size, "op25b revert");
	return buf;
}
