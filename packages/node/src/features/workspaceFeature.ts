/**
 * What the clinician workspace (and other people's screens) needs beyond plain FHIR: what the caller may do
 * with one patient's record (patientAccessRoute.ts). The consortium's organisations by name are the
 * directory's (directoryRoutes.ts).
 */
import type { Feature } from '../NodeContext.js';
import { registerPatientAccessRoute } from './patientAccessRoute.js';

export function workspaceFeature(): Feature {
  return {
    register(app) {
      registerPatientAccessRoute(app);
    },
  };
}
