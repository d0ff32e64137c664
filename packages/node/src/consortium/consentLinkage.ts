/**
 * What an observer of the consortium chain learns about where patients are cared for, measured from public
 * chain data only: ConsentManager's events name patient pseudonyms; the transactions that emitted them have a
 * sender; ConsortiumRegistry's events say which organisation each node (or member) account belongs to. A patient
 * whose consent transactions were all sent by one organisation's accounts is linked to that organisation — in
 * practice their home organisation, whose node relays their signed grants (docs/contracts-privacy.md).
 *
 * Limits: reads every event from the deployment block in one `eth_getLogs` per event and one
 * `eth_getTransactionByHash` per consent event — fine for a test or an audit of a small chain, not an indexer.
 * It measures the sender link only; timing and the grants' own terms leak more (docs/contracts-privacy.md).
 */
import { consentManagerAbi, consortiumRegistryAbi } from '@medledger/contracts';
import { type Address, createPublicClient, getAddress, type Hash, type Hex, http } from 'viem';

export interface ConsentLinkage {
  /** Distinct patient pseudonyms in ConsentGranted events. */
  patients: number;
  /** Pseudonyms whose every consent transaction (grants and revocations) came from one organisation. */
  linked: number;
  /** linked / patients (0 when there are no patients). */
  fraction: number;
  /** Each pseudonym and the organisation it is linked to (undefined: not linkable, or to several). */
  byPatient: Map<Hex, number | undefined>;
}

export interface ChainView {
  rpcUrl: string;
  /** The consortium's public deployment: contract addresses and the block to read from. */
  deployment: {
    blockNumber: string;
    contracts: { ConsentManager: { address: Address }; ConsortiumRegistry: { address: Address } };
  };
}

export async function measureConsentLinkage(view: ChainView): Promise<ConsentLinkage> {
  const client = createPublicClient({ transport: http(view.rpcUrl) });
  const fromBlock = BigInt(view.deployment.blockNumber);
  const registry = view.deployment.contracts.ConsortiumRegistry.address;
  const consent = view.deployment.contracts.ConsentManager.address;
  const range = { fromBlock, toBlock: 'latest' as const };

  // Account → organisation, from the registry's public directory (node accounts and members alike).
  const accounts = new Map<Address, number>();
  for (const eventName of ['NodeAccountAdded', 'MemberRegistered'] as const) {
    const logs = await client.getContractEvents({
      address: registry,
      abi: consortiumRegistryAbi,
      eventName,
      ...range,
    });
    for (const log of logs) {
      const { account, organisation } = log.args as { account: Address; organisation: number };
      accounts.set(getAddress(account), Number(organisation));
    }
  }

  // Pseudonym ← consent id, and the transactions that touched each pseudonym's grants.
  const grants = await client.getContractEvents({
    address: consent,
    abi: consentManagerAbi,
    eventName: 'ConsentGranted',
    ...range,
  });
  const revocations = await client.getContractEvents({
    address: consent,
    abi: consentManagerAbi,
    eventName: 'ConsentRevoked',
    ...range,
  });
  const patientOf = new Map<Hex, Hex>();
  const transactions = new Map<Hex, Set<Hash>>();
  const touch = (patient: Hex, tx: Hash) => {
    transactions.set(patient, (transactions.get(patient) ?? new Set()).add(tx));
  };
  for (const log of grants) {
    const { consentId, patient } = log.args as { consentId: Hex; patient: Hex };
    patientOf.set(consentId, patient);
    touch(patient, log.transactionHash);
  }
  for (const log of revocations) {
    const patient = patientOf.get((log.args as { consentId: Hex }).consentId);
    if (patient) touch(patient, log.transactionHash);
  }

  const senders = new Map<Hash, Address>();
  const byPatient = new Map<Hex, number | undefined>();
  for (const [patient, hashes] of transactions) {
    const organisations = new Set<number | undefined>();
    for (const hash of hashes) {
      let from = senders.get(hash);
      if (!from) {
        from = getAddress((await client.getTransaction({ hash })).from);
        senders.set(hash, from);
      }
      organisations.add(accounts.get(from));
    }
    const [only] = organisations;
    byPatient.set(patient, organisations.size === 1 ? only : undefined);
  }
  const linked = [...byPatient.values()].filter((o) => o !== undefined).length;
  return {
    patients: byPatient.size,
    linked,
    fraction: byPatient.size === 0 ? 0 : linked / byPatient.size,
    byPatient,
  };
}
