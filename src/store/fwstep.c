/* Firewall glue. */
#include "fwstep.h"

#include "firewall.h"
#include "util.h"

void fw_report_done(struct fw_report *r)
{
	free(r->zone);
	for (size_t i = 0; i < r->n; i++)
		free(r->services[i]);
	*r = (struct fw_report){ 0 };
}

/* Note the services of RES that op25b changed (layers != 0). */
static int report_services(struct fw_report *rep, const char *where, const struct fw_result *res)
{
	if (!rep)
		return 0;
	rep->where = where;
	if (res->zone && !rep->zone && !(rep->zone = strdup(res->zone)))
		return -ENOMEM;
	for (size_t i = 0; i < res->n_services && rep->n < ELEMENTSOF(rep->services); i++)
		if (res->services[i].layers && !(rep->services[rep->n++] = strdup(res->services[i].name)))
			return -ENOMEM;
	return 0;
}

int fw_step_plan(const struct fw_ctx *c, unsigned modes, struct conf_set *s, bool *online, struct fw_report *rep)
{
	enum fw_where where;
	const char *why = NULL;
	int r;

	*online = false;
	if (c->no_firewall) {
		if (rep)
			rep->where = "skipped";
		return 0;
	}
	if ((r = fw_detect(c, &where, &why)) < 0)
		return r;
	if (where == FW_ABSENT) {
		if (rep)
			rep->where = "absent";
		log_info("firewall: %s; if another firewall filters this host, open the ports yourself",
			 why ? why : "firewalld is not installed");
		return 0;
	}
	if (where == FW_ONLINE) {
		if (rep)
			rep->where = "online";
		*online = true;
		return 0;
	}
	_cleanup_(fw_result_done) struct fw_result res = { 0 };
	if ((r = fw_open(c, modes, &res)) < 0 || (r = report_services(rep, "offline", &res)) < 0)
		return r;
	if (!res.new_data)
		return 0;
	struct conf_file *f;
	if ((r = conf_open_raw(s, res.file, 0644, &f)) < 0)
		return r;
	f->secret = false;
	if (f->existed && f->old_len == res.new_len && memcmp(f->old, res.new_data, res.new_len) == 0)
		return 0;
	f->new = TAKE_PTR(res.new_data);
	f->new_len = res.new_len;
	return 0;
}

int fw_step_open(const struct fw_ctx *c, unsigned modes, struct journal *j, struct tx *t, struct fw_report *rep)
{
	_cleanup_(fw_result_done) struct fw_result res = { 0 };
	int r = fw_open(c, modes, &res);
	if (r < 0 || (r = report_services(rep, "online", &res)) < 0)
		return r;
	_cleanup_free_ struct tx_fw *v = calloc(res.n_services + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < res.n_services; i++) /* fw_open() has said what it opened */
		v[i] = (struct tx_fw){ .name = res.services[i].name, .layers = res.services[i].layers };
	return journal_note_firewall(j, t, res.zone, v, res.n_services);
}

int fw_step_close(const struct fw_ctx *c, const struct tx *t, struct fw_report *rep)
{
	if (!t->n_fw)
		return 0;
	if (c->no_firewall) {
		if (rep)
			rep->where = "skipped";
		/* The journal entry goes away with the revert: say what is left open. */
		for (size_t i = 0; i < t->n_fw; i++)
			log_info("firewall: not closing %s in zone %s (--no-firewall)", t->fw[i].name, t->fw_zone);
		return 0;
	}
	_cleanup_(fw_result_done) struct fw_result res = { 0 };
	_cleanup_free_ struct fw_service *v = calloc(t->n_fw, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < t->n_fw; i++)
		v[i] = (struct fw_service){ .name = t->fw[i].name, .layers = t->fw[i].layers };
	int r = fw_close(c, t->fw_zone, v, t->n_fw, &res);
	if (r < 0 || (r = report_services(rep, res.where == FW_OFFLINE ? "offline" : "online", &res)) < 0)
		return r;
	/* Opened online, but firewalld is not running now: fw_close() only computed the zone XML
	 * without op25b's services; write it, or they come back at firewalld's next start. */
	if (res.where == FW_OFFLINE && (r = fw_offline_write(&res)) < 0)
		return r;
	return 0; /* fw_close() has said what it closed */
}

void fw_step_router_hint(unsigned modes)
{
	_cleanup_free_ char *ports = fw_router_hint(modes);
	if (ports)
		log_info("router: forward TCP %s to this host", ports);
}
