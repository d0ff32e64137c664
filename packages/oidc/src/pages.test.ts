import { describe, expect, it } from 'vitest';
import { loginPage, PASSKEY_SIGN_IN_PATH } from './pages.js';

describe('the login page', () => {
  it('links to the web app’s passkey sign-in for its interaction, and stays script-free', () => {
    const html = loginPage({
      action: '/oauth/interaction/a"b/login',
      uid: 'a"b&c',
      clientName: 'medledger-web',
    });
    expect(html).toContain(`<a href="${PASSKEY_SIGN_IN_PATH}?uid=a%22b%26c">Sign in with a passkey</a>`);
    expect(html).not.toMatch(/<script|javascript:|\son\w+=/i);
    expect(loginPage({ action: '/x', clientName: 'y' })).not.toContain('passkey');
  });
});
