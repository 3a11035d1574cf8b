/* submission: outbound mail relayed through the ISP's submission server with SASL over TLS, and
 * clients submitting on this server's 587. What the hand recipe gets wrong is fixed here: TLS is
 * required before the password goes out, to a relay that proves who it is (relay-tls.c), the map
 * is root's and 0600 from its first byte, and the table type is the one this Postfix uses. */
#include <strings.h>
#include <sys/stat.h>

#include "dovecot.h"
#include "hostport.h"
#include "plan.h"
#include "postfix.h"
#include "postmap.h"
#include "relay-tls.h"
#include "sasl.h"
#include "secret.h"
#include "rootfs.h"
#include "util.h"


/* --mechanisms=LIST: SASL names (RFC 4422: A-Z 0-9 - _), separated by commas or blanks. */
static int parse_mech_list(const char *list, char **out)
{
	size_t n = strlen(list);
	char *res = calloc(1, 2 * n + 2), *w = res;
	if (!res)
		return -ENOMEM;
	for (const char *p = list; *p;) {
		while (*p == ',' || *p == ' ')
			p++;
		size_t k = strcspn(p, ", ");
		if (k == 0)
			break;
		for (size_t i = 0; i < k; i++) {
			char c = p[i];
			if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) {
				free(res);
				return log_err(-EINVAL, "--mechanisms=%s: '%.*s' is not a SASL mechanism name", list, (int)k, p);
			}
			*w++ = (char)((c >= 'A' && c <= 'Z') ? c + 32 : c);
		}
		*w++ = ',';
		*w++ = ' ';
		p += k;
	}
	if (w == res) {
		free(res);
		return log_err(-EINVAL, "--mechanisms: give auto or a list such as PLAIN,LOGIN");
	}
	w[-2] = '\0';
	*out = res;
	return 0;
}

/* Without the Cyrus SASL client plugins Postfix defers mail with "no mechanism available". */
static void warn_missing_plugins(const char *root, const char *mechs)
{
	static const char *const dirs[] = { "/usr/lib/x86_64-linux-gnu/sasl2", "/usr/lib/aarch64-linux-gnu/sasl2",
					    "/usr/lib64/sasl2", "/usr/lib/sasl2" };
	static const char *const map[][2] = { { "plain", "libplain.so" }, { "login", "liblogin.so" },
					      { "cram-md5", "libcrammd5.so" }, { "digest-md5", "libdigestmd5.so" },
					      { "scram-sha-1", "libscram.so" }, { "scram-sha-256", "libscram.so" },
					      { "ntlm", "libntlm.so" }, { "gssapi", "libgssapiv2.so" } };
	for (size_t i = 0; i < ELEMENTSOF(map); i++) {
		if (!strstr(mechs, map[i][0]))
			continue;
		for (size_t d = 0; d < ELEMENTSOF(dirs); d++) {
			_cleanup_free_ char *p = strdup_printf("%s/%s", dirs[d], map[i][1]);
			struct stat st;
			if (p && root_stat(root, p, false, &st) == 0)
				return; /* one usable mechanism is enough */
		}
	}
	log_warn("no Cyrus SASL client plugin for %s is installed: Postfix would defer relayed mail with "
		 "\"no mechanism available\" (Debian: apt-get install libsasl2-modules)", mechs);
}

/* The table type this Postfix uses (hash, lmdb, ...): a hard-coded "hash:" leaves mail stuck with
 * "unsupported dictionary type" where the default is another. */
static int table_type(struct conf_set *s, const char *postfix_dir, struct conf_file *main_cf, char **out)
{
	int r = postfix_param(s, postfix_dir, main_cf, "default_database_type", out);
	if (r < 0)
		return r;
	if (!is_config_token(*out))
		return log_err(-EIO, "postconf: odd default_database_type '%s'", *out);
	return 0;
}

/* The map line for KEY in TEXT (postmap's input: "KEY VALUE" lines, "#" comments, continuation
 * lines starting with a blank), set to "KEY USER:PASSWORD"; other lines stay as they are; a
 * duplicate of KEY, in any letter case, goes (postmap folds the case: the first would win). The result is written into one buffer sized up front,
 * so no copy of the password is left in memory that op25b does not wipe.
 * Why not Augeas, as for every other file: this is the one file whose content is a secret, and
 * Augeas cannot wipe the strings it frees. */
