/*
 * mailscope zones: DNSSEC (RFC 4033-4035) with ldns.  Each signed zone's
 * KSK and ZSK, ECDSA P-256 (RFC 6605), read from or generated into the
 * keys directory; its DS (inverted for a bogus child); signing with NSEC;
 * the base zone's trust anchor.  Command-line tool: keygen blocks.
 */
#include "build.h"

#include <sys/types.h>

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ldns/ldns.h>

#include "zones_int.h"

#define KEY_ALGORITHM	LDNS_SIGN_ECDSAP256SHA256
#define KEY_BITS	256
#define KEY_FLAGS_KSK	257	/* RFC 4034 2.1.1: zone key, SEP */
#define KEY_FLAGS_ZSK	256	/* zone key */

/*
 * The key ROLE ("ksk" or "zsk") of zone Z: KEYS/<zone>.<role>.private,
 * read if it is there, else generated and written (0600), so that DS and
 * DNSKEY stay the same from run to run.  The DNSKEY goes to <role>.key.
 */
static int
zone_key(struct zrun *r, struct zone *z, const char *role, uint16_t flags,
    ldns_key **kp, ldns_rr **rrp)
{
	char priv[PATH_MAX], pub[PATH_MAX], *text;
	ldns_key *k = NULL;
	ldns_rdf *owner;
	ldns_status st;
	ldns_rr *key_rr;
	FILE *fp;
	int line = 0, rc;

	if (zones_path(r, priv, "%s/%s.%s.private", r->keys, z->name,
	    role) == -1 ||
	    zones_path(r, pub, "%s/%s.%s.key", r->keys, z->name, role) == -1)
		return -1;
	if ((fp = fopen(priv, "r")) != NULL) {
		st = ldns_key_new_frm_fp_l(&k, fp, &line);
		fclose(fp);
		if (st != LDNS_STATUS_OK) {
			zones_error(r, "%s:%d: cannot read the key: %s", priv,
			    line, ldns_get_errorstr_by_id(st));
			return -1;
		}
	} else if (errno != ENOENT) {
		zones_error(r, "%s: cannot read: %s", priv, strerror(errno));
		return -1;
	} else {
		if ((k = ldns_key_new_frm_algorithm(KEY_ALGORITHM, KEY_BITS))
		    == NULL) {
			zones_error(r, "%s: cannot generate an ECDSA P-256 key",
			    z->name);
			return -1;
		}
		if ((text = ldns_key2str(k)) == NULL) {
			zones_error(r, "%s: cannot convert the new key",
			    z->name);
			ldns_key_deep_free(k);
			return -1;
		}
		rc = zones_file(r, priv, 0600, text, strlen(text));
		free(text);
		if (rc == -1) {
			ldns_key_deep_free(k);
			return -1;
		}
	}
	ldns_key_set_flags(k, flags);
	if ((owner = ldns_dname_new_frm_str(z->name)) == NULL) {
		ldns_key_deep_free(k);
		zones_error(r, "out of memory");
		return -1;
	}
	if (ldns_key_pubkey_owner(k) != NULL)
		ldns_rdf_deep_free(ldns_key_pubkey_owner(k));
	ldns_key_set_pubkey_owner(k, owner);
	if ((key_rr = ldns_key2rr(k)) == NULL) {
		ldns_key_deep_free(k);
		zones_error(r, "%s: cannot make the DNSKEY record", priv);
		return -1;
	}
	ldns_rr_set_ttl(key_rr, r->ttl);
	/* the key tag of the RRSIGs it makes (RFC 4034 appendix B) */
	ldns_key_set_keytag(k, ldns_calc_keytag(key_rr));
	ldns_key_set_inception(k, (uint32_t)(r->now - ZONES_SIG_BACKDATE));
	ldns_key_set_expiration(k, (uint32_t)r->now + r->validity);
	*kp = k;
	*rrp = key_rr;
	if ((text = ldns_rr2str(key_rr)) == NULL) {
		zones_error(r, "out of memory");
		return -1;
	}
	rc = zones_file(r, pub, 0644, text, strlen(text));
	free(text);
	return rc;
}

