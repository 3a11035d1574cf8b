/* verify: what was applied (the journal) and what the configuration says now (Postfix's and
 * Dovecot's own parsers, so "$name" references and defaults are resolved as the servers do). */
#include <fcntl.h>

#include "journal.h"
#include "spawn.h"
#include "rootfs.h"
#include "util.h"
#include "verify-config.h"

/* Output lines of a postconf/doveconf run, without their own complaints ("postconf: warning: ..."),
 * which spawn_run() mixes in. */
static char *next_line(char **cursor, const char *noise)
{
	while (*cursor && **cursor) {
		char *l = *cursor, *nl = strchr(l, '\n');
		*cursor = nl ? nl + 1 : l + strlen(l);
		if (nl)
			*nl = '\0';
		if (noise && strncmp(l, noise, strlen(noise)) == 0)
			continue;
		return l;
	}
	return NULL;
}

static int dup_value(const char *v, char **out)
{
	if (strempty(v))
		return 0;
	return (*out = strdup(v)) ? 0 : -ENOMEM;
}

#define PROC_DIR "/proc/self/fd/3" /* SPAWN_DIR_FD, as the child sees it */

/* postconf -c DIR -h KEYS...: one output line per key, in order. */
static int read_main_cf(int dfd, const char *dir, unsigned timeout, struct verify_config *vc)
{
	char *argv[] = { "postconf", "-c", PROC_DIR, "-h", "smtpd_tls_cert_file", "relayhost",
			 "smtp_sasl_mechanism_filter", "smtp_tls_security_level", "maillog_file",
			 "smtpd_tls_chain_files", "smtpd_tls_key_file", "smtp_tls_CAfile", "smtp_tls_CApath",
			 "smtp_tls_fingerprint_cert_match", NULL };
	_cleanup_free_ char *chain = NULL;
	char **slots[] = { &vc->smtpd_cert, &vc->relayhost, &vc->mech_filter, &vc->tls_level, &vc->maillog, &chain,
			   &vc->smtpd_key, &vc->relay_ca_file, &vc->relay_ca_path, &vc->tls_pin };
	_cleanup_free_ char *out = NULL;
	int r = spawn_run_timeout(argv, dfd, timeout, &out);
	if (r != 0)
		return log_err(r < 0 ? r : -EIO, "postconf -c %s failed: %.*s", dir, first_line_len(out), out ? out : "");
	char *cur = out;
	for (size_t i = 0; i < ELEMENTSOF(slots); i++) {
		const char *l = next_line(&cur, "postconf: ");
		if (!l)
			return log_err(-EIO, "postconf -c %s: fewer lines than parameters", dir);
		if (dup_value(l, slots[i]) < 0)
			return -ENOMEM;
	}
	if (!vc->maillog && !(vc->maillog = strdup("/var/log/mail.log")))
		return -ENOMEM;
	if (chain) {
		/* smtpd_tls_chain_files, when set, wins over the cert/key pair (Postfix >= 3.4): its
		 * last file holds the certificate chain (the key comes first). */
		size_t n = strlen(chain);
		while (n > 0 && strchr(" \t,", chain[n - 1]))
			chain[--n] = '\0';
		const char *last = chain + n;
		while (last > chain && !strchr(" \t,", last[-1]))
			last--;
		free(vc->smtpd_cert);
		if (!(vc->smtpd_cert = strdup(last)))
			return -ENOMEM;
		/* The key: its first file (reload-certs hashes the pair). */
		free(vc->smtpd_key);
		if (!(vc->smtpd_key = strndup(chain + strspn(chain, " \t,"), strcspn(chain + strspn(chain, " \t,"), " \t,"))))
			return -ENOMEM;
	}
	return 0;
}