static int map_with_line(const char *text, size_t len, const char *key, const char *user,
			 const struct secret *pw, char **out, size_t *out_len)
{
	size_t klen = strlen(key), ulen = strlen(user);
	size_t cap = len + klen + ulen + pw->len + 8; /* line, newlines, NUL */
	char *buf = malloc(cap), *w = buf;
	bool placed = false, skipping = false;
	if (!buf)
		return -ENOMEM;
	for (const char *l = text; l < text + len;) {
		const char *nl = memchr(l, '\n', (size_t)(text + len - l));
		size_t ll = nl ? (size_t)(nl - l) + 1 : (size_t)(text + len - l);
		bool continuation = l[0] == ' ' || l[0] == '\t';
		size_t tok = strcspn(l, " \t\n");
		/* postmap folds keys to lower case: [SMTP.ISP.EXAMPLE]:587 is the same entry. */
		bool ours = !continuation && l[0] != '#' && tok == klen && tok < ll && strncasecmp(l, key, klen) == 0;
		if (continuation && skipping) {
			l += ll;
			continue;
		}
		skipping = ours;
		if (ours && !placed) {
			w += sprintf(w, "%s %s:", key, user);
			memcpy(w, pw->data, pw->len);
			w += pw->len;
			*w++ = '\n';
			placed = true;
		} else if (!ours) {
			memcpy(w, l, ll);
			w += ll;
			if (!nl)
				*w++ = '\n'; /* the last line gets its newline */
		}
		l += ll;
	}
	if (!placed) {
		w += sprintf(w, "%s %s:", key, user);
		memcpy(w, pw->data, pw->len);
		w += pw->len;
		*w++ = '\n';
	}
	*w = '\0';
	*out = buf;
	*out_len = (size_t)(w - buf);
	return 0;
}

/* The map PATH (stat MAP, as read) and its compiled table under ROOT are root:root 0600. */
static bool closed(const char *root, const char *path, const struct stat *map, const char *type)
{
	struct stat st;
	if (map->st_uid != 0 || map->st_gid != 0 || (map->st_mode & 07777) != 0600)
		return false;
	for (const char *const *sfx = postmap_suffixes(type); *sfx; sfx++) {
		_cleanup_free_ char *db = strdup_printf("%s%s", path, *sfx);
		if (!db || (root_stat(root, db, true, &st) == 0 && (st.st_uid != 0 || st.st_gid != 0 || (st.st_mode & 077))))
			return false;
	}
	return true;
}

/* The map, raw for the journal (edits would carry the password), secret for diffs, 0600 always. */
static int plan_map(struct conf_set *s, const char *path, const char *key, const char *user,
		    const struct secret *pw, const char *type)
{
	struct conf_file *f;
	int r = conf_open_raw(s, path, 0600, &f);
	if (r < 0)
		return r;
	if (!(f->postmap_type = strdup(type)))
		return -ENOMEM;
	/* Never readable by others, whatever mode and owner it had (root:root, as its compiled table:
	 * see postmap_run()). */
	struct stat as_read = f->st; /* conffile.c: the file as read */
	f->force_mode = 0600;
	f->st.st_uid = 0;
	f->st.st_gid = 0;
	char *text;
	size_t len;
	if ((r = map_with_line(f->old, f->old_len, key, user, pw, &text, &len)) < 0)
		return r;
	bool same = f->existed && len == f->old_len && memcmp(text, f->old, len) == 0;
	if (same && closed(s->root, path, &as_read, type)) {
		explicit_bzero(text, len);
		free(text);
		return 0;
	}
	f->new = text;
	f->new_len = len;
	return 0;
}

