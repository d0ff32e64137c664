import { readdirSync, readFileSync } from 'node:fs';
import { it } from 'vitest';
import { validateResource } from './validateResource.js';
it('scratch', () => {
  let t = performance.now();
  console.log(validateResource({ resourceType: 'Patient', birthDate: 5, foo: 1, name: [{ given: ['a', 3] }], managingOrganization: { reference: 'bad ref' } }));
  console.log('first', performance.now() - t);
  const dir = '/work/shared/data/synthea/r4-bundles/';
  let n = 0; let bad = 0;
  t = performance.now();
  for (const f of readdirSync(dir)) {
    const b = JSON.parse(readFileSync(dir + f, 'utf8'));
    for (const e of b.entry) { n++; const r = validateResource(e.resource); if (!r.ok) { bad++; if (bad < 5) console.log(JSON.stringify(r.issues)); } }
  }
  console.log(n, bad, performance.now() - t);
  const ex = '/work/shared/data/fhir/examples/';
  for (const f of readdirSync(ex)) { const r = validateResource(JSON.parse(readFileSync(ex + f, 'utf8'))); if (!r.ok) console.log(f, JSON.stringify(r.issues)); }
});