/*
 * Keys and DS of a signed zone.  The DS of a bogus child has every bit of
 * its digest flipped: the key tag and algorithm still point at its KSK,
 * the digest matches nothing, so a validator finds no DNSKEY that the DS
 * authenticates and the whole child is bogus (RFC 4035 5.2).
 */
int
zones_sign_keys(struct zrun *r, struct zone *z)
{
	ldns_rdf *digest;
	uint8_t *d;
	size_t i;

	if (z->kind == ZONE_UNSIGNED)
		return 0;
	if (zone_key(r, z, "ksk", KEY_FLAGS_KSK, &z->ksk, &z->ksk_rr) == -1 ||
	    zone_key(r, z, "zsk", KEY_FLAGS_ZSK, &z->zsk, &z->zsk_rr) == -1)
		return -1;
	if ((z->ds = ldns_key_rr2ds(z->ksk_rr, LDNS_SHA256)) == NULL) {
		zones_error(r, "%s: cannot compute the DS", z->name);
		return -1;
	}
	ldns_rr_set_ttl(z->ds, r->ttl);
	if (z->kind == ZONE_BOGUS) {
		digest = ldns_rr_rdf(z->ds, 3);
		d = ldns_rdf_data(digest);
		for (i = 0; i < ldns_rdf_size(digest); i++)
			d[i] = (uint8_t)~d[i];
	}
	return 0;
}

/* Frees the keys and records of Z that zones_sign_keys() made. */
void
zones_sign_free(struct zone *z)
{
	if (z->ksk != NULL)
		ldns_key_deep_free(z->ksk);
	if (z->zsk != NULL)
		ldns_key_deep_free(z->zsk);
	ldns_rr_free(z->ksk_rr);
	ldns_rr_free(z->zsk_rr);
	ldns_rr_free(z->ds);
}

/*
 * Zone Z signed: TEXT read back by ldns as a name server would read it,
 * the DNSKEYs added, NSEC and RRSIGs made (the KSK signs the DNSKEY set,
 * the ZSK the rest; glue below the delegations stays unsigned).  The
 * result into *OUT (malloc'd).
 */
