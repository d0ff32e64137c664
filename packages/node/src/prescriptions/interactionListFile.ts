/**
 * Loads the operator's drug-name interaction list (MEDLEDGER_INTERACTION_LIST: a CSV in the ONC High-Priority
 * list's shape) at start. The ONC list's licence is unstated, so the product does not ship it; an operator who
 * holds a licensed copy points the node at it. A file that cannot be read or is not such a list stops the start
 * with a one-line reason (the path is the operator's own; the contents are never quoted).
 */
import { readFileSync } from 'node:fs';
import { MdlError, MdlErrorCode } from '@medledger/core';
import { type NamedInteractionList, parseOncHighPriorityList } from '@medledger/prescriptions';

export function loadInteractionList(path: string | undefined): NamedInteractionList[] {
  if (path === undefined) return [];
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new MdlError(
      MdlErrorCode.Config,
      `MEDLEDGER_INTERACTION_LIST: cannot read ${path} (${(error as { code?: string }).code ?? 'error'})`,
    );
  }
  const parsed = parseOncHighPriorityList(text);
  if (!parsed.ok) throw new MdlError(MdlErrorCode.Config, `MEDLEDGER_INTERACTION_LIST: ${parsed.message}`);
  return [parsed.list];
}
