import { describe, expect, it } from 'vitest';
import { NODE_MALLOC_SETTINGS, tunedEnvironment } from './allocatorTuning.js';

describe('the allocator settings a node runs with', () => {
  it('are added for the commands that run a node, on Linux', () => {
    for (const command of ['start', 'demo', 'reindex']) {
      expect(tunedEnvironment([command, '--port', '0'], { PATH: '/bin' }, 'linux')).toEqual({
        PATH: '/bin',
        ...NODE_MALLOC_SETTINGS,
      });
    }
  });

  it('leave the client commands, help and other systems as they are', () => {
    for (const args of [
      ['import', 'x'],
      ['status'],
      ['--version'],
      [],
      ['start', '--help'],
      ['demo', '-h'],
    ]) {
      expect(tunedEnvironment(args, {}, 'linux')).toBeUndefined();
    }
    expect(tunedEnvironment(['start'], {}, 'darwin')).toBeUndefined();
    expect(tunedEnvironment(['start'], {}, 'win32')).toBeUndefined();
  });

  it("keep an operator's own allocator settings, and never re-execute twice", () => {
    expect(tunedEnvironment(['start'], { MALLOC_ARENA_MAX: '8' }, 'linux')).toBeUndefined();
    expect(
      tunedEnvironment(['start'], { GLIBC_TUNABLES: 'glibc.malloc.tcache_count=0' }, 'linux'),
    ).toBeUndefined();
    const once = tunedEnvironment(['start'], {}, 'linux');
    expect(once).toBeDefined();
    expect(tunedEnvironment(['start'], once!, 'linux')).toBeUndefined();
  });
});