/* The service name of a postconf -M line, without an "address:" prefix. */
static bool service_is(const char *line, const char *const *names)
{
	size_t n = strcspn(line, " \t");
	const char *name = line, *colon = memrchr(line, ':', n);
	if (colon) {
		n -= (size_t)(colon + 1 - name);
		name = colon + 1;
	}
	const char *type = line + strcspn(line, " \t");
	type += strspn(type, " \t");
	if (strncmp(type, "inet", 4) != 0 || (type[4] != ' ' && type[4] != '\t'))
		return false;
	for (size_t i = 0; names[i]; i++)
		if (strlen(names[i]) == n && strncmp(name, names[i], n) == 0)
			return true;
	return false;
}

static int read_master_cf(int dfd, const char *dir, unsigned timeout, struct verify_config *vc)
{
	static const char *const s465[] = { "smtps", "submissions", "ssmtp", "465", NULL };
	static const char *const s587[] = { "submission", "587", NULL };
	char *argv[] = { "postconf", "-c", PROC_DIR, "-M", NULL };
	_cleanup_free_ char *out = NULL;
	int r = spawn_run_timeout(argv, dfd, timeout, &out);
	if (r != 0)
		return log_err(r < 0 ? r : -EIO, "postconf -c %s -M failed: %.*s", dir, first_line_len(out), out ? out : "");
	char *cur = out;
	for (const char *l; (l = next_line(&cur, "postconf: "));) {
		vc->svc_465 |= service_is(l, s465);
		vc->svc_587 |= service_is(l, s587);
	}
	return 0;
}

/* doveconf -h NAME; NULL when Dovecot does not know it (2.3 vs 2.4 names). */
static int doveconf(int dfd, unsigned timeout, const char *name, char **out)
{
	char *argv[] = { "doveconf", "-c", PROC_DIR "/dovecot.conf", "-h", (char *)name, NULL };
	_cleanup_free_ char *res = NULL;
	*out = NULL;
	int r = spawn_run_timeout(argv, dfd, timeout, &res);
	if (r < 0 || !res)
		return r < 0 ? r : -ENOMEM;
	if (r != 0) {
		log_debug("doveconf -h %s: %.*s", name, first_line_len(res), res);
		return 0;
	}
	char *cur = res;
	const char *l = next_line(&cur, "doveconf: ");
	return dup_value(l, out);
}

/* Dovecot 2.4 (2.4.1 measured) shows ssl_server_cert_file and _key_file inside "ssl_server {
 * cert_file = ... key_file = ... }" and answers "doveconf -h ssl_server_cert_file" with the empty
 * default: read the block instead. WHAT is "cert" or "key". */
static int doveconf_ssl_server_file(int dfd, unsigned timeout, const char *what, char **out)
{
	char *argv[] = { "doveconf", "-c", PROC_DIR "/dovecot.conf", "ssl_server", NULL };
	_cleanup_free_ char *res = NULL, *block_key = strdup_printf("%s_file = ", what),
			    *flat_key = strdup_printf("ssl_server_%s_file = ", what);
	*out = NULL;
	if (!block_key || !flat_key)
		return -ENOMEM;
	const char *const keys[] = { block_key, flat_key };
	int r = spawn_run_timeout(argv, dfd, timeout, &res);
	if (r < 0 || !res)
		return r < 0 ? r : -ENOMEM;
	if (r != 0)
		return 0;
	char *cur = res;
	for (const char *l; (l = next_line(&cur, "doveconf: "));) {
		l += strspn(l, " \t");
		for (size_t i = 0; i < ELEMENTSOF(keys); i++)
			if (strncmp(l, keys[i], strlen(keys[i])) == 0)
				return dup_value(l + strlen(keys[i]), out);
	}
	return 0;
}