int plan_submission(struct conf_set *s, const struct target *t, const struct relay_settings *o,
		    const struct tls_paths *tls)
{
	struct conf_file *main_cf, *master_cf;
	struct hostport hp;
	const char *why = NULL;
	char relay[HOSTPORT_FORMAT_MAX];
	_cleanup_free_ char *mechs = NULL, *type = NULL, *map = NULL;
	_cleanup_(secret_wipe) struct secret pw = { 0 };
	_cleanup_(relay_tls_done) struct relay_tls rt = { 0 };
	int r;

	/* The request is checked (src/cli/request.c): the relay parses, the login and the password's
	 * source are there. */
	if (hostport_parse(o->host, 587, &hp, &why) < 0 || hostport_format(&hp, relay, sizeof(relay)) < 0)
		return log_err(-EINVAL, "--relayhost=%s: %s", o->host, why ? why : "too long");
	if (o->mechanisms && !streq(o->mechanisms, "auto") && (r = parse_mech_list(o->mechanisms, &mechs)) < 0)
		return r;
	r = o->password_file ? secret_from_file(t->root, o->password_file, &pw)
			     : secret_from_stdin("--relay-password-stdin", "ISP relay password (not shown): ", &pw);
	if (r < 0)
		return r;

	if ((r = postfix_open(s, t->postfix_dir, &main_cf, &master_cf)) < 0)
		return r;
	if ((r = relay_tls_check(s, main_cf, t, o, &hp, !mechs, &rt)) < 0)
		return r;
	if (!mechs && (r = parse_mech_list(rt.offered, &mechs)) < 0)
		return r;
	warn_missing_plugins(t->root, mechs);
	if ((r = table_type(s, t->postfix_dir, main_cf, &type)) < 0)
		return r;
	map = o->password_map ? strdup(o->password_map) : strdup_printf("%s/ispinfo", t->postfix_dir);
	_cleanup_free_ char *maps = map ? strdup_printf("%s:%s", type, map) : NULL;
	if (!maps)
		return -ENOMEM;
	if ((r = plan_map(s, map, relay, o->user, &pw, type)) < 0)
		return r;
	/* The map is written (and compiled) before main.cf points at it. */
	struct conf_file *mapf = s->files[s->n - 1];
	memmove(&s->files[1], &s->files[0], (s->n - 1) * sizeof(*s->files));
	s->files[0] = mapf;

	const char *keys[][2] = {
		{ "relayhost", relay },
		{ "smtp_sasl_auth_enable", "yes" },
		{ "smtp_sasl_password_maps", maps },
		{ "smtp_sasl_security_options", "noanonymous" },
		{ "smtp_sasl_tls_security_options", "noanonymous" },
		{ "smtp_sasl_mechanism_filter", mechs },
	};
	for (size_t i = 0; i < ELEMENTSOF(keys); i++)
		if ((r = main_cf_set(s, main_cf, keys[i][0], keys[i][1])) < 0)
			return r;
	if ((r = relay_tls_set(s, main_cf, &rt)) < 0)
		return r;
	if (hp.port == 465 && (r = main_cf_set(s, main_cf, "smtp_tls_wrappermode", "yes")) < 0)
		return r;

	/* A certificate given here is set up for the clients' 587 too. */
	if (tls->cert && (r = plan_tls_server(s, main_cf, tls)) < 0)
		return r;
	bool present;
	const char *cert;
	if ((r = conf_get(s, main_cf, "smtpd_tls_cert_file", &present, &cert)) < 0)
		return r;
	bool have_cert = present && !strempty(cert);
	/* 587's "TLS before AUTH" relies on the certificate: this mode needs it as it is, also when
	 * smtps set it (reverting smtps then leaves it; without it 587 would refuse every client). */
	if (have_cert && !tls->cert &&
	    ((r = conf_claim(s, main_cf, "smtpd_tls_cert_file")) < 0 || (r = conf_claim(s, main_cf, "smtpd_tls_key_file")) < 0))
		return r;
	if (!have_cert && (r = conf_get(s, main_cf, "smtpd_tls_chain_files", &present, &cert)) < 0)
		return r;
	if (!have_cert && present && !strempty(cert)) {
		have_cert = true;
		if (!tls->cert && (r = conf_claim(s, main_cf, "smtpd_tls_chain_files")) < 0)
			return r;
	}

	static const char *const names[] = { "submission", NULL };
	static const char *const after[] = { "smtp", NULL };
	_cleanup_free_ char *rel = NULL;
	if ((r = master_find(s, master_cf, names, &rel)) < 0)
		return r;
	if (!rel && (r = master_add(s, master_cf, "submission", after, &rel)) < 0)
		return r;
	const struct master_opt opts[] = {
		{ "syslog_name", "postfix/submission", true },
		{ "smtpd_sasl_auth_enable", "yes", false },
		{ "smtpd_relay_restrictions", "permit_sasl_authenticated,reject", false },
		/* AUTH only inside TLS on the clients' 587, when there is a certificate to offer. */
		{ "smtpd_tls_security_level", "encrypt", false },
		{ "smtpd_tls_auth_only", "yes", false },
	};
	master_warn_host(s, master_cf, rel, 587);
	if ((r = master_enable(s, master_cf, rel, opts, have_cert ? 5 : 3)) < 0)
		return r;
	if (tls->cert && (r = plan_tls_stanza(s, master_cf, rel, tls)) < 0)
		return r;
	if (!have_cert)
		log_warn("no TLS certificate is configured: clients would send their passwords to port 587 in "
			 "clear; give --cert/--key or --domain (or apply --mode=smtps first)");
	return plan_sasl_wiring(s, t, main_cf);
}
