// medledger identity: accounts and roles, password hashing, TOTP and WebAuthn second factors, login throttling, SMART on FHIR scopes, regulator-signed practitioner licence credentials.
export {};
