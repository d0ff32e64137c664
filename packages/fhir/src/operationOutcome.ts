/** Builds R4 OperationOutcome resources from issues. No id: an outcome describes a response, it is not stored. */
import type { Issue } from './Issue.js';

export interface OperationOutcome {
  resourceType: 'OperationOutcome';
  issue: {
    severity: Issue['severity'];
    code: Issue['code'];
    diagnostics?: string;
    expression?: string[];
  }[];
}

export function operationOutcome(issues: readonly Issue[]): OperationOutcome {
  // R4 requires at least one issue (OperationOutcome.issue 1..*).
  const list: readonly Issue[] =
    issues.length > 0
      ? issues
      : [{ severity: 'information', code: 'informational', diagnostics: 'All OK', expression: [] }];
  return {
    resourceType: 'OperationOutcome',
    issue: list.map((i) => ({
      severity: i.severity,
      code: i.code,
      ...(i.diagnostics === '' ? {} : { diagnostics: i.diagnostics }),
      ...(i.expression.length === 0 ? {} : { expression: [...i.expression] }),
    })),
  };
}
