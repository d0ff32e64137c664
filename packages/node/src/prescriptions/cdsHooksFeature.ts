/**
 * Drug–drug interaction checking as a node feature: the CDS Hooks 2.0 discovery endpoint (public) and services
 * (bearer token). docs/cds-hooks.md describes what is checked, the knowledge and its licences, and how an EHR
 * calls it.
 */
import type { Feature } from '../NodeContext.js';
import { CDS_SERVICES_PATH, type CdsHooksOptions, registerCdsHooksRoutes } from './cdsHooksRoutes.js';

export function cdsHooksFeature(options: CdsHooksOptions = {}): Feature {
  return {
    publicPaths: [CDS_SERVICES_PATH],
    register(app) {
      registerCdsHooksRoutes(app, options);
    },
  };
}
