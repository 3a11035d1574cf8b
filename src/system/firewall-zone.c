/* The permanent configuration offline: the zone XML under the root edited with Augeas (Xml lens)
 * as firewall-offline-cmd would (firewall.h). */
#include "firewall.h"

#include "aug.h"
#include "atomic.h"
#include "firewall-internal.h"
#include "rootfs.h"
#include "strv.h"
#include "util.h"

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
	fw_aug_matches_free(k->path, k->n);
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
	return streq(kid_label(aug, k, i), "#text") && fw_is_blank(kid_value(aug, k, i));
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
			fw_aug_matches_free(m, n);
			return n < 0 ? -EIO : 0;
		}
		_cleanup_free_ char *svc = strdup(m[0]);
		fw_aug_matches_free(m, n);
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

int fw_zone_xml_services(const char *xml, size_t len, const char *what, char ***ret)
{
	_cleanup_aug_ augeas *aug = NULL;
	_cleanup_strv_free_ char **v = NULL;
	char **m = NULL;
	size_t k = 0;
	int r;

	*ret = NULL;
	if (memchr(xml, '\0', len))
		return log_err(-EBADMSG, "%s: contains a NUL byte, not a firewalld zone", what);
	_cleanup_free_ char *text = strndup(xml, len);
	if (!text)
		return -ENOMEM;
	if ((r = aug_open(&aug)) < 0 || (r = aug_parse_text(aug, "Xml.lns", text, T_TREE, what)) < 0)
		return r;
	if (sym_aug_match(aug, T_ZONE, NULL) != 1)
		return log_err(-EBADMSG, "%s: no <zone> root element: not a firewalld zone", what);
	int n = sym_aug_match(aug, T_ZONE "/service/#attribute/name", &m);
	if (n < 0)
		return log_err(-EIO, "%s: cannot search the XML tree", what);
	for (int i = 0; i < n; i++) {
		const char *name = NULL;
		if (sym_aug_get(aug, m[i], &name) == 1 && name && (r = strv_push_n(&v, &k, name, strlen(name))) < 0) {
			fw_aug_matches_free(m, n);
			return r;
		}
	}
	fw_aug_matches_free(m, n);
	if (!v && !(v = calloc(1, sizeof(*v))))
		return -ENOMEM;
	*ret = TAKE_PTR(v);
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

int fw_offline_edit(const struct fw_ctx *c, const char *zone_arg, bool add,
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
	res->dir_missing = !fw_is_dir_under(c->root, "/etc/firewalld/zones");

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
		r = fw_result_add_service(res, names[i], l);
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
