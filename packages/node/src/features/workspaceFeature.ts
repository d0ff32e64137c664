/**
 * What the clinician workspace (and other people's screens) needs beyond plain FHIR: the consortium's
 * organisations by name (directoryRoutes.ts) and what the caller may do with one patient's record
 * (patientAccessRoute.ts).
 */
import { OrganisationDirectory } from '../exchange/OrganisationDirectory.js';
import type { Feature, NodeContext } from '../NodeContext.js';
import { registerDirectoryRoutes } from './directoryRoutes.js';
import { registerPatientAccessRoute } from './patientAccessRoute.js';

export function workspaceFeature(ctx: NodeContext): Feature {
  const directory = new OrganisationDirectory(ctx.ledger);
  return {
    register(app) {
      registerDirectoryRoutes(app, ctx, directory);
      registerPatientAccessRoute(app);
    },
  };
}
