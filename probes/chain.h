/*
 * The chain probe's face to the daemon beyond probe_chain (probes/probe.h): what a reload asks
 * of it.
 */
#ifndef KRBWATCH_CHAIN_H
#define KRBWATCH_CHAIN_H

/*
 * Drops the krb5 context each Region's runs share (one per Region and configuration, not one
 * per run): the next run makes it again, with the krb5.conf of now.  No run may be alive.
 */
void chain_reloaded(void);

#endif