static int read_dovecot(int dfd, unsigned timeout, struct verify_config *vc)
{
	_cleanup_free_ char *cert = NULL, *key = NULL, *protocols = NULL;
	int r;
	if (faccessat(dfd, "dovecot.conf", F_OK, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	if ((r = doveconf(dfd, timeout, "ssl_cert", &cert)) < 0 ||
	    (!cert && (r = doveconf(dfd, timeout, "ssl_server_cert_file", &cert)) < 0) ||
	    (!cert && (r = doveconf_ssl_server_file(dfd, timeout, "cert", &cert)) < 0))
		return r == -ENOENT ? 0 : r;
	if ((r = doveconf(dfd, timeout, "ssl_key", &key)) < 0 ||
	    (!key && (r = doveconf(dfd, timeout, "ssl_server_key_file", &key)) < 0) ||
	    (!key && (r = doveconf_ssl_server_file(dfd, timeout, "key", &key)) < 0))
		return r == -ENOENT ? 0 : r;
	if (key && (r = dup_value(key[0] == '<' ? key + 1 : key, &vc->dovecot_key)) < 0)
		return r;
	if ((r = doveconf(dfd, timeout, "protocols", &protocols)) < 0)
		return r;
	vc->dovecot = true;
	if (cert && (r = dup_value(cert[0] == '<' ? cert + 1 : cert, &vc->dovecot_cert)) < 0)
		return r;
	char *save = NULL;
	for (char *w = protocols ? strtok_r(protocols, " \t,", &save) : NULL; w; w = strtok_r(NULL, " \t,", &save)) {
		vc->imap |= streq(w, "imap");
		vc->pop3 |= streq(w, "pop3");
	}
	return 0;
}

int verify_read_journal(const struct target *o, struct verify_config *vc)
{
	_cleanup_(journal_close) struct journal j = { .lock_fd = -1 };
	int r = journal_open(&j, o->root, o->state_dir, false, o->timeout_sec);
	if (r < 0)
		return r;
	vc->interrupted = j.intent.state != INTENT_NONE;
	for (size_t i = 0; i < j.n; i++) {
		if (j.txs[i].pending)
			vc->interrupted = true;
		else
			vc->modes |= j.txs[i].mode;
	}
	return 0; /* the lock is not held while the network is asked */
}

int verify_read_config(const struct target *o, struct verify_config *vc)
{
	int r;

	/* postconf and doveconf get the directories as resolved beneath the root (their fd 3), and
	 * are stopped after --timeout (a FIFO among the files they read would block them). */
	_cleanup_free_ char *pdir = path_under_root(o->root, o->postfix_dir);
	_cleanup_free_ char *dhost = path_under_root(o->root, o->dovecot_dir);
	if (!pdir || !dhost)
		return log_err(-ENOMEM, "out of memory");
	if (vc->modes) {
		_cleanup_close_ int pfd = root_open(o->root, o->postfix_dir, O_RDONLY | O_DIRECTORY, 0);
		if (pfd < 0)
			return log_err(pfd, "%s: %s", pdir, strerror(-pfd));
		if ((r = read_main_cf(pfd, pdir, o->timeout_sec, vc)) < 0 || (r = read_master_cf(pfd, pdir, o->timeout_sec, vc)) < 0)
			return r;
	}
	if (vc->modes & MODE_SMTPS) {
		_cleanup_close_ int dfd = root_open(o->root, o->dovecot_dir, O_RDONLY | O_DIRECTORY, 0);
		if (dfd >= 0 && (r = read_dovecot(dfd, o->timeout_sec, vc)) < 0)
			return log_err(r, "%s/dovecot.conf: cannot ask doveconf: %s", dhost, strerror(-r));
	}
	return 0;
}

char *main_cf_value(const char *root, const char *postfix_dir, const char *key)
{
	_cleanup_free_ char *path = strdup_printf("%s/main.cf", postfix_dir), *text = NULL;
	size_t len = 0, klen = strlen(key);
	char *value = NULL;
	if (!path || root_read_file(root, path, false, &text, &len, NULL) < 0)
		return NULL;
	for (char *l = text, *nl; l && *l; l = nl ? nl + 1 : NULL) {
		nl = strchr(l, '\n');
		if (nl)
			*nl = '\0';
		if (strncmp(l, key, klen) != 0)
			continue;
		const char *v = l + klen + strspn(l + klen, " \t");
		if (*v != '=')
			continue;
		v += 1 + strspn(v + 1, " \t");
		size_t n = strlen(v);
		while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '\r'))
			n--;
		free(value);
		value = strndup(v, n); /* the last one wins, as in Postfix */
	}
	return value;
}
