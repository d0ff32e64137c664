/**
 * Loading the operator's interaction list at start: none configured is no list; a readable list in the ONC
 * shape loads (../shared/data); an unreadable or foreign file is a configuration error that names the setting
 * and never quotes the file's contents. The setting itself comes from --interaction-list / MEDLEDGER_INTERACTION_LIST.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMdlError, MdlErrorCode } from '@medledger/core';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { loadInteractionList } from '../src/prescriptions/interactionListFile.js';
import { SHARED } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'medledger-list-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('loadInteractionList', () => {
  it('loads nothing when none is configured, and the ONC list from ../shared/data', () => {
    expect(loadInteractionList(undefined)).toEqual([]);
    const path = fileURLToPath(new URL('drugs/onc-high-priority/onc_high_priority_members.csv', SHARED));
    const [list] = loadInteractionList(path);
    expect(list!.interactions).toHaveLength(14);
  });

  it('refuses an unreadable or foreign file with a configuration error that quotes nothing of it', () => {
    const foreign = join(dir, 'patients.csv');
    writeFileSync(foreign, 'name,birthDate\nAmy Shaw,1982-01-07\n');
    for (const path of [join(dir, 'missing.csv'), foreign, dir]) {
      let error: unknown;
      try {
        loadInteractionList(path);
      } catch (e) {
        error = e;
      }
      expect(isMdlError(error, MdlErrorCode.Config)).toBe(true);
      expect((error as Error).message).toMatch(/^MEDLEDGER_INTERACTION_LIST: /);
      expect((error as Error).message).not.toContain('Amy');
    }
  });

  it('is configured by --interaction-list or MEDLEDGER_INTERACTION_LIST, relative to the working directory', () => {
    expect(loadConfig([], {}, dir).interactionList).toBeUndefined();
    expect(loadConfig(['--interaction-list', 'onc.csv'], {}, dir).interactionList).toBe(join(dir, 'onc.csv'));
    expect(loadConfig([], { MEDLEDGER_INTERACTION_LIST: '/srv/onc.csv' }, dir).interactionList).toBe(
      '/srv/onc.csv',
    );
  });
});
