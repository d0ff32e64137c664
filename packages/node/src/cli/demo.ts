/** `medledger demo`: a local consortium of five nodes on one chain, and the walk-through of its story. */
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { CliError, type Command } from './command.js';

export const demoCommand: Command = {
  name: 'demo',
  summary: 'run a local consortium (hospital, lab, pharmacy, insurer, regulator) and walk through its story',
  usage: ['demo [--dir <dir>] [--port <port>] [--no-scenario]'],
  description: `One chain and a hospital, a lab, a pharmacy, an insurer and a regulator node on 127.0.0.1 (ports
P..P+4), data under the directory (started afresh), and a walk-through of consent, a lab result, exchange,
revocation, break-glass and its review; then, for each person of the scenario and an administrator per node, the
web app URL and how to sign in (also written to <dir>/people.txt). The nodes run until Ctrl-C.`,
  options: {
    dir: { value: 'dir', help: 'the consortium’s data (default ./.medledger-demo, removed first)' },
    port: { value: 'port', help: 'the first node’s port, the others follow (default 8181)' },
    'no-scenario': { help: 'start the nodes without the walk-through' },
  },
  positionals: [0, 0],
  async run({ values, flags }) {
    const port = Number(values.port ?? 8181);
    if (!/^\d{1,5}$/.test(values.port ?? '8181') || port < 1 || port > 65531) {
      throw new CliError(`--port must be 1..65531, got "${values.port?.slice(0, 20)}"`);
    }
    const dir = resolve(values.dir ?? '.medledger-demo');
    // The walk-through creates its accounts afresh: a demo starts from an empty consortium.
    rmSync(dir, { recursive: true, force: true });
    console.log(`starting a local consortium in ${dir} …`);
    // Loaded only to run the demo: the other commands stay light.
    const { startLocalConsortium } = await import('../consortium/LocalConsortium.js');
    const { DEMO_MEMBERS, demoSyntheaPatient } = await import('../consortium/demo.js');
    const { formatDemoPeople, writeDemoPeople } = await import('../consortium/demoPeople.js');
    const { runDemoScenario } = await import('../consortium/demoScenario.js');
    const consortium = await startLocalConsortium({
      dir,
      basePort: port,
      members: DEMO_MEMBERS,
      keystorePassphrase: process.env.MEDLEDGER_KEYSTORE_PASSPHRASE ?? 'medledger demo — not for real data',
    });
    console.log(`chain            ${consortium.rpcUrl}`);
    for (const n of consortium.nodes) {
      console.log(
        `${n.name.padEnd(16)} organisation ${n.node.organisationId}  ${n.node.fhirUrl}  token: ${n.node.adminTokenFile}`,
      );
    }
    if (!flags.has('no-scenario')) {
      console.log('\nthe walk-through:');
      let people: Awaited<ReturnType<typeof runDemoScenario>>['people'];
      try {
        ({ people } = await runDemoScenario(consortium, {
          syntheaPatient: demoSyntheaPatient(),
          log: (line) => console.log(`  ${line}`),
        }));
      } catch (error) {
        await consortium.stop();
        throw new CliError(`demo step failed: ${(error as Error).message}`);
      }
      console.log(`\n${formatDemoPeople(people)}`);
      console.log(`(this list is also in ${writeDemoPeople(dir, people)})`);
    }
    console.log('\nThe nodes keep running for you to explore; Ctrl-C stops the consortium.');
    const shutdown = async () => {
      await consortium.stop();
      process.exit(0);
    };
    process.once('SIGINT', shutdown);
    process.once('SIGTERM', shutdown);
  },
};
