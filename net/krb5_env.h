/*
 * The Kerberos library's view of the world, fixed once at start-up for the whole process
 * (GSSAPI, used by the logins, reads only the process environment):
 *   - KRB5_CONFIG names a private profile held in memory (a memfd): no KDC for any realm and
 *     no DNS lookups, so the library itself can never go to the network behind the loop's back
 *     (a hidden fetch fails at once with KRB5_REALM_UNKNOWN instead of blocking for 22 s);
 *   - KRB5CCNAME is a MEMORY: cache, so nothing can fall back to a ticket file on disk.
 * The probes carry every KDC exchange themselves.
 */
#ifndef KRBWATCH_KRB5_ENV_H
#define KRBWATCH_KRB5_ENV_H

/* Returns 0, or -1 with the reason logged. Call before any krb5 or GSSAPI function. */
int krb5_env_init(void);

/*
 * The path of that private profile (made on first use, the one profile writer of the process),
 * for a context of its own (profile_init_path); NULL with the reason logged.
 */
const char *krb5_env_profile(void);

#endif
