/**
 * Bulk export (FHIR Bulk Data Access IG v2) as a node feature: its routes, and its jobs' runner and sweeper
 * started and stopped with the node. See BulkExports (jobs) and bulkExportRoutes (HTTP).
 */
import type { AuditTrail } from '../audit/AuditTrail.js';
import type { Feature, NodeContext } from '../NodeContext.js';
import { type BulkExportOptions, BulkExports } from './BulkExports.js';
import { registerBulkExportRoutes } from './bulkExportRoutes.js';

export function bulkExportFeature(
  ctx: NodeContext,
  options: BulkExportOptions & { audit?: Pick<AuditTrail, 'record'> } = {},
): Feature & { exports: BulkExports } {
  const exports = new BulkExports(
    {
      db: ctx.db,
      records: ctx.records,
      accessFor: ctx.accessFor,
      dataDir: ctx.config.dataDir,
      sealingKey: ctx.sealingKey,
      ...(options.audit ? { audit: options.audit } : {}),
    },
    { expirySeconds: ctx.config.bulkExportExpirySeconds ?? 3600, ...options },
  );
  return {
    exports,
    async register(app) {
      registerBulkExportRoutes(app, exports, ctx.baseUrl);
      await exports.start();
    },
    stop: () => exports.stop(),
  };
}
