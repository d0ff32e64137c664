// `@medledger/contracts/consent`: the consent vocabulary and the patient's signatures alone — no ABIs, no
// bytecode, no deployer (which reads files) — for code that runs in a browser, such as the web app.
export * from './consent.js';
export * from './consentSignatures.js';
