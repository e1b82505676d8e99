/**
 * IPAM's failures. They extend DatastoreError so every program that already prints datastore
 * errors as plain messages (calicoctl, the CNI plugin) prints these the same way.
 */
import { DatastoreError } from '../datastore/errors.js';

/** A request that cannot be met: no pool, no free address, an address taken. */
export class IpamError extends DatastoreError {}

/** Not enough free addresses for the request; nothing was assigned by it. */
export class NoAddressesError extends IpamError {}

/** A chosen address is already held. */
export class AddressInUseError extends IpamError {
  constructor(
    readonly ip: string,
    readonly holder: string | null,
  ) {
    super(
      `IP address ${ip} is already assigned${holder ? ` to handle "${holder}"` : ''}; release it first (calicoctl ipam release --ip=${ip}) or choose another address`,
    );
  }
}

/** Other writers kept changing the same record; the operation gave up after a bounded number of tries. */
export class IpamConflictError extends IpamError {}

/** A stored IPAM record could not be read. */
export class IpamCorruptRecordError extends IpamError {
  constructor(
    readonly key: string,
    problem: string,
  ) {
    super(
      `IPAM record ${key} is unreadable: ${problem}; inspect it, or delete it and run calicoctl ipam check`,
    );
  }
}

/** A pool still has allocated addresses and so cannot be deleted. */
export class PoolInUseError extends IpamError {}
