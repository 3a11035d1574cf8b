/* The firewall step: firewalld services over D-Bus (online, firewall-bus.c) or in the zone XML
 * (offline, firewall-zone.c); which services and ports a mode needs. */
#include "firewall.h"

#include "firewall-internal.h"
#include "rootfs.h"
#include "util.h"

/* ---------------------------------------------------------------- small helpers */

void fw_aug_matches_free(char **v, int n)
{
	for (int i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Zone and service names end up in paths and Augeas path expressions: firewalld's own charset. */
bool fw_name_valid(const char *s)
{
	if (strempty(s) || s[0] == '.' || s[0] == '-' || strlen(s) > 128)
		return false;
	for (const char *c = s; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
		      *c == '-' || *c == '_' || *c == '.' || *c == '+'))
			return false;
	return true;
}

bool fw_is_blank(const char *s)
{
	return s && s[strspn(s, " \t\r\n")] == '\0';
}

bool fw_is_dir_under(const char *root, const char *path)
{
	struct stat st;
	return root_stat(root, path, false, &st) == 0 && S_ISDIR(st.st_mode);
}

bool fw_exists_under(const char *root, const char *path)
{
	struct stat st;
	return root_stat(root, path, false, &st) == 0;
}

const char *fw_layers_str(unsigned l)
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

int fw_result_add_service(struct fw_result *r, const char *name, unsigned layers)
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

	r = fw_detect_bus(c, &where, &why, &bus);
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
			r = fw_result_add_service(res, names[i], 0);
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
				r = fw_online_has_service(&bus, "submission", &have_submission);
			else
				have_submission = fw_exists_under(c->root, "/etc/firewalld/services/submission.xml") ||
						  fw_exists_under(c->root, "/usr/lib/firewalld/services/submission.xml");
			if (r < 0)
				goto out;
		}
		n = fw_services_for_modes(modes, have_submission, names);
		for (size_t i = 0; i < n; i++)
			masks[i] = FW_BOTH;
	}

	if (where == FW_ONLINE)
		r = fw_online_edit(c, &bus, zone ? zone : c->zone, add, names, masks, n, res);
	else {
		log_info("firewall: %s: editing the permanent configuration under %s", why,
			 strempty(c->root) ? "/" : c->root);
		r = fw_offline_edit(c, zone ? zone : c->zone, add, names, masks, n, res);
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
