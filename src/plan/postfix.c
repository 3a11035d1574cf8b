/* Postfix configuration edits. */
#include "postfix.h"

#include "strv.h"
#include "util.h"

/* "/op25b/tree/1/smtps[2]" -> "smtps[2]" */
static char *rel_of(const struct conf_file *m, const char *abs)
{
	size_t n = strlen(m->tree);
	return strdup(strncmp(abs, m->tree, n) == 0 && abs[n] == '/' ? abs + n + 1 : abs);
}

static int match_rel(struct conf_set *s, struct conf_file *m, const char *expr, char ***rels, int *n)
{
	_cleanup_free_ char *q = conf_node(m, expr);
	char **abs = NULL;
	if (!q)
		return -ENOMEM;
	*n = sym_aug_match(s->aug, q, &abs);
	if (*n < 0)
		return log_err(-EINVAL, "Augeas match %s failed", expr);
	*rels = calloc((size_t)*n + 1, sizeof(char *));
	int r = *rels ? 0 : -ENOMEM;
	for (int i = 0; i < *n; i++) {
		if (r == 0 && !((*rels)[i] = rel_of(m, abs[i])))
			r = -ENOMEM;
		free(abs[i]);
	}
	free(abs);
	return r;
}

static bool has_child(struct conf_set *s, struct conf_file *m, const char *rel, const char *child)
{
	_cleanup_free_ char *p = strdup_printf("%s/%s/%s", m->tree, rel, child);
	return p && sym_aug_match(s->aug, p, NULL) > 0;
}

/* The TCP port a master.cf service name stands for: "465", "smtps", "127.0.0.1:submissions",
 * "[::1]:465" -> 465; 0 for a name that is no port (a unix service, an unknown name). Postfix
 * looks the name up in /etc/services; these are the names op25b's ports have there. */
static unsigned service_port(const char *name)
{
	static const struct { const char *name; unsigned port; } known[] = {
		{ "smtp", 25 }, { "smtps", 465 }, { "submissions", 465 }, { "urd", 465 }, { "ssmtp", 465 },
		{ "submission", 587 },
	};
	const char *svc = name;
	if (name[0] == '[') { /* [IPv6]:port */
		const char *close = strchr(name, ']');
		svc = close && close[1] == ':' ? close + 2 : name;
	} else if (strrchr(name, ':')) {
		svc = strrchr(name, ':') + 1;
	}
	if (*svc >= '0' && *svc <= '9' && strspn(svc, "0123456789") == strlen(svc) && strlen(svc) <= 5)
		return (unsigned)strtoul(svc, NULL, 10);
	for (size_t i = 0; i < ELEMENTSOF(known); i++)
		if (streq(svc, known[i].name))
			return known[i].port;
	return 0;
}

int master_find(struct conf_set *s, struct conf_file *m, const char *const *names, char **rel)
{
	/* Every inet service of the ports NAMES stand for, whatever it is called ("465",
	 * "127.0.0.1:submissions", "[::1]:465"): an active one is the service; else the
	 * commented-out one of the first of NAMES, else one named by the port alone ("#587 inet").
	 * A commented-out one bound to an address is never enabled: it would serve that address
	 * only (Debian's "#127.0.0.1:submission" is meant for a local relay), so without another
	 * candidate the caller adds a service of its own. */
	unsigned ports[8];
	size_t np = 0;
	for (size_t k = 0; names[k] && np < ELEMENTSOF(ports); k++)
		if (service_port(names[k]))
			ports[np++] = service_port(names[k]);
	char **v = NULL;
	int n, r, best_rank = -1;
	*rel = NULL;
	if ((r = match_rel(s, m, "*[type = 'inet']", &v, &n)) < 0) {
		strv_free(v);
		return r;
	}
	for (int i = 0; i < n; i++) {
		_cleanup_free_ char *abs = conf_node(m, v[i]);
		const char *label = NULL;
		if (!abs) {
			r = -ENOMEM;
			break;
		}
		if (sym_aug_label(s->aug, abs, &label) != 1 || !label)
			continue;
		unsigned port = service_port(label);
		bool ours = false;
		for (size_t k = 0; k < np; k++)
			ours |= port && port == ports[k];
		if (!ours)
			continue;
		int rank;
		if (!has_child(s, m, v[i], "disabled"))
			rank = 1000;
		else if (strchr(label, ':'))
			continue;
		else {
			size_t k = 0;
			while (names[k] && !streq(names[k], label))
				k++;
			rank = names[k] ? 500 - (int)k : 100;
		}
		if (rank > best_rank) {
			best_rank = rank;
			free(*rel);
			if (!(*rel = strdup(v[i]))) {
				r = -ENOMEM;
				break;
			}
		}
	}
	strv_free(v);
	return r;
}

void master_warn_host(struct conf_set *s, struct conf_file *m, const char *rel, unsigned port)
{
	_cleanup_free_ char *abs = conf_node(m, rel);
	const char *label = NULL;
	if (!abs || has_child(s, m, rel, "disabled") || sym_aug_label(s->aug, abs, &label) != 1 || !label)
		return;
	const char *colon = label[0] == '[' ? strstr(label, "]:") : strrchr(label, ':');
	if (colon)
		log_warn("%s: the service on port %u is \"%s\", bound to %.*s only: clients elsewhere cannot "
			 "reach it; remove the address from its name to serve every address", m->path, port, label,
			 (int)(colon - label + (label[0] == '[')), label);
}

