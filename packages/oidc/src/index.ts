// medledger's OAuth 2.0 / OpenID Connect authorisation server (oidc-provider): authorization code + PKCE, SMART on FHIR v2 scopes, SMART Backend Services (client credentials, private_key_jwt), and access-token verification for the FHIR API.
export {};
