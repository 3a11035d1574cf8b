/* verify --send-test on systems that log mail to the systemd journal only (RHEL, Fedora): the
 * delivery status of a queue ID from journald's mail entries. */
#include "maillog-journal.h"

#include <time.h>

#include "dlopen-systemd.h"
#include "util.h"

/* The part of MESSAGE from "to=<" on when it is QID's delivery status line ("QID: to=<...>, ...,
 * status=..."), else NULL. */
static char *status_of(const char *msg, size_t len, const char *qid)
{
	_cleanup_free_ char *key = strdup_printf("%s: to=<", qid);
	if (!key || !memmem(msg, len, "status=", 7))
		return NULL;
	size_t kl = strlen(key);
	/* At the start of the message, or after a blank ("postfix/smtp[123]: QID: to=<" as syslog
	 * passes it through unparsed). */
	for (size_t i = 0; i + kl <= len; i++)
		if ((i == 0 || msg[i - 1] == ' ') && memcmp(msg + i, key, kl) == 0)
			return strndup(msg + i + kl - 4, len - (i + kl - 4));
	return NULL;
}

int maillog_journal_find(const char *qid, uint64_t since_usec, time_t until, char **line)
{
	_cleanup_(sym_sd_journal_closep) sd_journal *j = NULL;
	int r;
	*line = NULL;
	if (dlopen_systemd() < 0)
		return -EOPNOTSUPP;
	if ((r = sym_sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM)) < 0)
		return r;
	/* Postfix logs to syslog with facility mail (2), or, with maillog_file = /dev/stdout, as the
	 * output of its unit. */
	if ((r = sym_sd_journal_add_match(j, "SYSLOG_FACILITY=2", 0)) < 0 ||
	    (r = sym_sd_journal_add_disjunction(j)) < 0 ||
	    (r = sym_sd_journal_add_match(j, "_SYSTEMD_UNIT=postfix.service", 0)) < 0 ||
	    (r = sym_sd_journal_add_match(j, "_SYSTEMD_UNIT=postfix@-.service", 0)) < 0 ||
	    (r = sym_sd_journal_seek_realtime_usec(j, since_usec)) < 0)
		return r;
	bool any = false;
	for (;;) {
		while ((r = sym_sd_journal_next(j)) > 0) {
			const void *data;
			size_t len;
			any = true;
			if (sym_sd_journal_get_data(j, "MESSAGE", &data, &len) < 0 || len < 8)
				continue;
			char *s = status_of((const char *)data + 8, len - 8, qid);
			if (s) {
				*line = s;
				return 1;
			}
		}
		if (r < 0)
			return r;
		time_t now = time(NULL);
		if (now >= until)
			return any ? 0 : -ENODATA;
		if ((r = sym_sd_journal_wait(j, (uint64_t)(until - now) * 1000000u)) < 0)
			return r;
	}
}
