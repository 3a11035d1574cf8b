/* The audit record (audit.h): sd_journal_sendv() over the dlopen'ed libsystemd, else syslog(3). */
#include "audit.h"

#include <sys/stat.h>
#include <sys/uio.h>
#include <syslog.h>

#include "dlopen-systemd.h"
#include "util.h"

#define MAX_FIELDS 64
#define JOURNAL_SOCKET "/run/systemd/journal/socket"

struct fields {
	struct iovec v[MAX_FIELDS];
	char *owned[MAX_FIELDS];
	size_t n;
};

static void fields_done(struct fields *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->owned[i]);
}

static void add(struct fields *f, const char *name, const char *value)
{
	if (f->n >= MAX_FIELDS || !value)
		return;
	/* The journal's native protocol takes a field's value as bytes, newlines included; the
	 * report's strings are valid UTF-8 already. */
	char *s = strdup_printf("%s=%s", name, value);
	if (!s)
		return;
	f->owned[f->n] = s;
	f->v[f->n++] = (struct iovec){ .iov_base = s, .iov_len = strlen(s) };
}

static const char *str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static size_t strv_join(const json_t *a, char *buf, size_t size)
{
	size_t len = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < json_array_size(a) && len < size; i++)
		len += (size_t)snprintf(buf + len, size - len, "%s%s", i ? "," : "", json_string_value(json_array_get(a, i)));
	return len;
}

/* sd_journal_sendv() answers 0 when journald's socket is missing (it drops the record on purpose,
 * measured with strace: sendmsg ENOENT, return 0), so the syslog fallback would never run on a
 * system without journald. Asked first: is the socket there? */
static bool journal_listening(void)
{
	struct stat st;
	return stat(JOURNAL_SOCKET, &st) == 0 && S_ISSOCK(st.st_mode);
}

void audit_log(const json_t *rep)
{
	_cleanup_(fields_done) struct fields f = { 0 };
	const char *verb = str(rep, "verb");
	const json_t *files = json_object_get(rep, "files"), *units = json_object_get(rep, "units");
	const json_t *fw = json_object_get(json_object_get(rep, "firewall"), "services");
	long long code = json_integer_value(json_object_get(rep, "exit"));
	char modes[64], buf[32], msg[512];
	size_t edits = 0;

	strv_join(json_object_get(rep, "modes"), modes, sizeof(modes));
	add(&f, "MESSAGE_ID", OP25B_AUDIT_MESSAGE_ID);
	add(&f, "SYSLOG_IDENTIFIER", "op25b");
	add(&f, "PRIORITY", code == 0 ? "5" : "3");
	add(&f, "OP25B_VERB", verb);
	add(&f, "OP25B_VERSION", OP25B_VERSION);
	add(&f, "OP25B_RESULT", code == 0 ? "ok" : "failed");
	for (size_t i = 0; i < json_array_size(json_object_get(rep, "modes")); i++)
		add(&f, "OP25B_MODE", json_string_value(json_array_get(json_object_get(rep, "modes"), i)));
	for (size_t i = 0; i < json_array_size(files); i++) {
		const json_t *x = json_array_get(files, i);
		edits += json_array_size(json_object_get(x, "edits"));
		_cleanup_free_ char *v = strdup_printf("%s %s", str(x, "action"), str(x, "path"));
		add(&f, "OP25B_FILE", v);
	}
	snprintf(buf, sizeof(buf), "%zu", edits);
	add(&f, "OP25B_EDITS", buf);
	for (size_t i = 0; i < json_array_size(units); i++) {
		const json_t *x = json_array_get(units, i);
		_cleanup_free_ char *v = strdup_printf("%s %s", str(x, "action"), str(x, "unit"));
		add(&f, "OP25B_UNIT", v);
	}
	for (size_t i = 0; i < json_array_size(fw); i++)
		add(&f, "OP25B_FIREWALL", json_string_value(json_array_get(fw, i)));

	snprintf(msg, sizeof(msg), "%s %s: %s; %zu file%s, %zu edit%s, %zu unit%s", verb, *modes ? modes : "-",
		 code == 0 ? "done" : "failed, rolled back", json_array_size(files), json_array_size(files) == 1 ? "" : "s",
		 edits, edits == 1 ? "" : "s", json_array_size(units), json_array_size(units) == 1 ? "" : "s");
	add(&f, "MESSAGE", msg);

	if (journal_listening() && dlopen_systemd() == 0 && sym_sd_journal_sendv(f.v, (int)f.n) >= 0)
		return;
	/* No journal (or no libsystemd): the same in one syslog line. */
	openlog("op25b", LOG_PID, LOG_AUTHPRIV);
	syslog(code == 0 ? LOG_NOTICE : LOG_ERR, "%s", msg);
	closelog();
}
