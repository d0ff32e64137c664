/**
 * Prescribing and dispensing as one node feature (docs/prescriptions.md, *Prescribing and dispensing*): the
 * prescriber's routes (prescribe, cancel, the patient's route / token choices and medication list), the
 * prescription exchange's custodian endpoint, the pharmacy's routes (fetch and verify, dispense, queue), and the
 * follower of the Prescriptions contract's events (pharmacy queue, cancellations, refill reminders). A node
 * serves both sides: what it does depends on the people and organisations asking.
 */
import { OrganisationKeys } from '@medledger/exchange';
import type { NamedInteractionList } from '@medledger/prescriptions';
import { ExchangeStore } from '../exchange/ExchangeStore.js';
import { OrganisationDirectory } from '../exchange/OrganisationDirectory.js';
import { MemberKeys } from '../features/memberKeys.js';
import type { Feature, NodeContext } from '../NodeContext.js';
import { PrescriptionCustodian } from './PrescriptionCustodian.js';
import { PrescriptionEvents } from './PrescriptionEvents.js';
import { PrescriptionLedger } from './PrescriptionLedger.js';
import { registerPharmacyRoutes } from './pharmacyRoutes.js';
import { registerPrescriberRoutes } from './prescriberRoutes.js';
import {
  PRESCRIPTION_EXCHANGE_PATH,
  registerPrescriptionCustodianRoute,
} from './prescriptionCustodianRoute.js';

export function prescriptionsFeature(
  ctx: NodeContext,
  options: { namedLists?: readonly NamedInteractionList[] } = {},
): Feature {
  const chain = new PrescriptionLedger(ctx.ledger);
  const keys = OrganisationKeys.fromKeyBundle(ctx.organisationId, ctx.bundle);
  const directory = new OrganisationDirectory(ctx.ledger);
  const memberKeys = new MemberKeys(ctx);
  const events = new PrescriptionEvents(ctx, chain);
  const custodian = new PrescriptionCustodian(ctx, keys, directory, new ExchangeStore(ctx.db), chain);
  const hasContract = ctx.ledger.deployment.contracts.Prescriptions !== undefined;
  return {
    publicPaths: [PRESCRIPTION_EXCHANGE_PATH],
    async register(app) {
      registerPrescriberRoutes(app, ctx, {
        chain,
        memberKeys,
        events,
        namedLists: options.namedLists ?? [],
      });
      registerPharmacyRoutes(app, ctx, { chain, memberKeys, events, keys, directory });
      await registerPrescriptionCustodianRoute(app, ctx, custodian);
      if (hasContract) events.start();
    },
    async stop() {
      await events.stop();
      keys.destroy();
    },
  };
}
