/* What the journal says about a unit (units.h): its own output and PID 1's messages about it, in
 * this boot, as journalctl -u shows them. */
#include "units-internal.h"

#include <time.h>

#include "systemd-bus.h"
#include "util.h"

#define JOURNAL_MESSAGE_MAX 400
/* How long a failure report waits for journald to have written PID 1's message about the job. */
#define JOURNAL_WAIT_USEC (1 * USEC_PER_SEC)

static int journal_field(sd_journal *j, const char *field, const char **value, size_t *len)
{
	const void *data;
	size_t l, fl = strlen(field);
	int r = sym_sd_journal_get_data(j, field, &data, &l);
	if (r < 0)
		return r;
	if (l < fl + 1)
		return -EBADMSG;
	*value = (const char *)data + fl + 1;
	*len = l - fl - 1;
	return 0;
}

/* One entry as "Mon DD HH:MM:SS ident[pid]: message", control characters replaced. */
static char *journal_line(sd_journal *j)
{
	const char *ident = NULL, *pid = NULL, *msg = NULL;
	size_t ident_len = 0, pid_len = 0, msg_len = 0;
	char when[32] = "";
	uint64_t t;

	if (journal_field(j, "SYSLOG_IDENTIFIER", &ident, &ident_len) < 0)
		(void)journal_field(j, "_COMM", &ident, &ident_len);
	(void)journal_field(j, "_PID", &pid, &pid_len);
	(void)journal_field(j, "MESSAGE", &msg, &msg_len);
	if (sym_sd_journal_get_realtime_usec(j, &t) >= 0) {
		time_t sec = (time_t)(t / USEC_PER_SEC);
		struct tm tm;
		if (localtime_r(&sec, &tm))
			strftime(when, sizeof when, "%b %d %H:%M:%S", &tm);
	}
	if (msg_len > JOURNAL_MESSAGE_MAX)
		msg_len = JOURNAL_MESSAGE_MAX;
	char *line = strdup_printf("%s %.*s[%.*s]: %.*s", when, (int)(ident ? ident_len : 1), ident ? ident : "?",
				   (int)(pid ? pid_len : 1), pid ? pid : "?", (int)(msg ? msg_len : 0), msg ? msg : "");
	if (!line)
		return NULL;
	for (unsigned char *c = (unsigned char *)line; *c; c++)
		if ((*c < ' ' && *c != '\t') || *c == 0x7f)
			*c = '?';
	return line;
}

/* journald writes asynchronously: before reading, wait (bounded) until PID 1's message about the end
 * of job JOB_ID with JOB_RESULT is in the journal, so that the lines are the ones about this job. */
static void journal_wait_for_job(sd_journal *j, const char *unit, uint32_t job_id, const char *job_result,
				 const char *job_type, const char *m_boot)
{
	_cleanup_free_ char *m_unit = strdup_printf("UNIT=%s", unit), *m_id = strdup_printf("JOB_ID=%u", job_id),
			    *m_result = strdup_printf("JOB_RESULT=%s", job_result),
			    *m_type = strdup_printf("JOB_TYPE=%s", job_type ? job_type : "start");
	uint64_t end = now_usec() + JOURNAL_WAIT_USEC;
	int r;

	if (!m_unit || !m_id || !m_result || !m_type || !m_boot)
		return;
	/* No entry at all from this boot (no journald, or another machine's journal): nothing to wait for. */
	r = sym_sd_journal_add_match(j, m_boot, 0);
	if (r >= 0)
		r = sym_sd_journal_seek_tail(j);
	if (r >= 0)
		r = sym_sd_journal_previous(j);
	sym_sd_journal_flush_matches(j);
	if (r <= 0) {
		log_debug("journal: no entries from this boot");
		return;
	}
	r = sym_sd_journal_add_match(j, "_PID=1", 0);
	if (r >= 0)
		r = sym_sd_journal_add_match(j, m_unit, 0);
	if (r >= 0)
		r = sym_sd_journal_add_match(j, m_id, 0);
	if (r >= 0)
		r = sym_sd_journal_add_match(j, m_result, 0);
	if (r >= 0 && streq(job_result, "done")) /* not the stop half of a restart job */
		r = sym_sd_journal_add_match(j, m_type, 0);
	if (r >= 0)
		r = sym_sd_journal_add_match(j, m_boot, 0);
	if (r >= 0)
		r = sym_sd_journal_get_fd(j); /* watch before looking, so no write is missed */
	while (r >= 0) {
		r = sym_sd_journal_seek_tail(j);
		if (r >= 0)
			r = sym_sd_journal_previous(j);
		if (r != 0)
			break; /* found, or an error */
		uint64_t now = now_usec();
		if (now >= end) {
			log_debug("journal: no entry for job %u of %s yet", job_id, unit);
			break;
		}
		r = sym_sd_journal_wait(j, end - now);
	}
	sym_sd_journal_flush_matches(j);
}

/* Match the unit's entries (M_UNIT "_SYSTEMD_UNIT=UNIT", M_PID1_UNIT "UNIT=UNIT") of this boot
 * (M_BOOT "_BOOT_ID=...", NULL: any boot) and seek to SINCE (0: the tail). */
