/**
 * Administration, members, practitioner licences and break-glass as one node
 * feature: the /admin API (accounts, licences, the break-glass review queue), a person's own API tokens
 * (/account/tokens), the public licence
 * lookup, the FHIR break-glass operations, and the background sweep that notices patients of every
 * break-glass session on their record. docs/administration.md describes routes, tables and limits.
 */
import type { Feature, NodeContext } from '../NodeContext.js';
import { registerAccountRoutes } from './accountRoutes.js';
import { ACTIVATE_PATH, ACTIVATE_TOTP_PATH, registerActivationRoutes } from './activationRoutes.js';
import { BreakGlassNotices, type PatientNotifier } from './breakGlassNotices.js';
import { registerBreakGlassReviewRoutes } from './breakGlassReviewRoutes.js';
import { registerBreakGlassRoutes } from './breakGlassRoutes.js';
import { LICENCE_PUBLIC_PATH, registerLicenceRoutes } from './licenceRoutes.js';
import { MemberKeys } from './memberKeys.js';
import { registerTokenRoutes } from './tokenRoutes.js';

export interface CareFeatureOptions {
  /** E-mail / SMS delivery of break-glass notices; default: none (the stored notice only). */
  notifier?: PatientNotifier;
}

export function careFeature(ctx: NodeContext, options: CareFeatureOptions = {}): Feature {
  const memberKeys = new MemberKeys(ctx);
  const notices = new BreakGlassNotices(ctx, options.notifier);
  return {
    publicPaths: [LICENCE_PUBLIC_PATH, ACTIVATE_PATH, ACTIVATE_TOTP_PATH],
    register(app) {
      registerAccountRoutes(app, ctx, memberKeys);
      registerActivationRoutes(app, ctx);
      registerTokenRoutes(app, ctx);
      registerLicenceRoutes(app, ctx);
      registerBreakGlassRoutes(app, ctx, memberKeys, notices);
      registerBreakGlassReviewRoutes(app, ctx, memberKeys);
      notices.start();
    },
    stop: () => notices.stop(),
  };
}
