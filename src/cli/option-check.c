/* The options' descriptions and the rules for their values (src/cli/option-check.h). */
#include "option-check.h"

#include <strings.h>

#include "hostport.h"
#include "mechlist.h"
#include "rootfs.h"
#include "secret.h"
#include "settings.h"
#include "util.h"

const struct opt_def opt_defs[N_OPTS] = {
#define OPTION_DEF(ID, NAME, SHORT, KIND, FIELD, VERBS, HASH, FILE, ARG, HELP) \
	[OPT_##ID] = { NAME, SHORT, KIND, VERBS, HASH, FILE, ARG, HELP },
	OPTION_TABLE(OPTION_DEF)
#undef OPTION_DEF
};

bool opt_takes_value(enum opt_id id)
{
	return opt_defs[id].arg[0] != '\0';
}

int opt_bool(const char *v)
{
	static const char *const yes[] = { "yes", "true", "on", "1" }, *const no[] = { "no", "false", "off", "0" };
	for (unsigned i = 0; i < ELEMENTSOF(yes); i++) {
		if (strcasecmp(v, yes[i]) == 0)
			return 1;
		if (strcasecmp(v, no[i]) == 0)
			return 0;
	}
	return -1;
}

/* One rule for the command line and the file: decimal digits only ("+5", " 5" and "5s" are not
 * seconds), 1 to 3600. 0 for anything else. */
unsigned opt_timeout(const char *v)
{
	unsigned long t = 0;
	if (!*v || strlen(v) > 4)
		return 0;
	for (const char *p = v; *p; p++) {
		if (*p < '0' || *p > '9')
			return 0;
		t = t * 10 + (unsigned long)(*p - '0');
	}
	return t <= 3600 ? (unsigned)t : 0;
}

static bool is_list(const char *v)
{
	for (const unsigned char *p = (const unsigned char *)v; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return *v != '\0';
}

/* --mechanisms: the reason, or NULL when V is auto or a list of SASL names; *MSG (allocated) when
 * the reason names one of them. */
static const char *mechanisms_rule(const char *v, bool *show, char **msg)
{
	const char *p = v, *name;
	size_t n, names = 0;
	if (!is_list(v)) {
		*show = false;
		return "the value must not be empty or contain control characters";
	}
	if (streq(v, "auto"))
		return NULL;
	while ((n = mech_list_next(&p, &name)) > 0) {
		if (!mech_name_valid(name, n))
			return (*msg = strdup_printf("'%.*s' is not a SASL mechanism name", (int)n, name)) ? *msg : "out of memory";
		names++;
	}
	*show = names > 0;
	return names ? NULL : "give auto or a list such as PLAIN,LOGIN";
}

/* The reason, or NULL when VALUE is good. SHOW: the message names the value too. *MSG: a reason
 * made for this value, freed by the caller. */
static const char *rule(enum opt_id id, const char *v, bool *show, char **msg)
{
	struct hostport hp;
	char formatted[HOSTPORT_FORMAT_MAX];
	const char *w = NULL;
	unsigned mode;

	*show = true;
	switch (opt_defs[id].kind) {
	case K_FLAG:
	case K_QUIET:
	case K_VERBOSE:
		return opt_bool(v) < 0 ? "expected yes or no" : NULL;
	case K_HELP:
	case K_VERSION:
		return NULL;
	case K_MODE:
		return mode_parse(v, &mode) < 0 ? "unknown mode (smtps or submission)" : NULL;
	case K_PATH:
		if (v[0] != '/')
			return "must be an absolute path";
		*show = false;
		if (!is_config_token(v))
			return "the path must not contain whitespace, control characters or '#'";
		/* Resolved beneath --root (rootfs.h), where ".." could only mislead: refused, with "." and "//". */
		*show = true;
		return path_is_clean(v) ? NULL : "a path must not contain '.' or '..' components, '//' or a trailing '/'";
	case K_ROOT:
		return v[0] == '/' ? NULL : "must be an absolute path";
	case K_CONFIG:
		return v[0] ? NULL : "give the name of a file";
	case K_DOMAIN:
		if (strlen(v) == 0 || strlen(v) > 253) {
			*show = false;
			return "must be a DNS name of 1 to 253 characters";
		}
		return is_dns_name(v) ? NULL : "not a DNS name (letters, digits, '-' and '.')";
	case K_WORD:
		*show = false;
		return is_config_token(v) ? NULL : "the value must be one word (no blanks or control characters)";
	case K_MECHANISMS:
		return mechanisms_rule(v, show, msg);
	case K_RELAYHOST:
		if (hostport_parse(v, 587, &hp, &w) < 0)
			return w ? w : "not HOST[:PORT]";
		return hostport_format(&hp, formatted, sizeof(formatted)) < 0 ? "too long" : NULL;
	case K_RELAY_USER:
		*show = false;
		if (strlen(v) > 255) /* RFC 4616: a SASL authentication identity is at most 255 bytes */
			return "longer than 255 bytes";
		if (!is_config_token(v) || strchr(v, ':'))
			return "must not be empty or contain blanks, control characters, '#' or ':'";
		/* postmap drops a map line that is not UTF-8 (and exits 0): refused, not shown. */
		if ((w = secret_text_problem(v, strlen(v))))
			return streq(w, "a control character") ? "holds a control character (not shown)"
							       : "holds bytes that are not valid UTF-8 (not shown)";
		return NULL;
	case K_RELAY_TLS:
		return streq(v, "secure") || streq(v, "fingerprint") || streq(v, "encrypt") ?
			       NULL : "expected secure, fingerprint or encrypt";
	case K_HOST:
		return is_config_token(v) && strlen(v) <= 253 && !strpbrk(v, "[]/") ?
			       NULL : "give a host name or an address";
	case K_ADDRESS: {
		const char *at = strrchr(v, '@');
		return is_config_token(v) && at && at != v && at[1] && strlen(v) <= 254 && !strpbrk(v, "<>()[],;:\\\"") ?
			       NULL : "give a plain mail address, user@domain";
	}
	case K_USER:
		*show = false;
		return is_config_token(v) && strlen(v) <= 255 ? NULL : "the login of a mail user: one word, at most 255 bytes";
	case K_TIMEOUT:
		return opt_timeout(v) ? NULL : "expected seconds from 1 to 3600";
	}
	return NULL;
}

int opt_check(enum opt_id id, const char *value, const struct opt_origin *from)
{
	const struct opt_def *d = &opt_defs[id];
	bool show;
	_cleanup_free_ char *msg = NULL;
	const char *why = rule(id, value, &show, &msg);
	if (!why)
		return 0;
	if (!from->file)
		return show ? log_err(-EINVAL, "--%s=%s: %s", d->name, value, why) : log_err(-EINVAL, "--%s: %s", d->name, why);

	_cleanup_free_ char *key = strdup(d->name);
	if (!key)
		return log_err(-ENOMEM, "out of memory");
	for (char *p = key; *p; p++)
		if (*p == '-')
			*p = '_';
	_cleanup_free_ char *at = from->line ? strdup_printf("%s:%u", from->file, from->line) : strdup(from->file);
	if (!at)
		return log_err(-ENOMEM, "out of memory");
	if (show)
		return log_err(-EINVAL, "%s: %s = %s: %s", at, key, value, why);
	return log_err(-EINVAL, "%s: %s: %s", at, key, why);
}