/* The option node to use: an active one if there is one, else the first commented one. */
static int find_option(struct conf_set *s, struct conf_file *m, const char *rel, const char *name, char **opt)
{
	_cleanup_free_ char *expr = strdup_printf("%s/%s", rel, name);
	char **v = NULL;
	int n, r;
	*opt = NULL;
	if (!expr)
		return -ENOMEM;
	if ((r = match_rel(s, m, expr, &v, &n)) < 0) {
		strv_free(v);
		return r;
	}
	for (int i = 0; i < n && !*opt; i++)
		if (!has_child(s, m, v[i], "disabled"))
			*opt = strdup(v[i]);
	if (!*opt && n > 0)
		*opt = strdup(v[0]);
	strv_free(v);
	return n > 0 && !*opt ? -ENOMEM : 0;
}

int master_enable(struct conf_set *s, struct conf_file *m, const char *rel, const struct master_opt *opts, size_t n)
{
	int r;
	_cleanup_free_ char *marker = strdup_printf("%s/disabled", rel);
	if (!marker)
		return -ENOMEM;
	if ((r = conf_remove(s, m, marker)) < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *opt = NULL;
		if ((r = find_option(s, m, rel, opts[i].name, &opt)) < 0)
			return r;
		if (!opt) {
			_cleanup_free_ char *p = strdup_printf("%s/%s", rel, opts[i].name);
			if (!p)
				return -ENOMEM;
			if ((r = conf_set(s, m, p, opts[i].value)) < 0)
				return r;
			continue;
		}
		_cleanup_free_ char *om = strdup_printf("%s/disabled", opt);
		if (!om)
			return -ENOMEM;
		if ((r = conf_remove(s, m, om)) < 0)
			return r;
		if (!opts[i].keep_value && (r = conf_set(s, m, opt, opts[i].value)) < 0)
			return r;
	}
	return 0;
}

int master_add(struct conf_set *s, struct conf_file *m, const char *name, const char *const *after_names, char **rel)
{
	const char *chroot = "n";
	bool present;
	int r = conf_get(s, m, "smtp[type = 'inet']/chroot", &present, &chroot);
	if (r < 0)
		return r;
	if (!present || !chroot)
		chroot = "n";
	_cleanup_free_ char *chroot_copy = strdup(chroot);
	if (!chroot_copy)
		return -ENOMEM;

	char *anchor = NULL;
	for (size_t k = 0; after_names[k] && !anchor; k++) {
		_cleanup_free_ char *expr = strdup_printf("%s[type = 'inet'][last()]", after_names[k]);
		char **v = NULL;
		int n;
		if (!expr)
			return -ENOMEM;
		if ((r = match_rel(s, m, expr, &v, &n)) < 0) {
			strv_free(v);
			return r;
		}
		if (n > 0)
			anchor = strdup(v[n - 1]);
		strv_free(v);
	}
	if (anchor) {
		r = conf_insert(s, m, anchor, false, name);
		free(anchor);
		if (r < 0)
			return r;
	} else if ((r = conf_set(s, m, name, NULL)) < 0) {
		return r;
	}
	/* Order matters: the lens writes the fields in this order. */
	const char *fields[][2] = { { "type", "inet" }, { "private", "n" }, { "unprivileged", "-" },
				    { "chroot", chroot_copy }, { "wakeup", "-" }, { "limit", "-" },
				    { "command", "smtpd" } };
	for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
		_cleanup_free_ char *p = strdup_printf("%s[1]/%s", name, fields[i][0]);
		if (!p)
			return -ENOMEM;
		if ((r = conf_set(s, m, p, fields[i][1])) < 0)
			return r;
	}
	*rel = strdup_printf("%s[1]", name);
	return *rel ? 0 : -ENOMEM;
}

int main_cf_set(struct conf_set *s, struct conf_file *m, const char *key, const char *value)
{
	_cleanup_free_ char *q = conf_node(m, key);
	if (!q)
		return -ENOMEM;
	int n = sym_aug_match(s->aug, q, NULL), r;
	if (n == 0) {
		/* A new parameter goes last, but above a "# DO NOT EDIT ANYTHING BELOW" line (a
		 * generated part follows it). */
		_cleanup_free_ char *marker = conf_node(m, "#comment[. =~ regexp('.*(DO NOT EDIT|Do not edit|do not edit).*')][1]");
		char **v = NULL;
		if (!marker)
			return -ENOMEM;
		int k = sym_aug_match(s->aug, marker, &v);
		_cleanup_free_ char *at = k > 0 ? strdup(v[0] + strlen(m->tree) + 1) : NULL;
		for (int i = 0; i < k; i++)
			free(v[i]);
		free(v);
		if (k > 0 && !at)
			return -ENOMEM;
		if (at && (r = conf_insert(s, m, at, true, key)) < 0)
			return r;
	}
	/* Earlier duplicates take the same value: Postfix warns when they differ. */
	for (int i = 1; i < n; i++) {
		_cleanup_free_ char *p = strdup_printf("%s[%d]", key, i);
		if (!p)
			return -ENOMEM;
		if ((r = conf_set(s, m, p, value)) < 0)
			return r;
	}
	return conf_set(s, m, key, value);
}
