/**
 * The audit trail's operator endpoint: `GET /audit/$verify` runs the independent verification of the node's
 * audit log (every entry against its commitment, every checkpoint's signature and consistency) and answers the
 * report, the first divergence included. The node's own API tokens only. `medledger audit verify` calls it.
 */
import { MdlError, MdlErrorCode } from '@medledger/core';
import type { Feature } from '../NodeContext.js';
import type { AuditTrail } from './AuditTrail.js';

export function auditFeature(audit: AuditTrail): Feature {
  return {
    register(app) {
      app.get('/audit/$verify', async (request) => {
        if (!request.access?.unrestricted) {
          throw new MdlError(MdlErrorCode.Forbidden, 'this operation is for the node’s operators');
        }
        await audit.tick(); // integrate and sign what is queued, so the report covers every acknowledged request
        return audit.verify();
      });
    },
  };
}
