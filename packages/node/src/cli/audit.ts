/** `medledger audit verify | export`: the node's audit log, checked or exported for a SIEM. */
import { readFileSync, writeFileSync } from 'node:fs';
import { type Client, client } from './client.js';
import { CLIENT_OPTIONS, CliError, type Command } from './command.js';

/** `medledger audit export`: pages of NDJSON to stdout until the end of the log, the cursor kept in a file. */
async function auditExport(o: { client: Client; format: string; cursorFile?: string | undefined }) {
  if (o.format !== 'fhir' && o.format !== 'ocsf') throw new CliError('--format must be fhir or ocsf');
  let cursor = 0;
  if (o.cursorFile) {
    try {
      const saved = readFileSync(o.cursorFile, 'utf8').trim();
      if (!/^\d{1,15}$/.test(saved)) throw new CliError(`${o.cursorFile} does not hold a cursor`);
      cursor = Number(saved);
    } catch (error) {
      if (error instanceof CliError) throw error; // a missing file: start from the beginning
    }
  }
  const base = o.client.url.replace(/\/fhir$/, '');
  const PAGE = 1000;
  for (;;) {
    const res = await o.client.get(`${base}/audit/export?format=${o.format}&_count=${PAGE}&cursor=${cursor}`);
    const text = await res.text();
    process.stdout.write(text);
    cursor = Number(res.headers.get('x-medledger-next-cursor') ?? cursor);
    if (o.cursorFile) writeFileSync(o.cursorFile, `${cursor}\n`);
    // Each page read is itself audited: a page shorter than asked is the end for now.
    if (text.split('\n').filter(Boolean).length < PAGE) return;
  }
}

export const auditCommand: Command = {
  name: 'audit',
  summary: 'check a running node’s audit log, or export it as NDJSON',
  usage: ['audit verify [options]', 'audit export [--format fhir|ocsf] [--cursor-file <file>] [options]'],
  description: `verify recomputes the audit log and checks every entry, checkpoint and on-chain anchor (exit code 1
on a divergence). export writes the audit events as NDJSON to stdout (FHIR AuditEvent or OCSF), from the cursor
saved in the cursor file (default: the start) to the end, and saves the next cursor there.`,
  options: {
    format: { value: 'fhir|ocsf', help: 'export: the events’ format (default fhir)' },
    'cursor-file': { value: 'file', help: 'export: where the next cursor is kept between runs' },
    ...CLIENT_OPTIONS,
  },
  positionals: [1, 1],
  async run({ values, positionals }) {
    if (positionals[0] !== 'verify' && positionals[0] !== 'export') {
      throw new CliError('usage: medledger audit verify | audit export (medledger audit --help)');
    }
    const c = client(values);
    if (positionals[0] === 'export') {
      await auditExport({ client: c, format: values.format ?? 'fhir', cursorFile: values['cursor-file'] });
      return;
    }
    // The audit endpoint sits beside the FHIR base (…/fhir → …/audit).
    const report = (await c.call('GET', '/../audit/$verify')) as {
      ok: boolean;
      size: number;
      checkpoints: number;
      unsignedEntries: number;
      anchors: number;
      divergence?: unknown;
    };
    if (!report.ok) console.log(`DIVERGENCE ${JSON.stringify(report.divergence)}`);
    console.log(
      `audit log: ${report.size} entries, ${report.checkpoints} checkpoints and ${report.anchors} on-chain anchors verified, ${report.unsignedEntries} not yet checkpointed — ${report.ok ? 'consistent' : 'NOT consistent'}`,
    );
    if (!report.ok) process.exitCode = 1;
  },
};
