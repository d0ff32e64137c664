import { describe, expect, it } from 'vitest';
import { backends } from '../../storage/test/databases.js';
import { newStore, sharedDatabase, TestClock, unique } from '../test/fixture.js';
import { FLAG_UP, SoftAuthenticator } from '../test/softAuthenticator.js';
import { WebAuthnService } from './webauthn.js';

const ORIGIN = 'https://node.hospital.example';
const RP_ID = 'node.hospital.example';

describe.each(await backends())('WebAuthn on $name', (backend) => {
  const database = sharedDatabase(backend);

  async function setUp(config: { userVerification?: 'required' | 'preferred' } = {}) {
    const clock = new TestClock();
    const store = newStore(await database(), clock);
    const service = new WebAuthnService(store, {
      rpID: RP_ID,
      rpName: 'St Mary',
      origins: [ORIGIN],
      clock: clock.now,
      ...config,
    });
    const username = unique('dr.who');
    const account = await store.createAccount({
      username,
      displayName: 'Dr Who',
      role: 'doctor',
      organisation: 1,
    });
    return { clock, store, service, account, username };
  }

  async function enrol(service: WebAuthnService, accountId: string, authenticator: SoftAuthenticator) {
    const options = await service.registrationOptions(accountId as never);
    return service.verifyRegistration(
      accountId as never,
      authenticator.register(options, { origin: ORIGIN }),
    );
  }

  it('registers a credential and authenticates with it, storing the counter', async () => {
    const { store, service, account, username } = await setUp();
    const key = new SoftAuthenticator();
    const options = await service.registrationOptions(account.id);
    expect(options.rp).toEqual({ name: 'St Mary', id: RP_ID });
    expect(options.attestation).toBe('none');
    expect(options.user.name).toBe(username);
    const credential = await service.verifyRegistration(
      account.id,
      key.register(options, { origin: ORIGIN }),
    );
    expect(credential).toMatchObject({
      id: key.id,
      accountId: account.id,
      counter: 0,
      transports: ['usb', 'nfc'],
    });
    expect((await store.getAccount(account.id))!.secondFactors.webauthn).toBe(1);

    const login = await service.authenticationOptions(username.toUpperCase());
    expect(login.allowCredentials).toEqual([{ id: key.id, type: 'public-key', transports: ['usb', 'nfc'] }]);
    expect(await service.verifyAuthentication(username, key.authenticate(login, { origin: ORIGIN }))).toBe(
      account.id,
    );
    expect((await service.credentials(account.id))[0]!.counter).toBe(1);
    // Already registered credentials are excluded from a new registration.
    expect((await service.registrationOptions(account.id)).excludeCredentials).toEqual([
      { id: key.id, type: 'public-key', transports: ['usb', 'nfc'] },
    ]);
  });

  it('uses a challenge once: a replayed registration or assertion is refused', async () => {
    const { store, service, account, username } = await setUp();
    const key = new SoftAuthenticator();
    const options = await service.registrationOptions(account.id);
    const registration = key.register(options, { origin: ORIGIN });
    await service.verifyRegistration(account.id, registration);
    await expect(service.verifyRegistration(account.id, registration)).rejects.toMatchObject({
      code: 'MDL_INVALID_CREDENTIAL',
    });
    const login = await service.authenticationOptions(username);
    const assertion = key.authenticate(login, { origin: ORIGIN });
    await service.verifyAuthentication(username, assertion);
    await expect(service.verifyAuthentication(username, assertion)).rejects.toMatchObject({
      code: 'MDL_INVALID_CREDENTIAL',
    });
    expect(await store.getAccount(account.id)).toBeDefined();
  });

  it('refuses a challenge after its expiry, and one issued to someone else', async () => {
    const { clock, store, service, account, username } = await setUp();
    const key = new SoftAuthenticator();
    const options = await service.registrationOptions(account.id);
    clock.advance(5 * 60_000 + 1);
    await expect(
      service.verifyRegistration(account.id, key.register(options, { origin: ORIGIN })),
    ).rejects.toMatchObject({
      code: 'MDL_INVALID_CREDENTIAL',
    });
    await enrol(service, account.id, key);
    const other = await store.createAccount({
      username: unique('nurse.joy'),
      displayName: 'Joy',
      role: 'nurse',
      organisation: 1,
    });
    // Registration options issued for another account.
    const theirs = await service.registrationOptions(other.id);
    await expect(
      service.verifyRegistration(account.id, new SoftAuthenticator().register(theirs, { origin: ORIGIN })),
    ).rejects.toMatchObject({ code: 'MDL_INVALID_CREDENTIAL' });
    // A login challenge issued for another username.
    const forJoy = await service.authenticationOptions(other.username);
    await expect(
      service.verifyAuthentication(username, key.authenticate(forJoy, { origin: ORIGIN })),
    ).rejects.toMatchObject({
      code: 'MDL_INVALID_CREDENTIAL',
    });
    const late = await service.authenticationOptions(username);
    clock.advance(5 * 60_000 + 1);
    await expect(
      service.verifyAuthentication(username, key.authenticate(late, { origin: ORIGIN })),
    ).rejects.toMatchObject({
      code: 'MDL_INVALID_CREDENTIAL',
    });
  });

  it('refuses a wrong origin, RP id, ceremony type, and tampered signatures', async () => {
    const { service, account, username } = await setUp();
    const key = new SoftAuthenticator();
    for (const wrong of [
      { origin: 'https://evil.example' },
      { origin: ORIGIN, rpId: 'evil.example' },
      { origin: ORIGIN, type: 'webauthn.get' },
    ]) {
      const options = await service.registrationOptions(account.id);
      await expect(
        service.verifyRegistration(account.id, key.register(options, wrong)),
        JSON.stringify(wrong),
      ).rejects.toMatchObject({
        code: 'MDL_INVALID_CREDENTIAL',
      });
    }
    await enrol(service, account.id, key);
    for (const wrong of [
      { origin: 'https://evil.example' },
      { origin: ORIGIN, rpId: 'evil.example' },
      { origin: ORIGIN, type: 'webauthn.create' },
    ]) {
      const options = await service.authenticationOptions(username);
      await expect(
        service.verifyAuthentication(username, key.authenticate(options, wrong)),
      ).rejects.toMatchObject({
        code: 'MDL_INVALID_CREDENTIAL',
      });
    }
    const options = await service.authenticationOptions(username);
    const assertion = key.authenticate(options, { origin: ORIGIN });
    const sig = Buffer.from(assertion.response.signature, 'base64url');
    sig[sig.length - 1]! ^= 1;
    await expect(
      service.verifyAuthentication(username, {
        ...assertion,
        response: { ...assertion.response, signature: sig.toString('base64url') },
      }),
    ).rejects.toMatchObject({ code: 'MDL_INVALID_CREDENTIAL' });
    // An authenticator that was never registered.
    const stranger = new SoftAuthenticator();
    const again = await service.authenticationOptions(username);
    await expect(
      service.verifyAuthentication(username, stranger.authenticate(again, { origin: ORIGIN })),
    ).rejects.toMatchObject({
      code: 'MDL_INVALID_CREDENTIAL',
    });
    await expect(service.verifyAuthentication(username, { garbage: true } as never)).rejects.toMatchObject({
      code: 'MDL_INVALID_CREDENTIAL',
    });
  });

  it('refuses a signature counter that does not increase (a cloned authenticator)', async () => {
    const { service, account, username } = await setUp();
    const key = new SoftAuthenticator();
    await enrol(service, account.id, key);
    const first = await service.authenticationOptions(username);
    await service.verifyAuthentication(username, key.authenticate(first, { origin: ORIGIN, counter: 10 }));
    for (const counter of [10, 9, 0]) {
      const options = await service.authenticationOptions(username);
      await expect(
        service.verifyAuthentication(username, key.authenticate(options, { origin: ORIGIN, counter })),
        `counter ${counter}`,
      ).rejects.toMatchObject({ code: 'MDL_INVALID_CREDENTIAL' });
    }
    expect((await service.credentials(account.id))[0]!.counter).toBe(10);
    const next = await service.authenticationOptions(username);
    expect(
      await service.verifyAuthentication(username, key.authenticate(next, { origin: ORIGIN, counter: 11 })),
    ).toBe(account.id);
  });

  it('accepts authenticators that never count, on fresh challenges', async () => {
    const { service, account, username } = await setUp();
    const passkey = new SoftAuthenticator({ counterStep: 0 });
    await enrol(service, account.id, passkey);
    for (let i = 0; i < 2; i++) {
      const options = await service.authenticationOptions(username);
      expect(
        await service.verifyAuthentication(username, passkey.authenticate(options, { origin: ORIGIN })),
      ).toBe(account.id);
    }
  });

  it('answers unknown usernames and accounts without keys with a stable decoy', async () => {
    const { service, store, username } = await setUp();
    const nobody = unique('nobody.here');
    const unknown1 = await service.authenticationOptions(nobody);
    const unknown2 = await service.authenticationOptions(nobody.toUpperCase());
    expect(unknown1.allowCredentials).toHaveLength(1);
    expect(unknown1.allowCredentials).toEqual(unknown2.allowCredentials);
    expect(unknown1.challenge).not.toBe(unknown2.challenge);
    const keyless = await service.authenticationOptions(username);
    expect(keyless.allowCredentials).toHaveLength(1);
    expect(keyless.allowCredentials![0]!.id).not.toBe(unknown1.allowCredentials![0]!.id);
    expect(keyless.allowCredentials![0]!.id).toHaveLength(43);
    // A decoy answer cannot be used to log in.
    const key = new SoftAuthenticator();
    await expect(
      service.verifyAuthentication(nobody, key.authenticate(unknown1, { origin: ORIGIN })),
    ).rejects.toMatchObject({
      code: 'MDL_INVALID_CREDENTIAL',
    });
    expect(await store.findByUsername(nobody)).toBeUndefined();
  });

  it('requires user verification only when configured to', async () => {
    const strict = await setUp({ userVerification: 'required' });
    const key = new SoftAuthenticator();
    await enrol(strict.service, strict.account.id, key);
    const options = await strict.service.authenticationOptions(strict.username);
    expect(options.userVerification).toBe('required');
    await expect(
      strict.service.verifyAuthentication(
        strict.username,
        key.authenticate(options, { origin: ORIGIN, flags: FLAG_UP }),
      ),
    ).rejects.toMatchObject({ code: 'MDL_INVALID_CREDENTIAL' });
    const relaxed = await setUp();
    const key2 = new SoftAuthenticator();
    await enrol(relaxed.service, relaxed.account.id, key2);
    const o2 = await relaxed.service.authenticationOptions(relaxed.username);
    expect(
      await relaxed.service.verifyAuthentication(
        relaxed.username,
        key2.authenticate(o2, { origin: ORIGIN, flags: FLAG_UP }),
      ),
    ).toBe(relaxed.account.id);
    // User presence is always required.
    const o3 = await relaxed.service.authenticationOptions(relaxed.username);
    await expect(
      relaxed.service.verifyAuthentication(
        relaxed.username,
        key2.authenticate(o3, { origin: ORIGIN, flags: 0 }),
      ),
    ).rejects.toMatchObject({ code: 'MDL_INVALID_CREDENTIAL' });
  });

  it('stops working for disabled accounts and after a second-factor reset', async () => {
    const { service, store, account, username } = await setUp();
    const key = new SoftAuthenticator();
    await enrol(service, account.id, key);
    await store.setDisabled(account.id, true);
    const options = await service.authenticationOptions(username);
    expect(options.allowCredentials![0]!.id).not.toBe(key.id);
    await expect(
      service.verifyAuthentication(username, key.authenticate(options, { origin: ORIGIN })),
    ).rejects.toMatchObject({
      code: 'MDL_INVALID_CREDENTIAL',
    });
    await expect(service.registrationOptions(account.id)).rejects.toMatchObject({ code: 'MDL_NOT_FOUND' });
    await store.setDisabled(account.id, false);
    // Options issued before the account was disabled are refused after.
    const pending = await service.registrationOptions(account.id);
    await store.setDisabled(account.id, true);
    await expect(
      service.verifyRegistration(account.id, new SoftAuthenticator().register(pending, { origin: ORIGIN })),
    ).rejects.toMatchObject({ code: 'MDL_INVALID_CREDENTIAL' });
    await store.setDisabled(account.id, false);
    await store.resetSecondFactors(account.id);
    expect(await service.credentials(account.id)).toEqual([]);
    const after = await service.authenticationOptions(username);
    await expect(
      service.verifyAuthentication(username, key.authenticate(after, { origin: ORIGIN })),
    ).rejects.toMatchObject({
      code: 'MDL_INVALID_CREDENTIAL',
    });
    // Re-registering the same authenticator works again, once.
    await enrol(service, account.id, key);
    expect(await service.removeCredential(account.id, key.id)).toBe(true);
    expect(await service.removeCredential(account.id, key.id)).toBe(false);
  });

  it('refuses a configuration without an RP id or origin', async () => {
    const { store } = await setUp();
    expect(() => new WebAuthnService(store, { rpID: RP_ID, rpName: 'x', origins: [] })).toThrow(
      expect.objectContaining({ code: 'MDL_CONFIG' }),
    );
  });
});