static int journal_match_unit(sd_journal *j, const char *m_unit, const char *m_pid1_unit, const char *m_boot,
			      uint64_t since)
{
	int r;

	/* The unit's own output, or PID 1's messages about it (as journalctl -u does), in this boot. */
	r = sym_sd_journal_add_match(j, m_unit, 0);
	if (r >= 0 && m_boot)
		r = sym_sd_journal_add_match(j, m_boot, 0);
	if (r >= 0)
		r = sym_sd_journal_add_disjunction(j);
	/* PID 1's messages about the unit carry UNIT=, and so do those of the child it forked to
	 * start it ("Failed to execute /usr/sbin/...: No such file"): that child is often gone by the
	 * time journald reads its message, which then has no _SYSTEMD_UNIT. Both run as root: _UID is
	 * set by journald from the sender's credentials, whether the sender still exists or not. */
	if (r >= 0)
		r = sym_sd_journal_add_match(j, "_UID=0", 0);
	if (r >= 0)
		r = sym_sd_journal_add_match(j, m_pid1_unit, 0);
	if (r >= 0 && m_boot)
		r = sym_sd_journal_add_match(j, m_boot, 0);
	if (r >= 0)
		r = since ? sym_sd_journal_seek_realtime_usec(j, since) : sym_sd_journal_seek_tail(j);
	return r;
}

/* Up to N entries from where J stands, oldest first, one per line, in *TEXT: backwards from the
 * tail, or forwards (FORWARD) from a point and then turned. */
static int journal_collect(sd_journal *j, unsigned n, bool forward, char **text)
{
	char **lines = calloc(n, sizeof *lines);
	unsigned got = 0;
	size_t total = 1;
	int r = 0;

	if (!lines)
		return -ENOMEM;
	/* Collected newest first. */
	while (got < n && (r = forward ? sym_sd_journal_next(j) : sym_sd_journal_previous(j)) > 0) {
		lines[got] = journal_line(j);
		if (!lines[got]) {
			r = -ENOMEM;
			break;
		}
		total += strlen(lines[got]) + 1;
		got++;
	}
	if (r < 0 && r != -ENOMEM)
		log_debug("journal: %s", strerror(-r));
	for (unsigned i = 0; forward && i < got / 2; i++) {
		char *t = lines[i];
		lines[i] = lines[got - 1 - i];
		lines[got - 1 - i] = t;
	}
	char *out = r == -ENOMEM ? NULL : malloc(total);
	if (out) {
		char *p = out;
		for (unsigned i = got; i > 0; i--)
			p = stpcpy(stpcpy(p, lines[i - 1]), "\n");
		*p = '\0';
	}
	for (unsigned i = 0; i < got; i++)
		free(lines[i]);
	free(lines);
	if (!out)
		return -ENOMEM;
	*text = out;
	return 0;
}

int unit_journal_lines(const char *unit, unsigned n, uint64_t since, uint32_t job_id, const char *job_result,
		       const char *job_type, char **text)
{
	_cleanup_(sym_sd_journal_closep) sd_journal *j = NULL;
	_cleanup_free_ char *m_unit = NULL, *m_pid1_unit = NULL, *m_boot = NULL;
	sd_id128_t boot;
	int r;

	*text = strdup("");
	if (!*text)
		return log_err(-ENOMEM, "out of memory");
	if (n == 0 || dlopen_systemd() < 0)
		return 0;
	r = sym_sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY);
	if (r < 0) {
		log_debug("no journal to read: %s", strerror(-r));
		return 0;
	}
	m_unit = strdup_printf("_SYSTEMD_UNIT=%s", unit);
	m_pid1_unit = strdup_printf("UNIT=%s", unit);
	if (sym_sd_id128_get_boot(&boot) >= 0) {
		char s[SD_ID128_STRING_MAX];
		m_boot = strdup_printf("_BOOT_ID=%s", sym_sd_id128_to_string(boot, s));
		if (!m_boot)
			return log_err(-ENOMEM, "out of memory");
	}
	if (!m_unit || !m_pid1_unit)
		return log_err(-ENOMEM, "out of memory");
	if (job_id > 0 && !strempty(job_result))
		journal_wait_for_job(j, unit, job_id, job_result, job_type, m_boot);
	r = journal_match_unit(j, m_unit, m_pid1_unit, m_boot, since);
	if (r < 0) {
		log_debug("journal: %s", strerror(-r));
		return 0;
	}
	char *out;
	if (journal_collect(j, n, since != 0, &out) < 0)
		return log_err(-ENOMEM, "out of memory");
	free(*text);
	*text = out;
	return 0;
}

int units_last_journal_lines(const char *unit, unsigned n, char **text)
{
	return unit_journal_lines(unit, n, 0, 0, NULL, NULL, text);
}

int units_journal_lines_since(const char *unit, uint64_t since, unsigned n, char **text)
{
	return unit_journal_lines(unit, n, since ? since : 1, 0, NULL, NULL, text);
}