int
zones_sign_zone(struct zrun *r, const struct zone *z, const char *text,
    size_t len, char **out, size_t *outlen)
{
	ldns_dnssec_zone *dz = NULL;
	ldns_rr_list *added = NULL;
	ldns_key_list *keys = NULL;
	ldns_zone *orig = NULL;
	ldns_rdf *origin = NULL;
	ldns_rr *k1 = NULL, *k2 = NULL;
	ldns_status st;
	struct tm tm;
	time_t until;
	FILE *in, *fp;
	size_t i;
	int line = 0, rc = -1;
	char when[32];

	*out = NULL;
	if ((in = fmemopen((void *)(uintptr_t)text, len, "r")) == NULL) {
		zones_error(r, "out of memory");
		return -1;
	}
	if ((origin = ldns_dname_new_frm_str(z->name)) == NULL)
		goto nomem;
	st = ldns_zone_new_frm_fp_l(&orig, in, origin, r->ttl,
	    LDNS_RR_CLASS_IN, &line);
	if (st != LDNS_STATUS_OK) {
		zones_error(r, "%s: line %d of the generated zone: %s", z->name,
		    line, ldns_get_errorstr_by_id(st));
		goto out;
	}
	if ((dz = ldns_dnssec_zone_new()) == NULL ||
	    (k1 = ldns_rr_clone(z->ksk_rr)) == NULL ||
	    (k2 = ldns_rr_clone(z->zsk_rr)) == NULL ||
	    (added = ldns_rr_list_new()) == NULL ||
	    (keys = ldns_key_list_new()) == NULL)
		goto nomem;
	/* dz borrows every record: orig, k1, k2 and added own them */
	st = ldns_dnssec_zone_add_rr(dz, ldns_zone_soa(orig));
	for (i = 0; st == LDNS_STATUS_OK &&
	    i < ldns_rr_list_rr_count(ldns_zone_rrs(orig)); i++)
		st = ldns_dnssec_zone_add_rr(dz,
		    ldns_rr_list_rr(ldns_zone_rrs(orig), i));
	if (st == LDNS_STATUS_OK)
		st = ldns_dnssec_zone_add_rr(dz, k1);
	if (st == LDNS_STATUS_OK)
		st = ldns_dnssec_zone_add_rr(dz, k2);
	if (st == LDNS_STATUS_OK &&
	    (!ldns_key_list_push_key(keys, z->ksk) ||
	    !ldns_key_list_push_key(keys, z->zsk)))
		st = LDNS_STATUS_MEM_ERR;
	if (st == LDNS_STATUS_OK)
		st = ldns_dnssec_zone_sign_flg(dz, added, keys,
		    ldns_dnssec_default_replace_signatures, NULL, 0);
	if (st != LDNS_STATUS_OK) {
		zones_error(r, "%s: cannot sign: %s", z->name,
		    ldns_get_errorstr_by_id(st));
		goto out;
	}
	if ((fp = open_memstream(out, outlen)) == NULL)
		goto nomem;
	until = r->now + (time_t)r->validity;
	gmtime_r(&until, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", &tm);
	fprintf(fp, "; %s, signed by mailscope zones: NSEC, KSK %u, ZSK %u, "
	    "signatures valid until %s.\n; Sign again before then "
	    "(mailscope zones).\n", z->name, ldns_key_keytag(z->ksk),
	    ldns_key_keytag(z->zsk), when);
	ldns_dnssec_zone_print(fp, dz);
	if (fclose(fp) == EOF) {
		free(*out);
		*out = NULL;
		goto nomem;
	}
	rc = 0;
	goto out;
 nomem:
	zones_error(r, "out of memory");
 out:
	fclose(in);
	if (keys != NULL) {
		ldns_key_list_set_key_count(keys, 0);	/* z owns them */
		ldns_key_list_free(keys);
	}
	ldns_dnssec_zone_free(dz);
	if (orig != NULL)
		ldns_zone_deep_free(orig);
	ldns_rr_list_deep_free(added);
	ldns_rr_free(k1);
	ldns_rr_free(k2);
	ldns_rdf_deep_free(origin);
	return rc;
}

/*
 * The base zone's trust anchor for validators (Unbound's
 * trust-anchor-file takes either): trust-anchor.ds, also what goes to
 * the parent zone's operator, and trust-anchor.key.
 */
int
zones_sign_anchor(struct zrun *r, const struct zone *z)
{
	static const char *const names[] = { "trust-anchor.ds",
	    "trust-anchor.key" };
	const ldns_rr *rrs[2] = { z->ds, z->ksk_rr };
	char path[PATH_MAX], *text, *body;
	size_t i, len;
	FILE *fp;
	int rc;

	for (i = 0; i < 2; i++) {
		if (zones_path(r, path, "%s/%s", r->dir, names[i]) == -1)
			return -1;
		if ((body = ldns_rr2str(rrs[i])) == NULL ||
		    (fp = open_memstream(&text, &len)) == NULL) {
			free(body);
			zones_error(r, "out of memory");
			return -1;
		}
		fprintf(fp, "; the trust anchor of %s (its KSK, tag %u): %s\n"
		    "%s", z->name, ldns_key_keytag(z->ksk), i == 0 ?
		    "the DS record for the parent zone" : "the DNSKEY", body);
		free(body);
		if (fclose(fp) == EOF) {
			zones_error(r, "out of memory");
			return -1;
		}
		rc = zones_file(r, path, 0644, text, len);
		free(text);
		if (rc == -1)
			return -1;
	}
	return 0;
}
