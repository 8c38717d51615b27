/*
 * What a failed step means and what to check, in plain words, for `krbwatch probe`.  The words
 * name the part of the path that broke; the step's own detail (the KDC, the principal, the kvno)
 * is printed beside them.
 */
#include <stddef.h>
#include <string.h>

#include "explain.h"

struct explanation {
	const char *kind;	/* NULL: any step */
	enum kw_reason reason;
	const char *means;
	const char *check;
};

static const struct explanation table[] = {
	{ "dns", KW_R_NXDOMAIN, "the resolver says the name does not exist",
	  "the zone on the Region's resolvers (conditional forwarder to the domain, AD-integrated zone replication)" },
	{ "dns", KW_R_NO_RECORDS, "the name exists but has no record of that type",
	  "the DCs' registrations (netlogon SRV records) and the AD site name in the configuration (site:)" },
	{ "dns", KW_R_SERVFAIL, "the resolver could not get an answer from the domain's servers",
	  "the forwarder from the Region's resolver to the domain's DNS servers, and whether those servers are up" },
	{ "dns", KW_R_DNS_REFUSED, "the resolver refuses to answer us",
	  "the resolver's allow-query / security group for this host" },
	{ "dns", KW_R_REFUSED, "nothing listens on the resolver's port 53",
	  "whether the resolver (the DC's DNS service) is running" },
	{ "dns", KW_R_TIMEOUT, "the resolver did not answer in time: packets are dropped or it is overloaded",
	  "security groups / NACLs / firewalls for UDP and TCP 53 between this host and the resolver" },
	{ "kdc", KW_R_REFUSED, "the host answers but nothing listens on the Kerberos port: the KDC (or kpasswd) service is down",
	  "the KDC service on that DC (on AWS Managed AD: the directory's health in the console)" },
	{ "kdc", KW_R_TIMEOUT, "no answer in time: packets to the KDC are dropped",
	  "security groups / NACLs / firewalls for UDP and TCP 88 and 464 to that DC" },
	{ "kdc", KW_R_UNREACHABLE, "the network has no route to the KDC",
	  "routing, VPN or Transit Gateway attachments between this host and the DC" },
	{ "kdc", KW_R_PROTOCOL, "something answered on the Kerberos port, but not as a KDC",
	  "that the address really is a domain controller" },
	/*
	 * The TGT: the AS exchange of the monitoring principal with the user realm's KDCs.  Each
	 * reason it can end with names that exchange and what to look at for it.
	 */
	{ "tgt", KW_R_REFUSED, "the user realm's KDC refused the connection: nothing listens on its Kerberos port, so no TGT (the KDC service is down on that DC)",
	  "the KDC service on the user realm's DCs named in the detail (port 88, UDP and TCP), and the realm's kdcs: in the configuration" },
	{ "tgt", KW_R_TIMEOUT, "no KDC of the user realm answered the AS request in time: packets to them are dropped or they are overloaded",
	  "security groups / NACLs / firewalls for UDP and TCP 88 from this host to the user realm's DCs, and their load" },
	{ "tgt", KW_R_UNREACHABLE, "the network has no route from this host to the user realm's KDCs",
	  "routing, VPN or Direct Connect / Transit Gateway between this Region and the on-premises DCs" },
	{ "tgt", KW_R_PROTOCOL, "the user realm's KDC answered the AS request with something krbwatch cannot read as Kerberos",
	  "that the addresses in the user realm's kdcs: are its domain controllers (not a proxy or another service)" },
	{ "tgt", KW_R_PRINCIPAL_UNKNOWN, "the user realm's KDC does not know the monitoring principal",
	  "identity.principal against the account in the user realm's directory (its name, its realm, and that it was not deleted)" },
	{ "tgt", KW_R_NO_REFERRAL, "the KDC asked is not the user realm's: it answered that the principal belongs to another realm",
	  "the realm in identity.principal and the user realm's kdcs: in the configuration" },
	{ "tgt", KW_R_ETYPE_NOSUPP, "the user realm's KDC and the keytab share no encryption type for the monitoring principal",
	  "the keytab's enctypes (klist -ke) against the account's (AES on both; re-export the keytab with AES keys)" },
	{ "tgt", KW_R_CLOCK_SKEW, "this host's clock differs from the user realm's KDC by more than Kerberos allows (5 minutes): the pre-authentication is refused",
	  "NTP on this host and on the user realm's DCs (krbwatch_kdc_clock_skew_seconds)" },
	{ "tgt", KW_R_INTERNAL, "krbwatch could not start or finish the AS exchange itself (the keytab could not be used, or the ticket not kept)",
	  "krbwatch's log, and that the keytab is readable by krbwatch" },
	/*
	 * The service ticket: the TGS exchange with the Region's KDCs for the database's SPN,
	 * presenting the referral from the user realm.
	 */
	{ "service_ticket", KW_R_REFUSED, "the Region's KDC refused the connection: nothing listens on its Kerberos port, so no service ticket for the database",
	  "the KDC service on the Region's DCs named in the detail (on AWS Managed AD: the directory's health in the console), and port 88 to them" },
	{ "service_ticket", KW_R_TIMEOUT, "no KDC of the Region answered the service ticket request in time: packets to them are dropped or they are overloaded",
	  "security groups / NACLs for UDP and TCP 88 from this host to the Region's DCs (the directory's security group), and their load" },
	{ "service_ticket", KW_R_UNREACHABLE, "the network has no route from this host to the Region's KDCs",
	  "the VPC's routing to the directory's subnets in that Region" },
	{ "service_ticket", KW_R_PROTOCOL, "the Region's KDC answered the service ticket request with something krbwatch cannot read as Kerberos",
	  "that the Region's kdcs: (or its DNS SRV records) lead to the directory's domain controllers" },
	{ "service_ticket", KW_R_PRINCIPAL_UNKNOWN, "the Region's KDC does not know the database's service principal (SPN): no account in the database realm carries it",
	  "that the SPN in the detail is registered in the database realm (Aurora: Kerberos authentication enabled on the cluster with this directory), else spn: in the configuration" },
	{ "service_ticket", KW_R_CLOCK_SKEW, "a clock differs from the Region's KDC by more than Kerberos allows (5 minutes): the referral is refused",
	  "NTP on the Region's DCs against this host and the user realm's DCs (krbwatch_kdc_clock_skew_seconds)" },
	{ "service_ticket", KW_R_TICKET_NOT_YET_VALID, "the referral from the user realm starts in the future for the Region's KDC: the user realm's clock runs ahead",
	  "NTP on the user realm's (on-premises) DCs: their skew against the Region's DCs" },
	{ "service_ticket", KW_R_ETYPE_NOSUPP, "the Region's KDC and the trust or the database's account share no encryption type",
	  "the enctypes allowed on the trust in the Region's directory and on the database's service account (AES on both sides)" },
	{ "service_ticket", KW_R_CLIENT_REVOKED, "the Region's KDC refuses tickets for the monitoring account: the user realm's directory disabled or locked it since the TGT was issued",
	  "the monitoring account in the user realm's directory (lockout, disabled, logon hours)" },
	{ "service_ticket", KW_R_NO_REFERRAL, "the Region's KDC would not issue the ticket and pointed elsewhere: the database's SPN is not in its realm",
	  "the database realm of the cluster (its directory) and the host name's domain against the realms' domains in the configuration" },
	{ "service_ticket", KW_R_KEY_EXPIRED, "the Region's KDC says an account of the request has expired: the database's service account, or the monitoring account's password",
	  "the database's service account in the database realm's directory (expiry), then the monitoring account's password policy" },
	{ "service_ticket", KW_R_INTERNAL, "krbwatch could not build or send the service ticket request itself",
	  "krbwatch's log, and the cluster's host and SPN in the configuration" },
	{ NULL, KW_R_PREAUTH_FAILED, "the KDC rejected the monitoring principal's key",
	  "the keytab: its key must match the account's current password (re-export it after a password change)" },
	{ NULL, KW_R_CLIENT_REVOKED, "the monitoring account is locked out or disabled; krbwatch holds its AS exchanges back so as not to lock it further",
	  "the account in the user realm's directory (lockout, disabled, logon hours)" },
	{ NULL, KW_R_PRINCIPAL_UNKNOWN, "the KDC does not know a principal of the request",
	  "the principal's name and realm; for a service ticket, that the database's SPN is registered in the database realm" },
	{ NULL, KW_R_KEY_EXPIRED, "the account's password has expired",
	  "the monitoring account's password policy (set its password never to expire, then re-export the keytab)" },
	{ NULL, KW_R_CLOCK_SKEW, "a clock differs from the KDC's by more than Kerberos allows (5 minutes)",
	  "NTP on this host, on the DCs (krbwatch_kdc_clock_skew_seconds) and on the database host" },
	{ NULL, KW_R_TICKET_NOT_YET_VALID, "a ticket's start time is in the future for the server that checks it: the issuing realm's clock runs ahead",
	  "NTP on the user realm's (on-premises) DCs: their skew against the Region's DCs" },
	{ NULL, KW_R_ETYPE_NOSUPP, "the two sides share no encryption type",
	  "the enctypes allowed on the trust and the accounts (AES on both sides; RC4 is being removed)" },
	{ "referral", KW_R_TRUST_KEY, "the trust key does not fit: the two sides of the trust disagree on its password",
	  "the trust on both sides: reset its password on both (or re-create it) so that the keys and their kvno agree" },
	{ "service_ticket", KW_R_TRUST_KEY, "the Region's KDC cannot decrypt the referral from the user realm: the trust is missing or its password differs on the two sides (a Region's copy may have missed a rotation)",
	  "the trust in that Region's directory against the user realm's side; compare krbwatch_ticket_kvno of the referral across Regions" },
	{ NULL, KW_R_TRUST_KEY, "a key does not fit where it is checked",
	  "the trust's and the service's keys and their kvno" },
	{ NULL, KW_R_NO_REFERRAL, "the user realm did not refer the request to the database realm",
	  "the trust (direction, forest vs. external, name suffix routing) and, for clients without domain_realm, the host name's domain" },
	{ NULL, KW_R_REFERRAL_LOOP, "the realms refer the request to each other in a loop",
	  "the trusts' name suffix routing: the database's domain must route to the database realm only" },
	{ NULL, KW_R_TIMEOUT, "no answer within the deadline",
	  "the KDCs or the server named in the detail: are they up, and do packets reach them?" },
	{ NULL, KW_R_UNREACHABLE, "no route to the server", "routing between this host and the server" },
	{ "reader", KW_R_ACCESS_DENIED, "this instance behind the reader endpoint refuses the Kerberos login its endpoint's other instances may accept: users fail one login in N",
	  "whether the instance was rebooted after Kerberos authentication was turned on (Aurora's reader instances take Kerberos logins only after a reboot), then its keytab and authentication plugin" },
	{ "reader", KW_R_GSS, "this instance behind the reader endpoint cannot accept the Kerberos token: users whose login lands on it fail",
	  "the instance's keytab and SPN against the reader endpoint's (the detail's minor status), and whether it was rebooted after Kerberos was turned on" },
	{ "global", KW_R_NO_RECORDS, "the global writer endpoint leads to no member cluster's endpoint: users of it reach a database krbwatch does not know as this global database's",
	  "the global database's members in global_databases against the CNAME chain in the detail (a member's host must be its cluster endpoint)" },
	{ "failover", KW_R_TIMEOUT, "the secondary Region's own login to its member cluster did not finish: a failover there could leave users without authentication",
	  "that Region's chain in the lines above (its KDCs, the trust, the member cluster)" },
	{ "login", KW_R_REFUSED, "nothing listens on the database's port: the database is down or the port is wrong",
	  "the cluster's status and its endpoint and port" },
	{ NULL, KW_R_REFUSED, "the connection was refused: the service is down", "the service named in the detail" },
	{ "login", KW_R_KEY_VERSION, "the database rejects the ticket: its keytab is stale (the SPN's key was changed and the database still holds the old kvno)",
	  "the database's keytab against the SPN's current kvno (kvno in the service_ticket step)" },
	{ "login", KW_R_GSS, "the database could not accept the GSSAPI token",
	  "the database's Kerberos configuration (keytab, SPN, realm mapping) and the detail's minor status" },
	{ "login", KW_R_ACCESS_DENIED, "the database authenticated nobody: it refused the login",
	  "that the database user exists and is identified by Kerberos (IDENTIFIED WITH authentication_kerberos / auth_gssapi, pg_hba.conf gss)" },
	{ "login", KW_R_WRONG_USER, "the login worked, but as another user than expected",
	  "the user mapping on the database (the principal to user rule) and expect_user in the configuration" },
	{ "login", KW_R_SPN_MISMATCH, "the database announced a service principal other than the one configured (spn:) or derived from its engine, host and realm; krbwatch asked for no ticket to it",
	  "that the endpoint is the database (a server that names another service may be relaying tickets), else spn: in the configuration" },
	{ "login", KW_R_TLS, "the TLS handshake with the database failed",
	  "the CA bundle (Aurora: global-bundle.pem), the host name in the configuration against the certificate, and the TLS mode" },
	{ "login", KW_R_PROTOCOL, "the database answered something the protocol does not allow",
	  "that the endpoint is the database (not a proxy or another service), and its version" },
	{ NULL, KW_R_PROTOCOL, "an answer that breaks the protocol", "what listens at that address" },
	{ NULL, KW_R_NXDOMAIN, "a name did not resolve", "the Region's resolvers and the name in the configuration" },
	{ NULL, KW_R_SERVFAIL, "the resolver could not answer", "the Region's resolvers" },
	{ NULL, KW_R_INTERNAL, "krbwatch itself could not run the step", "krbwatch's log" },
};

static const struct explanation *
lookup(const char *kind, enum kw_reason r)
{
	for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
		if (table[i].reason == r && (table[i].kind == NULL || strcmp(table[i].kind, kind) == 0))
			return &table[i];
	return NULL;
}

const char *
explain_means(const char *kind, enum kw_reason r)
{
	const struct explanation *e = lookup(kind, r);

	return e ? e->means : NULL;
}

const char *
explain_check(const char *kind, enum kw_reason r)
{
	const struct explanation *e = lookup(kind, r);

	return e ? e->check : NULL;
}
