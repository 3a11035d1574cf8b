/* The firewall step: firewalld services over D-Bus (online) or in the zone XML (offline). */
#include "firewall.h"

#include "dlopen-augeas.h"
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include "dlopen-systemd.h"

#include "aug.h"
#include "atomic.h"
#include "offline.h"
#include "rootfs.h"
#include "util.h"

#define FW_NAME "org.fedoraproject.FirewallD1"
#define FW_PATH "/org/fedoraproject/FirewallD1"
#define FW_CONFIG_PATH FW_PATH "/config"
#define FW_EXCEPTION FW_NAME ".Exception"

#define FW_DEFAULT_TIMEOUT_SEC 25u
#define FW_MAX_SERVICES 4

/* ---------------------------------------------------------------- small helpers */

static void aug_matches_free(char **v, int n)
{
	for (int i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Zone and service names end up in paths and Augeas path expressions: firewalld's own charset. */
static bool fw_name_valid(const char *s)
{
	if (strempty(s) || s[0] == '.' || s[0] == '-' || strlen(s) > 128)
		return false;
	for (const char *c = s; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
		      *c == '-' || *c == '_' || *c == '.' || *c == '+'))
			return false;
	return true;
}

static bool is_blank(const char *s)
{
	return s && s[strspn(s, " \t\r\n")] == '\0';
}

static bool is_dir_under(const char *root, const char *path)
{
	struct stat st;
	return root_stat(root, path, false, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool exists_under(const char *root, const char *path)
{
	struct stat st;
	return root_stat(root, path, false, &st) == 0;
}

static const char *layers_str(unsigned l)
{
	switch (l & FW_BOTH) {
	case FW_BOTH: return "permanent+runtime";
	case FW_PERMANENT: return "permanent";
	case FW_RUNTIME: return "runtime";
	default: return "-";
	}
}

void fw_result_done(struct fw_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_services; i++)
		free(r->services[i].name);
	free(r->services);
	free(r->zone);
	free(r->path);
	free(r->source);
	free(r->file);
	free(r->old_data);
	free(r->new_data);
	*r = (struct fw_result){ 0 };
}

static int result_add_service(struct fw_result *r, const char *name, unsigned layers)
{
	struct fw_service *s = realloc(r->services, (r->n_services + 1) * sizeof(*s));
	if (!s)
		return -ENOMEM;
	r->services = s;
	s[r->n_services].name = strdup(name);
	if (!s[r->n_services].name)
		return -ENOMEM;
	s[r->n_services++].layers = layers;
	return 0;
}

/* ---------------------------------------------------------------- modes, services, ports */

size_t fw_services_for_modes(unsigned modes, bool have_submission, const char *out[static 4])
{
	size_t n = 0;
	if (modes & MODE_SMTPS) {
		out[n++] = "smtps";
		out[n++] = "imaps";
		out[n++] = "pop3s";
	}
	if (modes & MODE_SUBMISSION)
		/* firewalld < 2.1 (Debian 12, RHEL 9) names port 587 "smtp-submission". */
		out[n++] = have_submission ? "submission" : "smtp-submission";
	return n;
}

size_t fw_router_ports(unsigned modes, unsigned out[static 4])
{
	size_t n = 0;
	if (modes & MODE_SMTPS) {
		out[n++] = 465;
		out[n++] = 993;
		out[n++] = 995;
	}
	if (modes & MODE_SUBMISSION)
		out[n++] = 587;
	return n;
}

char *fw_router_hint(unsigned modes)
{
	unsigned ports[4];
	size_t n = fw_router_ports(modes, ports);
	char buf[64] = "";
	size_t len = 0;
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%u", i ? ", " : "", ports[i]);
	return strdup(buf);
}

/* ---------------------------------------------------------------- zone XML (Augeas Xml lens) */

#define T_TREE "/op25b/tree"
#define T_ZONE T_TREE "/zone"

/* Children of the <zone> element, in document order. */
struct kids {
	char **path;
	int n;
};

static void kids_free(struct kids *k)
{
	aug_matches_free(k->path, k->n);
	k->path = NULL;
	k->n = 0;
}

static int kids_load(augeas *aug, struct kids *k)
{
	kids_free(k);
	k->n = sym_aug_match(aug, T_ZONE "/*", &k->path);
	if (k->n < 0) {
		k->n = 0;
		return -EIO;
	}
	return 0;
}

static const char *kid_label(augeas *aug, const struct kids *k, int i)
{
	const char *l = NULL;
	if (i < 0 || i >= k->n || sym_aug_label(aug, k->path[i], &l) != 1)
		return NULL;
	return l;
}

static const char *kid_value(augeas *aug, const struct kids *k, int i)
{
	const char *v = NULL;
	if (i < 0 || i >= k->n || sym_aug_get(aug, k->path[i], &v) != 1)
		return NULL;
	return v;
}

static bool kid_is_element(augeas *aug, const struct kids *k, int i)
{
	const char *l = kid_label(aug, k, i);
	return l && l[0] != '#';
}

static bool kid_is_blank_text(augeas *aug, const struct kids *k, int i)
{
	return streq(kid_label(aug, k, i), "#text") && is_blank(kid_value(aug, k, i));
}

/* Indentation of child I: the blank text before it, from its last newline on ("  " if none). */
static char *indent_of(augeas *aug, const struct kids *k, int i)
{
	if (!kid_is_blank_text(aug, k, i - 1))
		return strdup("  ");
	const char *t = kid_value(aug, k, i - 1);
	const char *nl = strrchr(t, '\n');
	return strdup(nl ? nl + 1 : t);
}

static int service_count(augeas *aug, const char *name)
{
	_cleanup_free_ char *q = strdup_printf(T_ZONE "/service[#attribute/name = '%s']", name);
	if (!q)
		return -ENOMEM;
	int n = sym_aug_match(aug, q, NULL);
	return n < 0 ? -EIO : n;
}

static int set_and_rename(augeas *aug, const char *tmp, const char *value, const char *label)
{
	if (sym_aug_set(aug, tmp, value) < 0 || sym_aug_rename(aug, tmp, label) < 0)
		return -EIO;
	return 0;
}

/* Add <service name="NAME"/>: after the last <service>, else after the last of short,
 * description, interface, source (firewalld's own order), else before the first element, else
 * as the only child. Indented like its neighbour, as firewall-offline-cmd writes it. */
static int xml_add_service(augeas *aug, const char *name)
{
	static const char *const before_services[] = { "short", "description", "interface", "source" };
	struct kids k = { 0 };
	int r, anchor = -1, first_elem = -1;

	r = kids_load(aug, &k);
	if (r < 0)
		goto out;
	for (int i = 0; i < k.n; i++) {
		if (!kid_is_element(aug, &k, i))
			continue;
		if (first_elem < 0)
			first_elem = i;
		const char *l = kid_label(aug, &k, i);
		if (streq(l, "service"))
			anchor = i;
		else if (anchor < 0 || !streq(kid_label(aug, &k, anchor), "service"))
			for (size_t j = 0; j < ELEMENTSOF(before_services); j++)
				if (streq(l, before_services[j]))
					anchor = i;
	}

	r = -EIO;
	if (anchor >= 0 || first_elem >= 0) {
		int at = anchor >= 0 ? anchor : first_elem;
		bool after = anchor >= 0;
		_cleanup_free_ char *ind = indent_of(aug, &k, at);
		if (!ind) {
			r = -ENOMEM;
			goto out;
		}
		/* after: ANCHOR, text, service   before: service, text, FIRST */
		if (after) {
			if (sym_aug_insert(aug, k.path[at], "op25b-svc", 0) < 0 ||
			    sym_aug_insert(aug, k.path[at], "op25b-txt", 0) < 0)
				goto out;
		} else {
			if (sym_aug_insert(aug, k.path[at], "op25b-txt", 1) < 0 ||
			    sym_aug_insert(aug, T_ZONE "/op25b-txt", "op25b-svc", 1) < 0)
				goto out;
		}
		if (set_and_rename(aug, T_ZONE "/op25b-txt", ind, "#text") < 0)
			goto out;
	} else {
		/* No element inside <zone>: maybe <zone/>, or <zone>\n</zone>. */
		const char *v = NULL;
		if (sym_aug_get(aug, T_ZONE, &v) == 1 && streq(v, "#empty") && sym_aug_set(aug, T_ZONE, NULL) < 0)
			goto out;
		const char *last = kid_label(aug, &k, k.n - 1);
		const char *lv = kid_value(aug, &k, k.n - 1);
		if (streq(last, "#text") && lv && *lv && lv[strlen(lv) - 1] == '\n') {
			_cleanup_free_ char *t = strdup_printf("%s  ", lv);
			if (!t) {
				r = -ENOMEM;
				goto out;
			}
			if (sym_aug_set(aug, k.path[k.n - 1], t) < 0)
				goto out;
		} else if (set_and_rename(aug, T_ZONE "/op25b-txt", "\n  ", "#text") < 0)
			goto out;
	}
	if (sym_aug_set(aug, T_ZONE "/op25b-svc", "#empty") < 0 ||
	    sym_aug_set(aug, T_ZONE "/op25b-svc/#attribute/name", name) < 0 ||
	    sym_aug_rename(aug, T_ZONE "/op25b-svc", "service") < 0)
		goto out;
	r = 0;
out:
	kids_free(&k);
	return r;
}

/* Remove every <service name="NAME"/> and the blank text that indented it. */
static int xml_remove_service(augeas *aug, const char *name)
{
	_cleanup_free_ char *q = strdup_printf(T_ZONE "/service[#attribute/name = '%s']", name);
	if (!q)
		return -ENOMEM;
	for (int guard = 0; guard < 1000; guard++) {
		char **m = NULL;
		int n = sym_aug_match(aug, q, &m);
		if (n <= 0) {
			aug_matches_free(m, n);
			return n < 0 ? -EIO : 0;
		}
		_cleanup_free_ char *svc = strdup(m[0]);
		aug_matches_free(m, n);
		if (!svc)
			return -ENOMEM;

		struct kids k = { 0 };
		int r = kids_load(aug, &k);
		if (r < 0)
			return r;
		int at = -1;
		for (int i = 0; i < k.n; i++)
			if (streq(k.path[i], svc))
				at = i;
		/* The text after it (the next line's indentation) goes, or else the one before. */
		if (at >= 0 && kid_is_blank_text(aug, &k, at + 1))
			r = sym_aug_rm(aug, k.path[at + 1]);
		else if (at >= 0 && kid_is_blank_text(aug, &k, at - 1))
			r = sym_aug_rm(aug, k.path[at - 1]);
		kids_free(&k);
		/* Removing a #text node renumbers only #text siblings: svc's path still holds. */
		if (r < 0 || sym_aug_rm(aug, svc) < 0)
			return -EIO;
	}
	return -ELOOP;
}

int fw_zone_xml_edit(const char *xml, size_t len, const char *what, bool add,
		     const char *const *names, size_t n, bool *changed, char **ret, size_t *ret_len)
{
	_cleanup_aug_ augeas *aug = NULL;
	bool any = false;
	int r;

	*ret = NULL;
	*ret_len = 0;
	if (memchr(xml, '\0', len))
		return log_err(-EBADMSG, "%s: contains a NUL byte, not a firewalld zone", what);
	for (size_t i = 0; i < n; i++)
		if (!fw_name_valid(names[i]))
			return log_err(-EINVAL, "invalid firewalld service name '%s'", names[i]);

	_cleanup_free_ char *text = strndup(xml, len);
	if (!text)
		return -ENOMEM;
	if ((r = aug_open(&aug)) < 0 || (r = aug_parse_text(aug, "Xml.lns", text, T_TREE, what)) < 0)
		return r;
	r = sym_aug_match(aug, T_ZONE, NULL);
	if (r != 1)
		return log_err(-EBADMSG, "%s: %s", what,
			       r == 0 ? "no <zone> root element: not a firewalld zone" : "cannot read the XML tree");

	for (size_t i = 0; i < n; i++) {
		int c = service_count(aug, names[i]);
		if (c < 0)
			return log_err(c, "%s: cannot search the XML tree", what);
		changed[i] = add ? c == 0 : c > 0;
		if (!changed[i])
			continue;
		r = add ? xml_add_service(aug, names[i]) : xml_remove_service(aug, names[i]);
		if (r < 0)
			return log_err(r, "%s: cannot %s service %s in the XML tree", what,
				       add ? "add" : "remove", names[i]);
		any = true;
	}
	if (!any)
		return 0;

	if ((r = aug_render_text(aug, "Xml.lns", text, T_TREE, what, ret)) < 0)
		return r;
	*ret_len = strlen(*ret);
	return 0;
}

/* DefaultZone= of ROOT/etc/firewalld/firewalld.conf (Simplevars lens), "public" when unset. */
static int offline_default_zone(const char *root, char **ret)
{
	static const char file[] = "/etc/firewalld/firewalld.conf";
	_cleanup_free_ char *conf = path_under_root(root, file);
	_cleanup_free_ char *data = NULL;
	_cleanup_aug_ augeas *aug = NULL;
	const char *v = NULL;
	size_t len;
	int r;

	if (!conf)
		return -ENOMEM;
	r = root_read_file(root, file, false, &data, &len, NULL);
	if (r == -ENOENT) {
		*ret = strdup("public");
		return *ret ? 0 : -ENOMEM;
	}
	if (r < 0)
		return log_err(r, "%s: %s", conf, file_strerror(r));
	if (memchr(data, '\0', len))
		return log_err(-EBADMSG, "%s: contains a NUL byte", conf);
	if ((r = aug_open(&aug)) < 0)
		return r;
	if ((r = aug_parse_text(aug, "Simplevars.lns", data, T_TREE, conf)) < 0)
		return log_err(r, "%s: give the zone with --zone", conf);
	if (sym_aug_get(aug, T_TREE "/DefaultZone[last()]", &v) != 1 || strempty(v))
		v = "public";
	*ret = strdup(v);
	return *ret ? 0 : -ENOMEM;
}

/* ---------------------------------------------------------------- offline */

static int offline_edit(const struct fw_ctx *c, const char *zone_arg, bool add,
			const char *const *names, const unsigned *masks, size_t n, struct fw_result *res)
{
	_cleanup_free_ char *zone = NULL, *stock = NULL, *zdir = NULL;
	_cleanup_free_ bool *changed = NULL;
	const char *src;
	int r;

	if (zone_arg)
		zone = strdup(zone_arg);
	else {
		r = offline_default_zone(c->root, &zone);
		if (r < 0)
			return r;
	}
	if (!zone)
		return log_err(-ENOMEM, "out of memory");
	if (!fw_name_valid(zone))
		return log_err(-EINVAL, "invalid firewalld zone name '%s'", zone);

	zdir = path_under_root(c->root, "/etc/firewalld/zones");
	res->path = strdup_printf("%s/%s.xml", zdir ? zdir : "", zone);
	res->file = strdup_printf("/etc/firewalld/zones/%s.xml", zone);
	res->root = c->root;
	_cleanup_free_ char *stock_rel = strdup_printf("/usr/lib/firewalld/zones/%s.xml", zone);
	stock = stock_rel ? path_under_root(c->root, stock_rel) : NULL;
	changed = calloc(n ? n : 1, sizeof(bool));
	if (!zdir || !res->path || !res->file || !stock || !changed)
		return log_err(-ENOMEM, "out of memory");
	res->dir_missing = !is_dir_under(c->root, "/etc/firewalld/zones");

	/* The zone's override, or the stock file it is copied from (as firewalld does on write). */
	_cleanup_free_ char *base = NULL;
	size_t base_len = 0;
	r = root_read_file(c->root, res->file, true, &res->old_data, &res->old_len, NULL);
	if (r == 0) {
		res->old_exists = true;
		src = res->path;
		base = malloc(res->old_len + 1);
		if (!base)
			return log_err(-ENOMEM, "out of memory");
		memcpy(base, res->old_data, res->old_len + 1);
		base_len = res->old_len;
	} else if (r == -ENOENT) {
		src = stock;
		r = root_read_file(c->root, stock_rel, true, &base, &base_len, NULL);
		if (r == -ENOENT)
			return log_err(-ENOENT, "firewalld zone '%s' not found: neither %s nor %s exists",
				       zone, res->path, stock);
		if (r < 0)
			return log_err(r, "%s: %s", stock, file_strerror(r));
	} else
		return log_err(r, "%s: %s", res->path, file_strerror(r));
	res->source = strdup(src);
	if (!res->source)
		return log_err(-ENOMEM, "out of memory");

	/* Removing: only what op25b added to the permanent layer (the only layer without a daemon). */
	const char *edit[FW_MAX_SERVICES] = { 0 };
	size_t k = 0;
	for (size_t i = 0; i < n && k < FW_MAX_SERVICES; i++)
		if (add || (masks[i] & FW_PERMANENT))
			edit[k++] = names[i];
	r = fw_zone_xml_edit(base, base_len, src, add, edit, k, changed, &res->new_data, &res->new_len);
	if (r < 0)
		return r;
	for (size_t i = 0, j = 0; i < n; i++) {
		/* Adding: firewalld loads the service into its runtime at its next start, so op25b
		 * owns both layers. */
		bool edited = j < k && edit[j] == names[i];
		unsigned l = edited && changed[j] ? (add ? FW_BOTH : FW_PERMANENT) : 0;
		if (edited)
			j++;
		r = result_add_service(res, names[i], l);
		if (r < 0)
			return log_err(r, "out of memory");
	}
	res->zone = TAKE_PTR(zone);
	res->where = FW_OFFLINE;
	return 0;
}

int fw_offline_write(const struct fw_result *res)
{
	struct stat st;
	if (res->where != FW_OFFLINE || !res->new_data)
		return 0;
	int r = root_stat(res->root, res->file, true, &st);
	if (r < 0 && r != -ENOENT)
		return log_err(r, "%s: %s", res->path, strerror(-r));
	if (r == 0 && !S_ISREG(st.st_mode))
		return log_err(-EEXIST, "%s: not a regular file", res->path);
	/* Beneath the root, and only over the bytes it was computed from. */
	return atomic_replace(res->root, res->file, res->new_data, res->new_len, r == 0 ? &st : NULL, 0644,
			      r == 0 ? res->old_data : NULL, res->old_len, -1);
}

/* ---------------------------------------------------------------- online (D-Bus) */

struct fw_bus {
	sd_bus *bus;
	uint64_t timeout_usec;
};

/* Call a method on firewalld without ever starting it by bus activation. */
static int fw_callv(struct fw_bus *b, const char *dest, const char *path, const char *iface,
		    const char *member, sd_bus_error *e, sd_bus_message **reply, const char *types, ...)
{
	_cleanup_(sym_sd_bus_message_unrefp) sd_bus_message *m = NULL;
	int r = sym_sd_bus_message_new_method_call(b->bus, &m, dest, path, iface, member);
	if (r < 0)
		return r;
	r = sym_sd_bus_message_set_auto_start(m, 0);
	if (r < 0)
		return r;
	if (types) {
		va_list ap;
		va_start(ap, types);
		r = sym_sd_bus_message_appendv(m, types, ap);
		va_end(ap);
		if (r < 0)
			return r;
	}
	return sym_sd_bus_call(b->bus, m, b->timeout_usec, e, reply);
}

/* firewalld reports errors as org.fedoraproject.FirewallD1.Exception "CODE: detail". */
static bool fw_error_is(const sd_bus_error *e, const char *code)
{
	size_t l = strlen(code);
	return sym_sd_bus_error_has_name(e, FW_EXCEPTION) && e->message &&
	       strncmp(e->message, code, l) == 0 && (e->message[l] == '\0' || e->message[l] == ':');
}

static int fw_error(int r, const sd_bus_error *e, const char *what)
{
	static const struct { const char *code; int err; } map[] = {
		{ "INVALID_ZONE", -ENOENT }, { "INVALID_SERVICE", -ENOENT },
		{ "NOT_AUTHORIZED", -EACCES }, { "ACCESS_DENIED", -EACCES },
	};
	if (sym_sd_bus_error_has_name(e, FW_EXCEPTION)) {
		r = -EIO;
		for (size_t i = 0; i < ELEMENTSOF(map); i++)
			if (fw_error_is(e, map[i].code))
				r = map[i].err;
	}
	return log_err(r, "firewalld: %s: %s", what, e && e->message ? e->message : strerror(-r));
}

/* 1 and *ret when firewalld owns its name on the system bus; 0 when it does not or the bus is
 * unreachable (offline). */
static int fw_bus_connect(const struct fw_ctx *c, struct fw_bus *ret)
{
	_cleanup_(sym_sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	_cleanup_(sym_sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	_cleanup_(sym_sd_bus_error_freep) sd_bus_error e = SD_BUS_ERROR_NULL;
	int has = 0, r;

	if (dlopen_systemd() < 0)
		return 0;
	r = sym_sd_bus_open_system(&bus);
	if (r < 0) {
		log_debug("system bus not reachable: %s", strerror(-r));
		return 0;
	}
	struct fw_bus b = {
		.bus = bus,
		.timeout_usec = (uint64_t)(c->timeout_sec ? c->timeout_sec : FW_DEFAULT_TIMEOUT_SEC) * 1000000u,
	};
	r = fw_callv(&b, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
		     "NameHasOwner", &e, &reply, "s", FW_NAME);
	if (r >= 0)
		r = sym_sd_bus_message_read(reply, "b", &has);
	if (r < 0) {
		log_debug("system bus: NameHasOwner(%s): %s", FW_NAME, e.message ? e.message : strerror(-r));
		return 0;
	}
	if (!has)
		return 0;
	ret->bus = TAKE_PTR(bus);
	ret->timeout_usec = b.timeout_usec;
	return 1;
}

static void fw_bus_done(struct fw_bus *b)
{
	/* NULL when offline, where libsystemd may never have been loaded. */
	if (b->bus)
		b->bus = sym_sd_bus_flush_close_unref(b->bus);
}

static int detect(const struct fw_ctx *c, enum fw_where *ret, const char **why, struct fw_bus *bus)
{
	struct offline off;
	const char *reason;
	int r;

	offline_detect(c->root, c->offline, &off);
	if (off.offline)
		reason = off.why;
	else {
		struct fw_bus b = { 0 };
		r = fw_bus_connect(c, &b);
		if (r > 0) {
			if (bus)
				*bus = b;
			else
				fw_bus_done(&b);
			*ret = FW_ONLINE;
			*why = "firewalld is running";
			return 0;
		}
		reason = "firewalld is not running";
	}
	/* Installed: the package's stock zones are there (a removed package may leave /etc behind). */
	if (exists_under(c->root, "/usr/lib/firewalld/zones")) {
		*ret = FW_OFFLINE;
		*why = reason;
	} else {
		*ret = FW_ABSENT;
		*why = "firewalld is not installed";
	}
	return 0;
}

int fw_detect(const struct fw_ctx *c, enum fw_where *ret, const char **why)
{
	return detect(c, ret, why, NULL);
}

static int get_string(struct fw_bus *b, const char *path, const char *iface, const char *member,
		      const char *sig, const char *arg, char **ret)
{
	_cleanup_(sym_sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	_cleanup_(sym_sd_bus_error_freep) sd_bus_error e = SD_BUS_ERROR_NULL;
	const char *s;
	int r = arg ? fw_callv(b, FW_NAME, path, iface, member, &e, &reply, "s", arg)
		    : fw_callv(b, FW_NAME, path, iface, member, &e, &reply, NULL);
	if (r < 0) {
		_cleanup_free_ char *what = strdup_printf("%s(%s)", member, arg ? arg : "");
		return fw_error(r, &e, what ? what : member);
	}
	r = sym_sd_bus_message_read(reply, sig, &s);
	if (r < 0)
		return log_err(r, "firewalld: %s: unexpected reply: %s", member, strerror(-r));
	*ret = strdup(s);
	return *ret ? 0 : log_err(-ENOMEM, "out of memory");
}

static int online_zone(struct fw_bus *b, const char *zone_arg, char **zone, char **zpath)
{
	int r;
	if (zone_arg) {
		if (!fw_name_valid(zone_arg))
			return log_err(-EINVAL, "invalid firewalld zone name '%s'", zone_arg);
		*zone = strdup(zone_arg);
		if (!*zone)
			return log_err(-ENOMEM, "out of memory");
	} else {
		r = get_string(b, FW_PATH, FW_NAME, "getDefaultZone", "s", NULL, zone);
		if (r < 0)
			return r;
	}
	return get_string(b, FW_CONFIG_PATH, FW_NAME ".config", "getZoneByName", "o", *zone, zpath);
}

static int online_has_service(struct fw_bus *b, const char *name, bool *ret)
{
	_cleanup_(sym_sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	_cleanup_(sym_sd_bus_error_freep) sd_bus_error e = SD_BUS_ERROR_NULL;
	const char *s;
	int r = fw_callv(b, FW_NAME, FW_CONFIG_PATH, FW_NAME ".config", "getServiceNames", &e, &reply, NULL);
	if (r < 0)
		return fw_error(r, &e, "getServiceNames()");
	*ret = false;
	r = sym_sd_bus_message_enter_container(reply, 'a', "s");
	while (r >= 0 && (r = sym_sd_bus_message_read(reply, "s", &s)) > 0)
		if (streq(s, name))
			*ret = true;
	if (r < 0)
		return log_err(r, "firewalld: getServiceNames: unexpected reply: %s", strerror(-r));
	return 0;
}

static int online_query(struct fw_bus *b, const char *zone, const char *zpath, const char *svc,
			unsigned layer, bool *ret)
{
	_cleanup_(sym_sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	_cleanup_(sym_sd_bus_error_freep) sd_bus_error e = SD_BUS_ERROR_NULL;
	int v = 0, r;
	if (layer == FW_PERMANENT)
		r = fw_callv(b, FW_NAME, zpath, FW_NAME ".config.zone", "queryService", &e, &reply, "s", svc);
	else
		r = fw_callv(b, FW_NAME, FW_PATH, FW_NAME ".zone", "queryService", &e, &reply, "ss", zone, svc);
	if (r >= 0)
		r = sym_sd_bus_message_read(reply, "b", &v);
	if (r < 0) {
		_cleanup_free_ char *what = strdup_printf("%s queryService(%s) in zone %s",
							  layer == FW_PERMANENT ? "permanent" : "runtime", svc, zone);
		return fw_error(r, &e, what ? what : "queryService");
	}
	*ret = v;
	return 0;
}

/* Add (or remove) SVC in one layer. 1: changed, 0: already so (ALREADY_ENABLED / NOT_ENABLED). */
static int online_change(struct fw_bus *b, const char *zone, const char *zpath, const char *svc,
			 unsigned layer, bool add)
{
	_cleanup_(sym_sd_bus_error_freep) sd_bus_error e = SD_BUS_ERROR_NULL;
	const char *member = add ? "addService" : "removeService";
	int r;
	if (layer == FW_PERMANENT)
		r = fw_callv(b, FW_NAME, zpath, FW_NAME ".config.zone", member, &e, NULL, "s", svc);
	else if (add)
		r = fw_callv(b, FW_NAME, FW_PATH, FW_NAME ".zone", member, &e, NULL, "ssi", zone, svc, 0);
	else
		r = fw_callv(b, FW_NAME, FW_PATH, FW_NAME ".zone", member, &e, NULL, "ss", zone, svc);
	if (r >= 0)
		return 1;
	if (fw_error_is(&e, add ? "ALREADY_ENABLED" : "NOT_ENABLED"))
		return 0;
	_cleanup_free_ char *what = strdup_printf("%s %s(%s) in zone %s",
						  layer == FW_PERMANENT ? "permanent" : "runtime", member, svc, zone);
	return fw_error(r, &e, what ? what : member);
}

/* Apply (add) or undo (remove) SVCS in the layers of MASKS; on add failure, undo this call's adds. */
static int online_edit(const struct fw_ctx *c, struct fw_bus *b, const char *zone_arg, bool add,
		       const char *const *names, const unsigned *masks, size_t n, struct fw_result *res)
{
	_cleanup_free_ char *zone = NULL, *zpath = NULL;
	unsigned done[FW_MAX_SERVICES] = { 0 };
	int r, first_err = 0;

	if (n > FW_MAX_SERVICES)
		return log_err(-E2BIG, "too many firewall services (%zu)", n);
	r = online_zone(b, zone_arg, &zone, &zpath);
	if (r < 0)
		return r;

	for (size_t i = 0; i < n; i++) {
		static const unsigned layers[] = { FW_PERMANENT, FW_RUNTIME };
		for (size_t j = 0; j < ELEMENTSOF(layers); j++) {
			unsigned l = layers[j];
			if (!(masks[i] & l))
				continue;
			if (c->dry_run) {
				bool on = false;
				r = online_query(b, zone, zpath, names[i], l, &on);
				if (r >= 0 && on != add)
					done[i] |= l;
			} else {
				r = online_change(b, zone, zpath, names[i], l, add);
				if (r > 0)
					done[i] |= l;
			}
			if (r < 0 && add)
				goto undo;
			if (r < 0 && !first_err)
				first_err = r; /* revert: go on with the rest, report the first error */
		}
	}
	for (size_t i = 0; i < n; i++) {
		r = result_add_service(res, names[i], done[i]);
		if (r < 0)
			return log_err(r, "out of memory");
	}
	res->zone = TAKE_PTR(zone);
	res->where = FW_ONLINE;
	return first_err;

undo:
	for (size_t i = 0; i < n; i++)
		for (unsigned l = FW_PERMANENT; l <= FW_RUNTIME; l <<= 1)
			if (!c->dry_run && (done[i] & l) && online_change(b, zone, zpath, names[i], l, false) < 0)
				log_warn("firewalld: could not take back %s %s in zone %s", layers_str(l), names[i], zone);
	return r;
}

/* ---------------------------------------------------------------- the step */

static void report(const struct fw_ctx *c, const struct fw_result *res, bool add)
{
	char done[256] = "", kept[256] = "";
	size_t dl = 0, kl = 0;
	for (size_t i = 0; i < res->n_services; i++) {
		const struct fw_service *s = &res->services[i];
		if (s->layers && dl < sizeof(done))
			dl += (size_t)snprintf(done + dl, sizeof(done) - dl, "%s%s", dl ? ", " : "", s->name);
		else if (!s->layers && kl < sizeof(kept))
			kl += (size_t)snprintf(kept + kl, sizeof(kept) - kl, "%s%s", kl ? ", " : "", s->name);
	}
	const char *verb = add ? (c->dry_run ? "would open" : "opened") : (c->dry_run ? "would close" : "closed");
	if (dl && res->where == FW_ONLINE)
		log_info("firewall: zone %s: %s %s (permanent and runtime)", res->zone, verb, done);
	else if (dl)
		log_info("firewall: zone %s: %s %s in %s", res->zone, verb, done, res->path);
	if (kl)
		log_info("firewall: zone %s: %s %s", res->zone,
			 add ? "already open:" : "left as it is:", kept);
	if (!dl && !kl)
		log_info("firewall: zone %s: nothing to do", res->zone);
}

static int fw_step(const struct fw_ctx *c, const char *zone, bool add, unsigned modes,
		   const struct fw_service *svcs, size_t n, struct fw_result *res)
{
	const char *names[FW_MAX_SERVICES];
	unsigned masks[FW_MAX_SERVICES];
	struct fw_bus bus = { 0 };
	enum fw_where where;
	const char *why;
	bool have_submission = false;
	int r;

	*res = (struct fw_result){ 0 };
	if (n > FW_MAX_SERVICES)
		return log_err(-E2BIG, "too many firewall services (%zu)", n);
	for (size_t i = 0; i < n; i++) {
		if (!fw_name_valid(svcs[i].name))
			return log_err(-EINVAL, "invalid firewalld service name '%s'",
				       strempty(svcs[i].name) ? "" : svcs[i].name);
		names[i] = svcs[i].name;
		masks[i] = svcs[i].layers & FW_BOTH;
	}

	r = detect(c, &where, &why, &bus);
	if (r < 0)
		return r;
	log_debug("firewall: %s", why);

	if (where == FW_ABSENT) {
		if (add) {
			n = fw_services_for_modes(modes, false, names);
			_cleanup_free_ char *ports = fw_router_hint(modes);
			log_info("firewall: firewalld is not installed, no service to open "
				 "(if another firewall filters this host, allow TCP %s)", ports ? ports : "");
		} else
			log_info("firewall: firewalld is not installed, no service to close");
		for (size_t i = 0; i < n; i++) {
			r = result_add_service(res, names[i], 0);
			if (r < 0) {
				fw_result_done(res);
				return log_err(r, "out of memory");
			}
		}
		return 0;
	}

	if (add) {
		/* "submission" is a firewalld service from 2.1 on; older ones call 587 smtp-submission. */
		if (modes & MODE_SUBMISSION) {
			if (where == FW_ONLINE)
				r = online_has_service(&bus, "submission", &have_submission);
			else
				have_submission = exists_under(c->root, "/etc/firewalld/services/submission.xml") ||
						  exists_under(c->root, "/usr/lib/firewalld/services/submission.xml");
			if (r < 0)
				goto out;
		}
		n = fw_services_for_modes(modes, have_submission, names);
		for (size_t i = 0; i < n; i++)
			masks[i] = FW_BOTH;
	}

	if (where == FW_ONLINE)
		r = online_edit(c, &bus, zone ? zone : c->zone, add, names, masks, n, res);
	else {
		log_info("firewall: %s: editing the permanent configuration under %s", why,
			 strempty(c->root) ? "/" : c->root);
		r = offline_edit(c, zone ? zone : c->zone, add, names, masks, n, res);
	}
	if (r >= 0 || (!add && res->where != FW_ABSENT))
		report(c, res, add);
out:
	fw_bus_done(&bus);
	if (r < 0 && add)
		fw_result_done(res);
	return r;
}

int fw_open(const struct fw_ctx *c, unsigned modes, struct fw_result *res)
{
	if (!(modes & MODE_ALL) || (modes & ~(unsigned)MODE_ALL))
		return log_err(-EINVAL, "firewall: no valid mode given");
	return fw_step(c, NULL, true, modes, NULL, 0, res);
}

int fw_close(const struct fw_ctx *c, const char *zone, const struct fw_service *svcs, size_t n,
	     struct fw_result *res)
{
	return fw_step(c, zone, false, 0, svcs, n, res);
}
